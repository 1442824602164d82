"""The `dedup` stage, against named peers in the same run, one JSON object per line.

signatures: docs/s on one core over ~8 KB real documents (Gutenberg chunks), 5-grams, 112
  permutations, seed 1: datasketch MinHash.bulk (the reference), our numpy batch kernel, our
  numba kernel (compiled SHA-1, and OpenSSL's SHA-1), rensa (other hashes: not identical).
quality: near-duplicates of real documents made by controlled word edits (substitute, delete,
  insert at rate k, uniform in 0..12%); exact Jaccard of every pair sharing a 5-gram (sparse
  product), and precision/recall of the duplicate decisions (LSH candidate and, with a threshold,
  exact Jaccard of the 32-bit shingle hashes >= threshold, as the stage decides) against
  "Jaccard >= t": per config, at its threshold and around it; pair decisions and clusters.
end_to_end: `corpus build` with only `dedup` on an embedded Ray, GB/hour per core, against
  datatrove's four MinHash stages (signature, buckets, cluster, filter) on the same JSONL.
Run alone: `python benchmarks/bench_dedup.py [--quick]`.
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402
from benchmarks._common import emit, skip  # noqa: E402
from corpusmill.stages.dedup import cc, minhash, text  # noqa: E402
from corpusmill.stages.dedup.options import MinHashOptions  # noqa: E402

BENCH = "dedup"
QUICK = "--quick" in sys.argv


def normalise(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    col = pa.array(texts, pa.large_string())
    buf, off, _ = text.normalize_column(np.frombuffer(col.buffers()[2], np.uint8),
                                        np.frombuffer(col.buffers()[1], np.int64)[:len(col) + 1])
    return buf, off


def best(fn, repeats: int = 3) -> tuple[object, float]:
    out, secs = None, float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        secs = min(secs, time.perf_counter() - t0)
    return out, secs


def bench_signatures() -> None:
    from datasketch import MinHash

    docs = [d for d in realdocs.english(0, 7000, 9000) if len(d) > 6000][:200 if QUICK else 600]
    n, a, b = len(docs), *minhash.permutations(112, 1)
    normalise(docs[:2])  # compile
    (buf, off), t_norm = best(lambda: normalise(docs))
    texts = [buf[off[i]:off[i + 1]].tobytes() for i in range(n)]
    ref, t_ds = best(lambda: MinHash.bulk([minhash.shingles(t, 5) for t in texts], num_perm=112, seed=1), 1)
    ref = np.array([m.hashvalues for m in ref])
    row = {"bench": BENCH, "what": "signatures", "docs": n, "mean_doc_bytes": int(np.mean([len(d.encode()) for d in docs])),
           "normalise_docs_per_s": round(n / t_norm), "datasketch_docs_per_s": round(n / t_ds, 1)}
    kernels = ["numpy"] + (["numba"] if minhash.numba else []) + (["numba-openssl"] if minhash.HAVE_OPENSSL else [])
    for k in kernels:
        minhash.signatures(buf, off[:3], 5, a, b, kernel=k)
        sig, t = best(lambda: minhash.signatures(buf, off, 5, a, b, kernel=k), 1 if k == "numpy" else 3)
        row[f"{k}_docs_per_s"] = round(n / t, 1)
        row[f"{k}_vs_datasketch"] = round(t_ds / t, 2)
        row[f"{k}_identical_to_datasketch"] = bool((sig == ref).all())
        row[f"{k}_from_raw_text_docs_per_s"] = round(n / (t + t_norm), 1)
    try:
        import rensa

        sh = [[s.decode() for s in minhash.shingles(t, 5)] for t in texts]
        for name in ("RMinHash", "CMinHash"):
            cls = getattr(rensa, name)
            _, t = best(lambda: [cls(112, 1).update(s) for s in sh])
            row[f"rensa_{name}_docs_per_s_excl_shingling"] = round(n / t, 1)
        _, t_sh = best(lambda: [[s.decode() for s in minhash.shingles(t, 5)] for t in texts])
        row["python_shingling_docs_per_s"] = round(n / t_sh, 1)
    except ImportError:
        row["rensa"] = "not installed"
    emit(row)


# ---- quality -------------------------------------------------------------------------------------

def edit(words: list[str], rate: float, rnd: random.Random, vocab: list[str]) -> list[str]:
    out = []
    for w in words:
        r = rnd.random()
        if r < rate / 3:
            continue  # delete
        if r < 2 * rate / 3:
            out.append(rnd.choice(vocab))  # substitute
        elif r < rate:
            out += [w, rnd.choice(vocab)]  # insert
        else:
            out.append(w)
    return out


def families(n_bases: int, variants: int, seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    bases = [d for d in realdocs.english(seed, 3000, 8000) if len(d) > 2500]
    rnd.shuffle(bases)
    vocab = sorted({w for d in bases[:50] for w in d.split()})
    docs = []
    for base in bases[:n_bases]:
        words = base.split()
        docs.append(base)
        docs += [" ".join(edit(words, rnd.uniform(0, 0.12), rnd, vocab)) for _ in range(variants)]
    return docs


def exact_pairs(buf, off, ngram: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, Jaccard) of every pair sharing at least one shingle."""
    import xxhash
    from scipy.sparse import csr_matrix

    rows, cols = [], []
    for i in range(len(off) - 1):
        hs = np.unique(np.fromiter((xxhash.xxh3_64_intdigest(s) for s in minhash.shingles(buf[off[i]:off[i + 1]].tobytes(), ngram)),
                                   np.uint64))
        rows.append(np.full(len(hs), i))
        cols.append(hs)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    _, cols = np.unique(cols, return_inverse=True)
    m = csr_matrix((np.ones(len(rows), np.float32), (rows, cols)))
    inter = (m @ m.T).tocoo()
    sizes = np.asarray(m.sum(axis=1)).ravel()
    keep = inter.row < inter.col
    i, j, x = inter.row[keep], inter.col[keep], inter.data[keep]
    return i, j, x / (sizes[i] + sizes[j] - x)


def decided_pairs(sig: np.ndarray, hashes, hoff, o: MinHashOptions) -> set[tuple[int, int]]:
    """Pairs sharing a band, kept when their Jaccard reaches the threshold (if one is set)."""
    keys = minhash.band_keys(sig, o.bands, o.rows)
    pairs = set()
    for band in range(o.bands):
        order = np.argsort(keys[:, band], kind="stable")
        k = keys[order, band]
        for s, e in zip(*_runs(k)):
            members = order[s:e]
            pairs.update((int(x), int(y)) for ii, x in enumerate(members) for y in members[ii + 1:])
    pairs = {(min(p), max(p)) for p in pairs}
    if o.threshold is not None:
        get = lambda k: hashes[hoff[k]:hoff[k + 1]]  # noqa: E731
        pairs = {p for p in pairs if minhash.jaccard_sorted(get(p[0]), get(p[1])) >= o.threshold}
    return pairs


def _runs(k: np.ndarray):
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    big = ends - starts > 1
    return starts[big], ends[big]


def pr(decided: set, truth: set) -> tuple[float, float]:
    tp = len(decided & truth)
    return round(tp / max(1, len(decided)), 4), round(tp / max(1, len(truth)), 4)


def bench_quality() -> None:
    docs = families(60 if QUICK else 250, 12)
    buf, off = normalise(docs)
    i, j, jac = exact_pairs(buf, off, 5)
    jaccard = {(int(a), int(b)): float(x) for a, b, x in zip(i, j, jac)}
    configs = [("fineweb_14x8", MinHashOptions(), None)] + [
        (f"threshold_{t}", MinHashOptions(threshold=t), t) for t in (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)]
    for name, o, t in configs:
        a, b = minhash.permutations(o.num_perm, o.seed)
        sig, hashes, hoff = minhash.signatures(buf, off, o.ngram, a, b, with_hashes=True)
        decided = decided_pairs(sig, hashes, hoff, o)
        labels = cc.components_local(np.array([p[1] for p in decided], np.int64), np.array([p[0] for p in decided], np.int64)) \
            if decided else {}
        clusters: dict[int, list[int]] = {}
        for v, c in labels.items():
            clusters.setdefault(c, []).append(v)
        same_cluster = {(min(x, y), max(x, y)) for m in clusters.values() for k, x in enumerate(m) for y in m[k + 1:]}
        row = {"bench": BENCH, "what": "quality", "config": name, "bands": o.bands, "rows": o.rows,
               "num_perm": o.num_perm, "docs": len(docs), "pairs_sharing_a_shingle": len(jaccard)}
        for truth_t in sorted({0.6, 0.7, 0.72, 0.75, 0.8, 0.85, 0.9} | ({t} if t else set())):
            truth = {p for p, x in jaccard.items() if x >= truth_t}
            p, r = pr(decided, truth)
            cp, cr = pr(same_cluster, truth)
            row[f"at_{truth_t}"] = {"true_pairs": len(truth), "precision": p, "recall": r,
                                    "cluster_precision": cp, "cluster_recall": cr}
        if t is not None:
            row["at_threshold"] = row[f"at_{t}"]
        emit(row)
    try:  # rensa estimates against exact Jaccard, beside ours (= datasketch's) on the same pairs
        import rensa

        pairs = [p for p, x in jaccard.items() if x > 0.3][:20000]
        texts = [[s.decode() for s in minhash.shingles(buf[off[k]:off[k + 1]].tobytes(), 5)] for k in range(len(docs))]
        ours = minhash.signatures(buf, off, 5, *minhash.permutations(128, 1))
        err = {"ours_datasketch": [(ours[x] == ours[y]).mean() - jaccard[(x, y)] for x, y in pairs]}
        for cls in ("RMinHash", "CMinHash"):
            sk = []
            for s in texts:
                m = getattr(rensa, cls)(128, 1)
                m.update(s)
                sk.append(m)
            err[cls] = [sk[x].jaccard(sk[y]) - jaccard[(x, y)] for x, y in pairs]
        emit({"bench": BENCH, "what": "estimate_error", "num_perm": 128, "pairs": len(pairs),
              **{k: {"bias": round(float(np.mean(v)), 4), "rmse": round(float(np.sqrt(np.mean(np.square(v)))), 4)}
                 for k, v in err.items()}})
    except ImportError:
        pass


# ---- end to end ----------------------------------------------------------------------------------

def write_corpus(folder: Path, n_docs: int, files: int) -> int:
    docs = families(n_docs // 13 + 1, 12, seed=1)[:n_docs]
    random.Random(1).shuffle(docs)
    for f in range(files):
        with open(folder / f"part{f:03d}.jsonl", "w") as fh:
            for k, d in enumerate(docs[f::files]):
                fh.write(json.dumps({"id": f"{f}-{k}", "text": d}) + "\n")
    return sum(len(d.encode()) for d in docs)


def run_ours(folder: Path, out: Path, cpus: int) -> dict:
    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.pipeline.runner import run_build

    cfg = BuildConfig.model_validate({"inputs": [{"name": "b", "path": str(folder / "*.jsonl")}], "output": str(out),
                                      "stages": [{"dedup": {}}], "ray": {"num_cpus": cpus}})
    t0 = time.perf_counter()
    stats = run_build(cfg, fresh=True)
    return {"seconds": time.perf_counter() - t0, "dedup": stats["stages"]["dedup"]}


def run_datatrove(folder: Path, work: Path) -> tuple[float, int]:
    import types

    if "tokenizers" not in sys.modules:  # datatrove.pipeline.dedup imports it for exact-substring dedup only
        try:
            import tokenizers  # noqa: F401
        except ImportError:
            stub = types.ModuleType("tokenizers")
            stub.processors = types.ModuleType("tokenizers.processors")
            stub.processors.TemplateProcessing = stub.Tokenizer = object
            sys.modules.update({"tokenizers": stub, "tokenizers.processors": stub.processors})
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8)
    reader = lambda: JsonlReader(str(folder), glob_pattern="*.jsonl")  # noqa: E731

    def run(pipeline, tasks):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{time.time_ns()}")).run()

    t0 = time.perf_counter()
    run([reader(), MinhashDedupSignature(str(work / "sigs"), config=cfg)], 1)
    run([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=cfg)], cfg.num_buckets)
    run([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=cfg)], 1)
    run([reader(), MinhashDedupFilter(str(work / "remove"), exclusion_writer=JsonlWriter(str(work / "removed"))),
         JsonlWriter(str(work / "kept"))], 1)
    removed = sum(1 for p in (work / "removed").rglob("*.jsonl*") for _ in _lines(p))
    return time.perf_counter() - t0, removed


def _lines(p: Path):
    import gzip

    with (gzip.open(p, "rt") if p.suffix == ".gz" else open(p)) as fh:
        yield from fh


def bench_end_to_end() -> None:
    import logging

    logging.getLogger("datatrove").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small, big = tmp / "small", tmp / "big"
        small.mkdir()
        big.mkdir()
        nbytes = write_corpus(small, 300 if QUICK else 1300, 4)
        ours = run_ours(small, tmp / "o_small", 1)
        try:
            from loguru import logger
            logger.remove()
        except ImportError:
            pass
        dt_secs, dt_removed = run_datatrove(small, tmp / "dt")
        emit({"bench": BENCH, "what": "end_to_end_vs_datatrove", "docs": ours["dedup"]["in"], "mb": round(nbytes / 1e6, 1),
              "cores": 1, "config": "14x8 5-grams", "build_seconds": round(ours["seconds"], 2),
              "dedup_seconds": round(sum(ours["dedup"]["seconds"].values()), 2), "removed": ours["dedup"]["removed"],
              "datatrove_seconds": round(dt_secs, 2), "datatrove_removed": dt_removed,
              "dedup_speed_vs_datatrove": round(dt_secs / sum(ours["dedup"]["seconds"].values()), 1)})
        nbytes = write_corpus(big, 2000 if QUICK else 16000, 8)
        for cpus in (1, 2):
            r = run_ours(big, tmp / f"o_big{cpus}", cpus)
            secs = sum(r["dedup"]["seconds"].values())
            emit({"bench": BENCH, "what": "end_to_end", "docs": r["dedup"]["in"], "mb": round(nbytes / 1e6, 1),
                  "cores": cpus, "build_seconds": round(r["seconds"], 2), "dedup_seconds": round(secs, 2),
                  "phase_seconds": r["dedup"]["seconds"], "removed": r["dedup"]["removed_by_reason"],
                  "dedup_gb_per_hour_per_core": round(nbytes / 1e9 / (secs / 3600) / cpus, 2),
                  "build_gb_per_hour_per_core": round(nbytes / 1e9 / (r["seconds"] / 3600) / cpus, 2)})


def main() -> None:
    if not realdocs.available():
        skip(BENCH, f"{realdocs.SHARED} is absent")
    bench_signatures()
    bench_quality()
    bench_end_to_end()


if __name__ == "__main__":
    main()
