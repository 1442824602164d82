"""The quality stage against datatrove's own filters on real documents, and per language."""
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import shared
from corpusmill.stages.quality import Quality
from corpusmill.stages.quality.words import spacy_words, words_for
from test_stages import batch as base_batch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks import realdocs  # noqa: E402


def datatrove_reason(text: str) -> str | None:
    """FineWeb's chain in datatrove: the first filter that drops the document, with its reason."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    doc = Document(text=text, id="x")
    for name, f in [("gopher_repetition", GopherRepetitionFilter()), ("gopher", GopherQualityFilter()),
                    ("c4", C4QualityFilter(filter_no_terminal_punct=False)), ("fineweb", FineWebQualityFilter())]:
        r = f.filter(doc)
        if r is False or (isinstance(r, tuple) and not r[0]):
            return f"{name}.{r[1] if isinstance(r, tuple) else ''}"
    return None


# datatrove's reason names -> ours, where we made them readable
RENAMED = {"gopher.gopher_short_doc": "gopher.short_doc", "gopher.gopher_long_doc": "gopher.long_doc",
           "gopher.gopher_below_avg_threshold": "gopher.below_avg_word_length",
           "gopher.gopher_above_avg_threshold": "gopher.above_avg_word_length",
           "gopher.gopher_too_many_hashes": "gopher.too_many_hashes",
           "gopher.gopher_too_many_ellipsis": "gopher.too_many_ellipsis",
           "gopher.gopher_too_many_bullets": "gopher.too_many_bullets",
           "gopher.gopher_too_many_end_ellipsis": "gopher.too_many_end_ellipsis",
           "gopher.gopher_below_alpha_threshold": "gopher.below_alpha_threshold",
           "gopher.gopher_enough_stop_words": "gopher.not_enough_stop_words"}


def batch(rows):
    """Rows may carry `lang`, as after the langid stage."""
    t = base_batch([{k: v for k, v in r.items() if k != "lang"} for r in rows])
    if any("lang" in r for r in rows):
        t = t.append_column("lang", pa.array([r.get("lang") for r in rows], pa.string()))
    return t


@pytest.fixture(scope="module")
def real_docs():
    shared("text", "en")
    docs = realdocs.english() + realdocs.boilerplate()
    return docs[::3]  # every third: ~550 documents keep the test to seconds


@pytest.mark.slow
@pytest.mark.parametrize("tokenizer", ["fast", "spacy"])
def test_same_decisions_and_reasons_as_datatrove(real_docs, tokenizer):
    stage = Quality({"word_tokenizer": tokenizer})
    d = stage.process(batch([{"text": t} for t in real_docs]))
    ours = d.reasons
    theirs = [datatrove_reason(t) for t in real_docs]
    theirs = [RENAMED.get(r, r) for r in theirs]
    assert 150 < sum(r is not None for r in theirs) < len(real_docs) - 150  # both kinds present
    same = sum(a == b for a, b in zip(ours, theirs))
    assert same == len(real_docs), [(a, b) for a, b in zip(ours, theirs) if a != b][:10]


def test_fast_words_match_spacy_on_real_text(real_docs):
    split = words_for("en")
    identical = sum(split(t) == spacy_words(t) for t in real_docs[:200])
    assert identical >= 180  # the rest differ by a few emoticon-like tokens (";)")


def test_annotates_every_document_and_rewrites_kept_text():
    good = ("The committee met on Monday and agreed that the old bridge needs repairs before winter.\n"
            "Engineers from the county said the work would take about three months to complete.\n"
            "Residents have asked for a temporary crossing to be built so that children can reach the school.\n"
            "The mayor said the town would pay for it with money saved from the summer festival.\n"
            "A final decision on the contractor is expected at the next meeting of the council.\n"
            "Until then, heavy lorries will be sent along the northern road through the valley.\n")
    with_js = good + "Please enable javascript to view the comments on this page.\nok"
    d = Quality().process(batch([{"text": with_js}, {"text": "too short"}, {"text": None}]))
    assert d.reasons == [None, "gopher_repetition.top_2_gram", None] or d.reasons[1].startswith("gopher")
    assert d.reasons[0] is None and d.reasons[2] is None
    t = d.table
    assert "javascript" not in t.column("text")[0].as_py() and t.column("text")[0].as_py().startswith("The committee")
    assert t.column("quality.c4.lines_dropped")[0].as_py() == 2
    assert t.column("quality.gopher.words")[1].as_py() == 2
    assert t.column("quality.gopher.reason")[1].as_py() == "short_doc"
    assert t.column("text")[1].as_py() == "too short"  # removed rows keep their text
    assert t.column("quality.gopher.words")[2].as_py() is None and d.reasons[2] is None
    assert t.column("quality.fineweb.line_punct_ratio").type == pa.float64()


def test_families_switch_off_and_thresholds_apply():
    text = "word " * 30
    assert Quality({"gopher": False, "gopher_repetition": False, "c4": False, "fineweb": False}).process(
        batch([{"text": text}])).reasons == [None]
    d = Quality({"gopher_repetition": False, "c4": False, "fineweb": False,
                 "gopher": {"min_doc_words": 10, "min_stop_words": 0}}).process(batch([{"text": text}]))
    assert d.reasons == [None]
    assert "quality.c4.reason" not in d.table.column_names


def test_chinese_and_japanese_survive_the_english_tuned_chain():
    shared("text", "zh")
    zh = realdocs.chinese()[:600]
    stage = Quality()
    as_zh = stage.process(batch([{"text": t, "lang": "zh"} for t in zh])).reasons
    as_en = stage.process(batch([{"text": t, "lang": "en"} for t in zh])).reasons
    assert sum(r is None for r in as_zh) / len(zh) >= 0.95  # measured 0.97 on all 2,000
    assert sum(r is None for r in as_en) / len(zh) <= 0.01  # what English-only rules would do
    import json

    import gzip

    udhr = gzip.decompress((shared("langid", "udhr") / "udhr_paragraphs.jsonl.gz").read_bytes()).decode()
    ja = [json.loads(ln) for ln in udhr.splitlines() if '"jpn"' in ln]
    doc = "\n".join(ja[0]["paragraphs"])
    assert stage.process(batch([{"text": doc, "lang": "ja"}])).reasons == [None]
    assert stage.process(batch([{"text": doc, "lang": "en"}])).reasons != [None]


def test_english_boilerplate_is_removed_and_articles_kept():
    shared("html_extraction")
    stage = Quality()
    pages = realdocs.boilerplate()
    import json

    gold = json.loads((shared("html_extraction", "scrapinghub_aeb") / "ground-truth.json").read_text())
    articles = [v["articleBody"] for v in gold.values() if len(v.get("articleBody") or "") > 2000]
    removed_pages = sum(r is not None for r in stage.process(batch([{"text": t} for t in pages])).reasons)
    kept_articles = sum(r is None for r in stage.process(batch([{"text": t} for t in articles])).reasons)
    assert removed_pages / len(pages) >= 0.6
    assert kept_articles / len(articles) >= 0.6
