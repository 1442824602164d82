"""`corpus export-tokens` against the peers users would otherwise write: for Megatron, megatron-core's
own IndexedDatasetBuilder fed our documents one by one (add_item + end_document, what
preprocess_data.py does); for nanoGPT, its prepare.py way (np.memmap of the total length, filled
batch by batch). Same shards, same run, each in its own process (so peak RSS is its own); one core.
Prints JSON lines with tokens/s, peak RSS and the ratio; the outputs are checked byte-equal.

Run alone: .venv/bin/python benchmarks/bench_export_tokens.py [TOKENS_MILLIONS]
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_mixture(folder: Path, n_tokens: int) -> None:
    from corpusmill.common import artifact
    from corpusmill.mixtures.shards import ShardMeta, ShardWriter

    rng = np.random.default_rng(0)
    lengths = np.clip(rng.lognormal(6.5, 1.0, size=n_tokens // 500), 16, 50_000).astype(np.int64)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_tokens)]
    meta = ShardMeta(32_000, 1, 2, "0" * 64, ("web",))
    folder.mkdir()
    shards, per = [], len(lengths) // 4 + 1
    for s in range(4):
        w = ShardWriter(folder / f"train-{s:05d}.arrow", meta)
        for b in range(s * per, min(len(lengths), (s + 1) * per), 4096):
            part = lengths[b: b + 4096][: max(0, min(len(lengths), (s + 1) * per) - b)]
            w.write([rng.integers(3, 32_000, n, dtype=np.uint16) for n in part], ["web"] * len(part))
        w.close()
        shards.append({"file": w.path.name, "documents": w.documents, "tokens": w.tokens})
    manifest = {"train": {"shards": shards}, "validation": {"shards": []}, "seq_len": 1024, "sources": {"web": {}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    artifact.write(folder, "mixture", config={}, fingerprint=artifact.sha256_json(manifest))


def run_one(name: str, mix: Path, out: Path) -> None:
    """One variant in this process; prints its seconds."""
    from corpusmill.mixtures.export_tokens import export_tokens
    from corpusmill.mixtures.shards import Shard

    paths = [mix / s["file"] for s in json.loads((mix / "manifest.json").read_text())["train"]["shards"]]
    t0 = time.perf_counter()
    if name in ("ours_megatron", "ours_nanogpt"):
        export_tokens(mix, name.split("_")[1], out)
    elif name == "megatron_builder":
        import torch
        from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder

        b = IndexedDatasetBuilder(str(out / "train.bin"), dtype=np.uint16)
        for p in paths:
            s = Shard(p)
            for i in range(len(s)):
                b.add_item(torch.from_numpy(s.document(i).astype(np.int64)))
                b.end_document()
        b.finalize(str(out / "train.idx"))
    elif name == "nanogpt_prepare":
        shards = [Shard(p) for p in paths]
        arr = np.memmap(out / "train.bin", dtype=np.uint16, mode="w+", shape=(sum(s.num_tokens for s in shards),))
        idx = 0
        for s in shards:
            for piece in s.token_stream():
                arr[idx: idx + len(piece)] = piece
                idx += len(piece)
        arr.flush()
    print(json.dumps({"seconds": time.perf_counter() - t0,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def variant(name: str, mix: Path, out: Path) -> dict:
    out.mkdir()
    r = subprocess.run([sys.executable, __file__, "--one", name, str(mix), str(out)], capture_output=True, text=True,
                       env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore"})
    if r.returncode:
        raise SystemExit(f"{name} failed: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        run_one(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    n_tokens = int(float(sys.argv[1]) * 1e6) if len(sys.argv) > 1 else 50_000_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_mixture(tmp / "mix", n_tokens)
        total = sum(s["tokens"] for s in json.loads((tmp / "mix" / "manifest.json").read_text())["train"]["shards"])
        res = {name: variant(name, tmp / "mix", tmp / name)
               for name in ("ours_nanogpt", "nanogpt_prepare", "ours_megatron", "megatron_builder")}
        for a, b in (("ours_nanogpt", "nanogpt_prepare"), ("ours_megatron", "megatron_builder")):
            for suffix in ((".bin",) if "nanogpt" in a else (".bin", ".idx")):
                assert (tmp / a / f"train{suffix}").read_bytes() == (tmp / b / f"train{suffix}").read_bytes(), (a, suffix)
            print(json.dumps({"bench": "export_tokens", "format": a.split("_")[1], "tokens": total,
                              "ours_tokens_per_s": round(total / res[a]["seconds"]),
                              "peer": b, "peer_tokens_per_s": round(total / res[b]["seconds"]),
                              "ratio": round(res[b]["seconds"] / res[a]["seconds"], 2),
                              "ours_peak_rss_mb": res[a]["peak_rss_mb"], "peer_peak_rss_mb": res[b]["peak_rss_mb"],
                              "identical_bytes": True}))


if __name__ == "__main__":
    main()
