"""Loader throughput: our shard reader and sampler (memory-mapped Arrow shards, documents packed
into seq_len+1 windows, shuffled by a Feistel permutation, sharded by rank) against nanoGPT's
train.bin approach (one flat numpy memmap of the same tokens, random offsets, np.stack), in the
same run, on the same tokens. One process (one core). Prints JSON lines with tokens/s and the ratio.

Run alone: .venv/bin/python benchmarks/bench_loader.py [TOKENS_MILLIONS]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from corpusmill.mixtures.sampler import PackedSampler, TokenStream
    from corpusmill.mixtures.shards import ShardMeta, ShardWriter

    n_tokens = int(float(sys.argv[1]) * 1e6) if len(sys.argv) > 1 else 50_000_000
    seq_len, batch, steps = 1024, 32, 300
    rng = np.random.default_rng(0)
    # documents of realistic lengths (log-normal around 700 tokens), random token ids
    lengths = np.clip(rng.lognormal(6.5, 1.0, size=n_tokens // 500), 16, 50_000).astype(np.int64)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_tokens)]
    tokens = rng.integers(0, 32_000, size=int(lengths.sum()), dtype=np.uint16)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        meta = ShardMeta(32_000, 1, 2, "0" * 64)
        paths, per_shard = [], len(lengths) // 4 + 1
        for s in range(4):
            w = ShardWriter(tmp / f"train-{s:05d}.arrow", meta)
            lo, hi = s * per_shard, min(len(lengths), (s + 1) * per_shard)
            for b in range(lo, hi, 4096):
                e = min(hi, b + 4096)
                w.write([tokens[offsets[i]: offsets[i + 1]] for i in range(b, e)], ["bench"] * (e - b))
            w.close()
            paths.append(tmp / f"train-{s:05d}.arrow")
        tokens.tofile(tmp / "train.bin")
        data = np.memmap(tmp / "train.bin", dtype=np.uint16, mode="r")

        def nanogpt(step):
            ix = rng.integers(0, len(data) - seq_len - 1, size=batch)
            return np.stack([data[i: i + seq_len + 1].astype(np.int64) for i in ix])

        sampler = PackedSampler(TokenStream(paths), seq_len=seq_len, seed=0)

        def ours(step):
            return sampler.batch(step * batch, batch)

        results = {}
        for name, fn in (("nanogpt_memmap", nanogpt), ("corpusmill", ours), ("nanogpt_memmap", nanogpt),
                         ("corpusmill", ours)):
            fn(0)
            t0 = time.perf_counter()
            for step in range(steps):
                x = fn(step)
            rate = steps * batch * seq_len / (time.perf_counter() - t0)
            results[name] = max(results.get(name, 0), rate)
            assert x.shape == (batch, seq_len + 1)
    print(json.dumps({"bench": "loader", "tokens": int(lengths.sum()), "seq_len": seq_len, "batch": batch,
                      "corpusmill_tokens_per_s": round(results["corpusmill"]),
                      "nanogpt_memmap_tokens_per_s": round(results["nanogpt_memmap"]),
                      "ratio": round(results["corpusmill"] / results["nanogpt_memmap"], 3),
                      "goal_ratio": 0.9, "goal_tokens_per_s_per_core": 50_000_000}))


if __name__ == "__main__":
    main()
