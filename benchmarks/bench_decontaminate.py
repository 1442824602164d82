"""The `decontaminate` stage against datatrove's n-gram decontamination, in one run, one JSON object
per line.

Two evaluation sets (stand-ins for held-out benchmark text), indexed together: `gutenberg`, 3,000
paragraphs of the 13 Gutenberg books, of 30 words or more; `questions`, 400 real questions (the
sentences ending in "?" of 6 to 40 words in Tiny Shakespeare's speeches), the shape of an
evaluation item. Clean documents: 1,200 real web texts, shuffled (WCXB main contents of 7 page
types, ScrapingHub article pages with menus and footers, Lee news). Planted documents: a clean
document with, at a paragraph break, a window of L words cut from a Gutenberg paragraph (80 for
each L in 8, 12, 13, 20, 50), or a whole question written into the page as its own line (160).

quality (per n): recall per planted length, recall of planted questions of fewer than n words and
  of n or more, false-positive rate on the clean documents, for ours and datatrove's
  NGramsDecontFilter (its index made by NGramsDecontIndexer.compute_hashes, label n-grams only),
  and their agreement (documents both flag / documents either flags, over all documents).
speed (per n): index build and matching, docs/s on one core, ours (numba over batches of 1,000)
  against datatrove (spaCy word tokenizer, one document at a time); the ratio.
bloom: n = 13 with the index as a Bloom filter at 1e-8: same documents as exact, its bytes.
Run alone: `python benchmarks/bench_decontaminate.py [--quick]`.
"""
from __future__ import annotations

import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402
from benchmarks._common import emit, skip  # noqa: E402
from corpusmill.stages.decontaminate import Decontaminate  # noqa: E402

BENCH = "decontaminate"
QUICK = "--quick" in sys.argv
LENGTHS = (8, 12, 13, 20, 50)
NS = (8, 13, 20)
PER_LENGTH = 40 if QUICK else 80
EVAL_PARAGRAPHS = 600 if QUICK else 3000
QUESTIONS, PLANTED_QUESTIONS = (200, 80) if QUICK else (400, 160)


def eval_paragraphs(rnd: random.Random) -> list[str]:
    paras = []
    for f in sorted((realdocs.SHARED / "text/en/gutenberg").glob("*.txt")):
        text = f.read_text(encoding="utf-8", errors="replace")
        paras += [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if len(p.split()) >= 30]
    rnd.shuffle(paras)
    return paras[:EVAL_PARAGRAPHS]


def questions(rnd: random.Random) -> list[str]:
    """Real questions: Tiny Shakespeare's sentences ending in "?" of 6 to 40 words (speaker names
    left out), distinct, shuffled."""
    found = set()
    for speech in re.split(r"\n\s*\n", (realdocs.SHARED / "text/en/tinyshakespeare.txt").read_text()):
        body = " ".join(speech.split("\n")[1:])  # the first line names the speaker
        for sentence in re.split(r"(?<=[.?!;:])\s+", " ".join(body.split())):
            if sentence.endswith("?") and 6 <= len(sentence.split()) <= 40:
                found.add(sentence)
    out = sorted(found)
    rnd.shuffle(out)
    return out[:QUESTIONS]


def clean_documents() -> list[str]:
    docs = []
    for f in sorted((realdocs.SHARED / "html_extraction/wcxb_dev/ground-truth").glob("*.json")):
        main = json.loads(f.read_text()).get("ground_truth", {}).get("main_content")
        if main and len(main.split()) >= 50:
            docs.append(main)
    docs += realdocs.boilerplate()
    docs += [ln for ln in (realdocs.SHARED / "text/en/lee_news_background.cor").read_text().splitlines() if ln.strip()]
    random.Random(1).shuffle(docs)
    return docs[:600] if QUICK else docs[:1200]  # datatrove's spaCy pass: ~14 docs/s here


def plant(clean: list[str], paras: list[str], rnd: random.Random) -> tuple[list[str], list[int]]:
    """PER_LENGTH documents per length: a window of L words of an evaluation paragraph put at a
    paragraph break (or at the end) of a clean document."""
    docs, lengths = [], []
    for L in LENGTHS:
        long_enough = [p for p in paras if len(p.split()) >= L]
        for _ in range(PER_LENGTH):
            words = rnd.choice(long_enough).split()
            start = rnd.randrange(0, len(words) - L + 1)
            docs.append(_insert(rnd.choice(clean), " ".join(words[start:start + L]), rnd))
            lengths.append(L)
    return docs, lengths


def plant_questions(clean: list[str], qs: list[str], rnd: random.Random) -> tuple[list[str], list[int]]:
    """PLANTED_QUESTIONS documents, each a clean one with a whole question written in as a line."""
    picked = [rnd.choice(qs) for _ in range(PLANTED_QUESTIONS)]
    return [_insert(rnd.choice(clean), q, rnd) for q in picked], [len(q.split()) for q in picked]


def _insert(host: str, passage: str, rnd: random.Random) -> str:
    paras = host.split("\n\n")
    at = rnd.randrange(0, len(paras) + 1)
    return "\n\n".join(paras[:at] + [passage] + paras[at:])


def ours(refs: dict[str, Path], docs: list[str], n: int, index: str = "exact") -> tuple[np.ndarray, float, float, dict]:
    stage = Decontaminate({"references": [{"name": k, "path": str(v)} for k, v in refs.items()], "ngram": n,
                           "index": index, "mode": "annotate"})
    t0 = time.perf_counter()
    prepared = stage.prepare()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    flags = []
    for i in range(0, len(docs), 1000):
        d = stage.process(pa.table({"text": pa.array(docs[i:i + 1000], pa.large_string())}))
        flags += [x > 0 for x in d.table.column("decontaminate.ngrams").to_pylist()]
    sets = prepared["sets"]
    return np.array(flags), build, time.perf_counter() - t0, {
        "ngrams": sum(v["ngrams"] for v in sets.values()), "bytes": sum(v["bytes"] for v in sets.values()),
        "false_positive_rate": sets["gutenberg"]["false_positive_rate"], "probes": sets["gutenberg"].get("probes")}


def peer_datatrove(sets: dict[str, list[str]], docs: list[str], n: int, folder: Path) -> tuple[np.ndarray, float, float]:
    from datatrove.data import Document
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
    from datatrove.utils.hashing import create_hash_func
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    config = NGramsDecontConfig(n_grams=n, find_query_ngrams=False)
    t0 = time.perf_counter()
    # the indexer's own hashing; the indexer itself insists on lighteval (to fetch tasks), not needed here
    indexer = SimpleNamespace(tokenizer=load_word_tokenizer("en"), config=config,
                              hash_func=create_hash_func(config.hash_config))
    folder.mkdir(parents=True, exist_ok=True)
    for name, texts in sets.items():  # one index file per set, as its indexer writes one per task
        hashes = set()
        for p in texts:
            hashes.update(NGramsDecontIndexer.compute_hashes(indexer, p))
        np.array(sorted(hashes), dtype=config.hash_config.np_descr).tofile(folder / f"{name}.index.hashes")
    filt = NGramsDecontFilter(str(folder), config=config, language="en")
    filt.load_index_hashes()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    flags = [filt.filter(Document(text=t, id=str(i))) is not True for i, t in enumerate(docs)]
    return np.array(flags), build, time.perf_counter() - t0


def main() -> None:
    if not realdocs.available():
        skip(BENCH, f"shared data not found at {realdocs.SHARED}")
    try:
        import datatrove.pipeline.decont.n_grams  # noqa: F401
    except ImportError as e:
        skip(BENCH, f"datatrove not importable: {e}")
    rnd = random.Random(0)
    paras, qs = eval_paragraphs(rnd), questions(rnd)
    clean = clean_documents()
    planted, lengths = plant(clean, paras, rnd)
    asked, q_lengths = plant_questions(clean, qs, rnd)
    docs = clean + planted + asked
    kind = np.array(["clean"] * len(clean) + ["window"] * len(planted) + ["question"] * len(asked))
    lengths = np.array([0] * len(clean) + lengths + q_lengths)
    emit({"bench": BENCH, "case": "inputs", "eval_paragraphs": len(paras), "questions": len(qs),
          "clean_documents": len(clean), "planted_windows": len(planted), "planted_questions": len(asked),
          "question_words": {"min": min(q_lengths), "median": int(np.median(q_lengths)), "max": max(q_lengths)},
          "mb": round(sum(map(len, docs)) / 1e6, 2), "quick": QUICK})
    with tempfile.TemporaryDirectory() as tmp:
        refs = {"gutenberg": Path(tmp) / "gutenberg.jsonl", "questions": Path(tmp) / "questions.jsonl"}
        for (name, path), texts in zip(refs.items(), (paras, qs)):
            path.write_text("".join(json.dumps({"text": p}) + "\n" for p in texts))
        ours(refs, docs[:50], 5)  # numba compiles (cached) outside the timings
        for n in NS:
            a, a_build, a_match, info = ours(refs, docs, n)
            b, b_build, b_match = peer_datatrove({"gutenberg": paras, "questions": qs}, docs, n, Path(tmp) / f"dt{n}")
            emit(quality_row(n, info, a, b, kind, lengths))
            emit({"bench": BENCH, "case": "speed", "n": n, "documents": len(docs),
                  "ours_build_s": round(a_build, 2), "datatrove_build_s": round(b_build, 2),
                  "ours_docs_per_s": round(len(docs) / a_match), "datatrove_docs_per_s": round(len(docs) / b_match),
                  "ratio": round(b_match / a_match, 1)})
        exact, _, _, e_info = ours(refs, docs, 13)
        bloom, _, _, b_info = ours(refs, docs, 13, index="bloom")
        emit({"bench": BENCH, "case": "bloom", "n": 13, "same_documents": bool((exact == bloom).all()),
              "exact_bytes": e_info["bytes"], "bloom_bytes": b_info["bytes"],
              "bloom_false_positive_rate": b_info["false_positive_rate"], "probes": b_info["probes"]})


def quality_row(n: int, info: dict, a: np.ndarray, b: np.ndarray, kind: np.ndarray, lengths: np.ndarray) -> dict:
    row = {"bench": BENCH, "case": "quality", "n": n, "index_ngrams": info["ngrams"]}
    window, question = kind == "window", kind == "question"
    for name, f in (("ours", a), ("datatrove", b)):
        row[name] = {"recall_by_length": {int(L): round(float(f[window & (lengths == L)].mean()), 3) for L in LENGTHS},
                     "question_recall": {f"under_{n}_words": _share(f, question & (lengths < n)),
                                         f"{n}_words_or_more": _share(f, question & (lengths >= n))},
                     "false_positive_rate": round(float(f[kind == "clean"].mean()), 4),
                     "false_positives": int(f[kind == "clean"].sum())}
    both, either = int((a & b).sum()), int((a | b).sum())
    row["agreement"] = round(both / max(1, either), 4)
    row["only_ours"], row["only_datatrove"] = int((a & ~b).sum()), int((b & ~a).sum())
    return row


def _share(flags: np.ndarray, sel: np.ndarray) -> dict:
    return {"documents": int(sel.sum()), "recall": round(float(flags[sel].mean()), 3) if sel.any() else None}


if __name__ == "__main__":
    main()
