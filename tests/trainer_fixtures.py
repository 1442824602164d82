"""Helpers for trainer tests (tests/trainer, tests/test_failures.py, tests/test_seams.py,
tests/test_faults.py): a learnable synthetic mixture, a tiny config, torchrun with two gloo ranks.
Importable from any test folder, as conftest's folder is on sys.path."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from corpusmill.mixtures.shards import ShardMeta, ShardWriter
from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec

REPO = Path(__file__).resolve().parents[1]  # tests/ -> the repository
VOCAB = 256
META = ShardMeta(vocab_size=VOCAB, bos_id=1, eos_id=2, tokenizer_sha256="ab" * 32)


def make_mixture(folder: Path, n_docs=400, seed=0, seq_len=32) -> Path:
    """Documents built from 8 fixed 'sentences': learnable, so the loss must fall well below ln(V)."""
    rng = np.random.default_rng(seed)
    sentences = [rng.integers(3, VOCAB, size=24) for _ in range(8)]
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    for split, n in (("train", n_docs), ("validation", n_docs // 10)):
        docs = [np.concatenate([[1], *(sentences[j] for j in rng.integers(0, 8, size=4)), [2]]).astype(np.uint16)
                for _ in range(n)]
        w = ShardWriter(folder / f"{split}-00000.arrow", META)
        w.write(docs, ["syn"] * n)
        w.close()
        splits[split] = {"shards": [{"file": f"{split}-00000.arrow", "documents": n, "tokens": w.tokens}]}
    manifest = {"format": "corpusmill-mixture/1", "seq_len": seq_len, "seed": 0,
                "tokenizer": {"path": "none", "vocab_size": VOCAB, "bos_id": 1, "eos_id": 2,
                              "tokenizer_sha256": META.tokenizer_sha256}, **splits}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def torchrun_two(cfg: TrainConfig, tmp_path: Path, name: str) -> None:
    """`cfg` under torchrun: 2 gloo ranks on loopback. The rendezvous binds port 0 itself (no race with
    other processes for a port picked in advance). A hang fails with what the ranks printed."""
    (tmp_path / f"{name}.yaml").write_text(json.dumps(cfg.model_dump(mode="json")))  # JSON is YAML
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--rdzv-backend", "c10d",
           "--rdzv-endpoint", "127.0.0.1:0", "-m", "corpusmill.trainer.train", str(tmp_path / f"{name}.yaml")]
    try:
        r = subprocess.run(cmd, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True,
                           text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"torchrun did not finish in 300 s: {str(e.stderr or '')[-3000:]}")
    assert r.returncode == 0, r.stderr[-3000:]


def tiny_cfg(tmp_path, out="run", objective="causal", **train) -> TrainConfig:
    mix = tmp_path / "mix"
    if not (mix / "manifest.json").exists():
        make_mixture(mix)
    t = dict(steps=30, global_batch_tokens=32 * 8, micro_batch_size=4, lr=3e-3, warmup_steps=5,
             eval_every=10, eval_batches=2, ckpt_every=10, keep_last=2, progress=False, seed=1, cpu_threads=1)
    t.update(train)
    return TrainConfig(data=str(mix), output=str(tmp_path / out),
                       model=ModelSpec(n_layer=2, n_head=2, d_model=64, objective=objective), train=TrainSpec(**t))
