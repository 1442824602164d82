"""train.parallel: fsdp (FSDP2 fully_shard per Block and root) on CPU with gloo: 2 ranks match 1 at
the same global batch, and checkpoints interchange between FSDP and one process both ways."""
import shutil
import socket
from pathlib import Path

import pytest
import torch.distributed as dist
from pydantic import ValidationError

from corpusmill.trainer.config import TrainSpec
from corpusmill.trainer.metrics import loss_by_step, read_metrics
from corpusmill.trainer.train import train
from trainer_fixtures import tiny_cfg, torchrun_two


def _resume_from(cfg, ckpt: Path):
    """A run folder whose latest checkpoint is `ckpt` (made by another run)."""
    (Path(cfg.output) / "checkpoints").mkdir(parents=True)
    shutil.copy(ckpt, Path(cfg.output) / "checkpoints" / ckpt.name)
    return cfg


def test_parallel_option_validated_and_one_process_fsdp_is_plain(tmp_path):
    assert TrainSpec().parallel == "ddp"
    with pytest.raises(ValidationError):
        TrainSpec(parallel="zero3")
    cfg = tiny_cfg(tmp_path, steps=2, eval_every=0, parallel="fsdp")
    train(cfg)  # one process: nothing to shard over, runs unwrapped
    start = [r for r in read_metrics(Path(cfg.output) / "metrics.jsonl") if r["kind"] == "start"]
    assert start[0]["parallel"] == "none"


def test_fsdp_over_one_launched_rank_matches_the_plain_model(tmp_path, monkeypatch):
    """Launched as a process group of one (what benchmarks/gpu_check.py does to measure FSDP2 on one GPU):
    the model is fully_shard-ed over a one-rank mesh, and learns exactly as unwrapped (rel 1e-5)."""
    plain = tiny_cfg(tmp_path, "plain", steps=6, eval_every=3)
    one = tiny_cfg(tmp_path, "one", steps=6, eval_every=3, parallel="fsdp")
    train(plain)
    with socket.socket() as s:  # a free port for the one-rank store (bound by this process alone)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for k, v in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": "0", "WORLD_SIZE": "1"}.items():
        monkeypatch.setenv(k, v)
    train(one)
    assert not dist.is_initialized()  # the run tore its group down
    start = [r for r in read_metrics(Path(one.output) / "metrics.jsonl") if r["kind"] == "start"]
    assert start[0]["parallel"] == "fsdp" and start[0]["world_size"] == 1
    la, lb = loss_by_step(Path(plain.output) / "metrics.jsonl"), loss_by_step(Path(one.output) / "metrics.jsonl")
    assert len(la) == len(lb) == 6 and all(lb[s] == pytest.approx(la[s], rel=1e-5) for s in la), (la, lb)


@pytest.mark.slow
def test_fsdp_two_ranks_match_one_and_checkpoints_interchange(tmp_path):
    """Tolerance: 1e-5 relative per step (measured ~1e-7: the same samples, float reduction order)."""
    one = tiny_cfg(tmp_path, "one", steps=10, eval_every=5, ckpt_every=5)
    two = tiny_cfg(tmp_path, "two", steps=10, eval_every=5, ckpt_every=5, micro_batch_size=2, parallel="fsdp")
    train(one)
    torchrun_two(two, tmp_path, "two")
    la, lb = loss_by_step(Path(one.output) / "metrics.jsonl"), loss_by_step(Path(two.output) / "metrics.jsonl")
    assert len(la) == len(lb) == 10 and all(lb[s] == pytest.approx(la[s], rel=1e-5) for s in la)
    rows = read_metrics(Path(two.output) / "metrics.jsonl")
    assert rows[0]["parallel"] == "fsdp" and rows[0]["world_size"] == 2
    ck = "checkpoints/step-00000010.pt"
    # steps 11-15 from step 10: one process from its own checkpoint (reference), one process from the
    # FSDP checkpoint, and FSDP from the one-process checkpoint
    ref = train(_resume_from(tiny_cfg(tmp_path, "ref", steps=15, eval_every=0), Path(one.output) / ck))
    from_fsdp = _resume_from(tiny_cfg(tmp_path, "from_fsdp", steps=15, eval_every=0), Path(two.output) / ck)
    train(from_fsdp)
    to_fsdp = _resume_from(tiny_cfg(tmp_path, "to_fsdp", steps=15, eval_every=0, micro_batch_size=2,
                                    parallel="fsdp"), Path(one.output) / ck)
    torchrun_two(to_fsdp, tmp_path, "to_fsdp")
    lr_ = loss_by_step(Path(tmp_path / "ref") / "metrics.jsonl")
    assert sorted(lr_) == list(range(11, 16)) and ref["step"] == 15
    for other in (from_fsdp, to_fsdp):
        lo = loss_by_step(Path(other.output) / "metrics.jsonl")
        assert sorted(lo) == sorted(lr_) and all(lo[s] == pytest.approx(lr_[s], rel=1e-5) for s in lr_), other.output


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["mlm", "span"])
def test_fsdp_mlm_two_ranks_match_one(tmp_path, objective):
    """The encoder (mlm) and the encoder-decoder (span: decoder Blocks sharded too) under FSDP: the head is
    a slice of the sharded embedding (tied, no [MASK] or decoder-start logit)."""
    one = tiny_cfg(tmp_path, "one", objective, steps=8, eval_every=4)
    two = tiny_cfg(tmp_path, "two", objective, steps=8, eval_every=4, micro_batch_size=2, parallel="fsdp")
    train(one)
    torchrun_two(two, tmp_path, "two")
    la, lb = loss_by_step(Path(one.output) / "metrics.jsonl"), loss_by_step(Path(two.output) / "metrics.jsonl")
    assert len(la) == len(lb) == 8 and all(lb[s] == pytest.approx(la[s], rel=1e-5) for s in la)
    va, vb = ([r["loss"] for r in read_metrics(Path(c.output) / "metrics.jsonl") if r["kind"] == "val"]
              for c in (one, two))
    assert len(va) == 2 and vb == pytest.approx(va, rel=1e-5)
