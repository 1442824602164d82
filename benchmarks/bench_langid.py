"""Language ID through the `langid` stage: accuracy on UDHR and speed, against datatrove's
LanguageFilter (FT176LID) on the same documents, in the same run, with the same lid.176.ftz.

Accuracy: ../shared/data/langid/udhr, 532 translations. Gold = the file's BCP 47 primary subtag,
which is already lid.176's code where the two agree (cmn->zh, arb->ar, pes->fa, ...), corrected by
GOLD_FIX where lid.176 (trained on Wikipedia) names a language by its Wikipedia code. A language
counts as covered when its gold code is a label of the model. Two document kinds: each whole
translation (paragraphs joined by newlines), and each paragraph of >= 100 characters. Macro =
mean of per-language accuracies; micro = share of documents right. Variants in a script the
model was not trained on for that code (OFF_SCRIPT) are reported apart, not in the averages.

Speed: docs/s through LangID.process in batches of 256 (the engine's default), against
LanguageFilter.filter per document, on 8 KB chunks of the Gutenberg books, best of REPEATS.
"""
from __future__ import annotations

import gzip
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import emit, shared_data, skip  # noqa: E402

BENCH = "langid"
BATCH = 256
REPEATS = 3
MIN_PARAGRAPH_CHARS = 100
CHUNK_CHARS = 8192
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


def udhr_docs(path: Path, model_labels: set[str]) -> tuple[list[Doc], list[Doc], list[dict]]:
    """Whole translations and long paragraphs of the covered languages, and the off-script rows."""
    whole, paras, off = [], [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            gold = gold_code(row)
            if row["iso639_3"] == "und" or gold not in model_labels:
                continue
            if row["bcp47"] in OFF_SCRIPT or row["f"] in OFF_SCRIPT_FILES:
                off.append(row)
                continue
            whole.append((gold, row["f"], "\n".join(row["paragraphs"])))
            paras += [(gold, row["f"], p) for p in row["paragraphs"] if len(p) >= MIN_PARAGRAPH_CHARS]
    return whole, paras, off


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


def best_of(fn, texts):
    runs = [fn(texts) for _ in range(REPEATS)]
    return runs[0], min(r[-1] for r in runs)


def main() -> None:
    logging.disable(logging.WARNING)
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid import LangID, default_model_path

    model = fasttext_model.load_model(default_model_path())
    udhr = shared_data() / "langid" / "udhr" / "udhr_paragraphs.jsonl.gz"
    if not udhr.exists():
        skip(BENCH, f"UDHR data absent: {udhr}")
    whole, paras, off = udhr_docs(udhr, set(fasttext_model.labels(model)))
    stage = LangID()
    stage.setup()

    for kind, docs in (("udhr_document", whole), ("udhr_paragraph", paras)):
        texts = [t for _, _, t in docs]
        (langs, scores, _, _), secs = best_of(lambda x: run_stage(stage, x), texts)
        summary, per_lang = accuracy(kind, docs, langs)
        for g, (a, n) in per_lang.items():
            emit({"bench": BENCH, "kind": kind, "lang": g, "accuracy": round(a, 4), "docs": n})
        (dt_langs, dt_scores, _, _), dt_secs = best_of(lambda x: run_datatrove(datatrove_filter(None, model), x), texts)
        summary.update({
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
        reasons = run_stage(LangID({"languages": languages}), texts)[2]
        keep = run_datatrove(datatrove_filter(languages, model), texts)[2]
        emit({"bench": BENCH, "kind": "decisions_udhr_paragraph", "languages": languages, "docs": len(texts),
              "kept": sum(r is None for r in reasons), "datatrove_kept": sum(keep),
              "same_decision_as_datatrove": share(reasons, keep, lambda r, k: (r is None) == k)})

    chunks = gutenberg_chunks()
    if not chunks:
        skip(BENCH, "gutenberg texts absent")
    n = len(chunks)
    (langs, _, reasons, _), secs = best_of(lambda x: run_stage(LangID({"languages": ["en"]}), x), chunks)
    (dt_langs, _, keep, _), dt_secs = best_of(lambda x: run_datatrove(datatrove_filter(["en"], model), x), chunks)
    row = {"bench": BENCH, "kind": "speed_8kb_gutenberg", "docs": n, "docs_per_s": round(n / secs, 1),
           "datatrove_docs_per_s": round(n / dt_secs, 1), "speed_vs_datatrove": round(dt_secs / secs, 2),
           "same_label_as_datatrove": share(langs, dt_langs),
           "same_decision_as_datatrove": share(reasons, keep, lambda r, k: (r is None) == k)}
    for max_chars in (2000, 500):
        options = {"languages": ["en"], "max_chars": max_chars}
        (ml, _, mr, _), ms = best_of(lambda x: run_stage(LangID(options), x), chunks)
        row[f"max_chars={max_chars}"] = {"docs_per_s": round(n / ms, 1), "same_label_as_full_text": share(ml, langs),
                                         "same_decision_as_full_text": share(mr, reasons)}
    emit(row)


def share(a: list, b: list, same=lambda x, y: x == y) -> float:
    return round(sum(same(x, y) for x, y in zip(a, b)) / len(a), 5)

if __name__ == "__main__":
    main()
