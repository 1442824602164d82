"""TensorBoard mirror of metrics.jsonl: same values, resume purges the killed run's steps, clear
error when the package is missing."""
import sys
from pathlib import Path

import numpy as np
import pytest

from corpusmill.trainer.config import SpikeSpec
from corpusmill.trainer.metrics import loss_by_step, read_metrics
from corpusmill.trainer.tb import read_scalars
from corpusmill.trainer.train import train
from trainer_fixtures import tiny_cfg


def _f32(d: dict) -> dict:  # event files hold float32
    return {k: float(np.float32(v)) for k, v in d.items()}


def test_tensorboard_matches_jsonl(tmp_path):
    cfg = tiny_cfg(tmp_path, steps=12, eval_every=6)
    train(cfg)
    out = Path(cfg.output)
    assert list((out / "tb").glob("events.out.tfevents.*"))
    rows = read_metrics(out / "metrics.jsonl")
    tr = [r for r in rows if r["kind"] == "train"]
    assert read_scalars(out / "tb", "train/loss") == _f32({r["step"]: r["loss"] for r in tr})
    for key in ("grad_norm", "lr", "tokens_per_s"):
        assert read_scalars(out / "tb", f"train/{key}") == _f32({r["step"]: r[key] for r in tr}), key
    val = {r["step"]: r for r in rows if r["kind"] == "val"}
    assert read_scalars(out / "tb", "val/loss") == _f32({s: r["loss"] for s, r in val.items()})
    assert sorted(read_scalars(out / "tb", "val/ppl")) == [6, 12]


def test_tensorboard_resume_replaces_killed_steps(tmp_path):
    cfg = tiny_cfg(tmp_path, steps=20, eval_every=4)
    cfg.spike = SpikeSpec(enabled=False)

    def noise_after_10(consumed, batch):  # the killed run's steps 11-14 log other losses than the re-run
        return np.random.default_rng(consumed).integers(3, 256, size=batch.shape) if consumed >= 80 else batch

    train(cfg, stop_after=14, batch_hook=noise_after_10)  # checkpoint at 10: steps 11-14 re-run on resume
    killed = loss_by_step(Path(cfg.output) / "metrics.jsonl")
    cfg.train.eval_every = 5  # the resumed run never re-logs val at 12: only the purge removes it
    train(cfg)
    jsonl = loss_by_step(Path(cfg.output) / "metrics.jsonl")  # keeps the re-run values
    assert len(jsonl) == 20 and all(killed[s] != jsonl[s] for s in range(11, 15))
    assert read_scalars(Path(cfg.output) / "tb", "train/loss") == _f32(jsonl)
    assert sorted(read_scalars(Path(cfg.output) / "tb", "val/loss")) == [4, 8, 15, 20]


def test_tensorboard_missing_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if not installed
    with pytest.raises(RuntimeError, match="pip install tensorboard"):
        train(tiny_cfg(tmp_path, steps=2))
    assert not (tmp_path / "run").exists()  # failed before any work
    cfg = tiny_cfg(tmp_path, "off", steps=2, eval_every=0, tensorboard=False)
    train(cfg)
    assert not (Path(cfg.output) / "tb").exists() and len(loss_by_step(Path(cfg.output) / "metrics.jsonl")) == 2
