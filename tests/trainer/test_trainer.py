"""The trainer on CPU: model shapes, learning, exact resume, spike recovery, DDP parity, plan."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from corpusmill.trainer.config import SpikeSpec, TrainSpec
from corpusmill.trainer.metrics import loss_by_step, read_metrics
from corpusmill.trainer.model import GPT, build_config
from corpusmill.trainer.train import lr_at, train

from trainer_fixtures import META, REPO, VOCAB, make_mixture, tiny_cfg, torchrun_two  # noqa: F401


def test_model_shapes_and_backward():
    c = build_config(VOCAB, 16, "tiny")
    m = GPT(c)
    x = torch.randint(0, VOCAB, (2, 16))
    logits, loss = m(x, torch.randint(0, VOCAB, (2, 16)))  # (targets = inputs would favour tied self-logits)
    assert logits.shape == (2, 16, VOCAB) and loss.ndim == 0
    assert abs(loss.item() - np.log(VOCAB)) < 0.5  # init near uniform
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())
    assert m.lm_head.weight is m.embed.weight  # tied by default
    assert not any(n.endswith("bias") for n, _ in m.named_parameters())
    # causal: the first position's logits ignore later tokens
    y = x.clone()
    y[:, 5:] = (y[:, 5:] + 1) % VOCAB
    m.eval()
    assert torch.allclose(m(x)[0][:, :5], m(y)[0][:, :5], atol=1e-5)


def test_lr_schedule():
    s = TrainSpec(steps=100, lr=1.0, min_lr=0.1, warmup_steps=10, schedule="cosine")
    assert lr_at(0, s) == pytest.approx(0.1) and lr_at(9, s) == pytest.approx(1.0)
    assert lr_at(100, s) == pytest.approx(0.1) and 0.1 < lr_at(55, s) < 1.0


def test_loss_falls_and_metrics(tmp_path):
    out = train(tiny_cfg(tmp_path, steps=40))
    assert out["first_loss"] > 5.0 and out["last_loss"] < 0.5 * out["first_loss"], out  # ln(256) = 5.55
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    tr = [r for r in rows if r["kind"] == "train"]
    assert len(tr) == 40 and {"loss", "grad_norm", "lr", "tokens_per_s"} <= set(tr[0])
    assert "mfu" not in tr[0]  # CPU: no MFU
    val = [r for r in rows if r["kind"] == "val"]
    assert len(val) == 4 and val[-1]["loss"] < 3.0 and val[-1]["ppl"] > 1
    cks = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*.pt"))
    assert cks == ["step-00000030.pt", "step-00000040.pt"]  # keep_last 2


@pytest.mark.parametrize("objective", ["causal", "mlm", pytest.param("span", marks=pytest.mark.slow)])  # span: ~13 s
def test_exact_resume_in_process(tmp_path, objective):
    a = tiny_cfg(tmp_path, "a", objective, dropout=0.1)
    b = tiny_cfg(tmp_path, "b", objective, dropout=0.1)
    train(a)
    train(b, stop_after=14)  # past the step-10 checkpoint: steps 11-14 are lost, as in a crash
    train(b)
    la, lb = loss_by_step(Path(a.output) / "metrics.jsonl"), loss_by_step(Path(b.output) / "metrics.jsonl")
    assert len(la) == 30 and la == lb  # bit-identical floats


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["causal", "mlm", "span"])
def test_exact_resume_after_sigkill(tmp_path, objective):
    a = tiny_cfg(tmp_path, "a", objective, steps=40, dropout=0.1, ckpt_every=5)
    b = tiny_cfg(tmp_path, "b", objective, steps=40, dropout=0.1, ckpt_every=5)
    train(a)
    yaml_path = tmp_path / "b.yaml"
    yaml_path.write_text(json.dumps(b.model_dump(mode="json")))  # JSON is YAML
    cmd = [sys.executable, "-m", "corpusmill.trainer.train", str(yaml_path)]
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = Path(b.output) / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and len(loss_by_step(metrics) if metrics.exists() else {}) < 17:
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = len(loss_by_step(metrics))
    assert 17 <= done < 40, "killed mid-run"
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    la, lb = loss_by_step(Path(a.output) / "metrics.jsonl"), loss_by_step(metrics)
    assert len(la) == 40 and la == lb


def test_spike_rollback_skip_and_lr_cut(tmp_path):
    cfg = tiny_cfg(tmp_path, steps=40, ckpt_every=5)
    cfg.spike = SpikeSpec(window=20, min_history=8, zscore=4.0, lr_factor=0.5)
    gb = 8
    poisoned = {25 * gb}  # the batch of step 26 (consumed = 25 batches), by sample index

    def poison(consumed, batch):
        if consumed in poisoned:
            return np.random.default_rng(0).integers(3, VOCAB, size=batch.shape)  # noise: a loss spike
        return batch

    out = train(cfg, batch_hook=poison)
    assert out["recoveries"] == 1 and out["lr_scale"] == 0.5 and out["step"] == 40
    assert out["last_loss"] < 3.0  # training carried on to a normal loss
    rows = read_metrics(Path(cfg.output) / "metrics.jsonl")
    ev = [r for r in rows if r["kind"] == "event"]
    assert len(ev) == 1 and ev[0]["at_step"] == 26 and ev[0]["rolled_back_to"] == 25
    assert ev[0]["skipped_samples"] == gb
    # the re-run step 26 read the next batch: no sample index is read twice
    tr = [r for r in rows if r["kind"] == "train"]
    assert tr[-1]["consumed"] == 41 * gb


def test_spike_detector_rules():
    from corpusmill.trainer.train import SpikeDetector
    d = SpikeDetector(SpikeSpec(window=10, min_history=5, zscore=None, ratio=1.5))
    assert d.check(float("nan"), 1.0) == "non-finite" and d.check(1.0, float("inf")) == "non-finite"
    for v in (2.0, 2.1, 1.9, 2.0, 2.05):
        assert d.check(v, 1.0) is None
        d.add(v)
    assert d.check(2.5, 1.0) is None and d.check(3.5, 1.0).startswith("ratio")


def test_config_yaml_relative_paths(tmp_path):
    from corpusmill.trainer.config import ConfigError, load_train_config
    (tmp_path / "t.yaml").write_text("data: mix/v1\nmodel: {preset: tiny}\ntrain: {steps: 5}\noutput: runs/x\n")
    cfg = load_train_config(tmp_path / "t.yaml")
    assert cfg.data == str(tmp_path / "mix" / "v1") and cfg.output == str(tmp_path / "runs" / "x")
    (tmp_path / "bad.yaml").write_text("data: a\noutput: b\ntrain: {stepz: 5}\n")
    with pytest.raises(ConfigError):
        load_train_config(tmp_path / "bad.yaml")


def test_plan_numbers():
    from corpusmill.trainer.plan import parse_count, plan
    p = plan(parse_count("124M"), None, gpus=8, mfu=0.5, gpu="h100")
    assert p["tokens"] == pytest.approx(2.48e9) and p["flops"] == pytest.approx(6 * 124e6 * 2.48e9)
    assert p["seconds"] == pytest.approx(p["flops"] / (989e12 * 0.5 * 8))
    assert plan(1e9, 1e11, gpu="a100", mfu=0.4)["hours"] == pytest.approx(6e20 / (312e12 * 0.4) / 3600)


def test_generate_from_run(tmp_path):
    from corpusmill.trainer.generate import load_model, sample
    cfg = tiny_cfg(tmp_path, steps=5, eval_every=0)
    train(cfg)
    model, state = load_model(cfg.output)
    assert state["step"] == 5 and state["tokenizer"]["vocab_size"] == VOCAB
    out = sample(model, [1, 5, 6], 10, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(0))
    assert len(out) == 10 and all(0 <= t < VOCAB for t in out)


def test_cli_plan():
    from click.testing import CliRunner
    from corpusmill.trainer.cli import plan
    r = CliRunner().invoke(plan, ["--params", "1B", "--gpus", "8"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.splitlines()[0])["tokens"] == 2e10


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["causal", "mlm", "span"])
def test_torchrun_two_ranks_match_one(tmp_path, objective):
    """2 gloo ranks x micro 2 vs 1 rank x micro 4 at the same global batch: same samples (mlm: same
    masks; span: same corruption, encoder-decoder under DDP; the loss divides by the predicted count of the
    whole global batch), same gradients up
    to float reduction order. Tolerance: 1e-4 relative per step over 10 steps."""
    one = tiny_cfg(tmp_path, "one", objective, steps=10, eval_every=5)
    two = tiny_cfg(tmp_path, "two", objective, steps=10, eval_every=5, micro_batch_size=2)
    train(one)
    torchrun_two(two, tmp_path, "two")
    la, lb = loss_by_step(Path(one.output) / "metrics.jsonl"), loss_by_step(Path(two.output) / "metrics.jsonl")
    assert len(la) == len(lb) == 10
    for s in la:
        assert lb[s] == pytest.approx(la[s], rel=1e-4), s
    start = [r for r in read_metrics(Path(two.output) / "metrics.jsonl") if r["kind"] == "start"]
    assert start[0]["world_size"] == 2
    va, vb = ([r["loss"] for r in read_metrics(Path(c.output) / "metrics.jsonl") if r["kind"] == "val"] for c in (one, two))
    assert len(va) == len(vb) == 2 and vb == pytest.approx(va, rel=1e-4)


def test_cli_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    from click.testing import CliRunner

    from corpusmill.cli import main

    junk = tmp_path / "step-00000001.pt"
    junk.write_bytes(b"not a checkpoint at all")
    for args in (["generate", str(junk)], ["export", str(junk), "-o", str(tmp_path / "hf")]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and "not a corpusmill checkpoint" in r.output, (args, r.output)
    assert not (tmp_path / "hf").exists()
