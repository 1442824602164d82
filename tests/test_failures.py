"""Failure as users meet it (issue 13): Ctrl-C and preemption, a Ray address with nothing behind
it, user mistakes that used to end in a traceback."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corpusmill.trainer.metrics import read_metrics

CORPUS = str(Path(sys.executable).parent / "corpus")


def _wait_for_step(metrics: Path, step: int, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and any(r.get("kind") == "train" and r["step"] >= step for r in read_metrics(metrics)):
            return
        time.sleep(0.1)
    pytest.fail(f"the run did not reach step {step}: {proc.poll()}")


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_train_writes_a_checkpoint_on_sigint_and_sigterm_then_resumes(tmp_path, sig, status):
    from trainer_fixtures import make_mixture, tiny_cfg

    make_mixture(tmp_path / "mix")
    cfg = tiny_cfg(tmp_path, steps=400, ckpt_every=1000, eval_every=0, tensorboard=False)
    (tmp_path / "t.yaml").write_text(json.dumps(cfg.model_dump(mode="json")))
    proc = subprocess.Popen([CORPUS, "train", str(tmp_path / "t.yaml")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        _wait_for_step(tmp_path / "run" / "metrics.jsonl", 3, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == status, err[-2000:]
    assert "checkpoint written" in err and "re-run the same command to resume" in err
    assert "Traceback" not in err
    stopped = next(r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r.get("event") == "stopped")
    ckpts = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step-*.pt"))
    assert ckpts[-1] == f"step-{stopped['step']:08d}.pt"  # a checkpoint of exactly the step it stopped at
    from corpusmill.trainer.train import train

    result = train(cfg.model_copy(update={"train": cfg.train.model_copy(update={"steps": stopped["step"] + 2})}))
    starts = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r.get("kind") == "start"]
    assert starts[-1]["step"] == stopped["step"] and result["step"] == stopped["step"] + 2


def test_a_ray_address_with_nothing_behind_it_fails_fast_and_touches_nothing(tmp_path):
    import socket

    from fixtures import write_build_yaml, write_jsonl

    write_jsonl(tmp_path / "a.jsonl", [{"text": "a document long enough to keep " * 5}])
    y = write_build_yaml(tmp_path / "b.yaml", [{"name": "docs", "path": "a.jsonl"}], tmp_path / "out", [])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stats.json").write_text("{}")  # an earlier output that --fresh would delete
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    t0 = time.time()
    r = subprocess.run([CORPUS, "build", str(y), "--fresh", "--ray-address", f"127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and time.time() - t0 < 30
    assert f"no Ray cluster at 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "out" / "stats.json").read_text() == "{}"  # --fresh did not run


def test_user_mistakes_get_a_message_not_a_traceback(tmp_path):
    from click.testing import CliRunner

    from corpusmill.cli import main
    from trainer_fixtures import make_mixture, tiny_cfg

    (tmp_path / "b.yaml").write_text(json.dumps({"inputs": [{"name": "a", "path": "x.jsonl"}], "output": "out",
                                                 "stages": [{"length": {"min_chars": 500, "max_chars": 100}}]}))
    r = CliRunner().invoke(main, ["build", str(tmp_path / "b.yaml")])
    assert r.exit_code == 1 and "max_chars (100) is below min_chars (500)" in r.output, r.output
    r = CliRunner().invoke(main, ["plan", "--params", "tiny"])
    assert r.exit_code == 0 and json.loads(r.output.splitlines()[0])["params"] > 1e6, r.output
    make_mixture(tmp_path / "mix")
    for train, message in ((dict(global_batch_tokens=32 * 6, micro_batch_size=4), "do not split into 1 rank"),
                           (dict(seq_len=1 << 20), "fewer than one window"),
                           (dict(micro_batch_size=8, global_batch_tokens=32 * 8), None)):
        cfg = tiny_cfg(tmp_path, **train)
        if message is None:  # a model that cannot fit in this machine's memory: refused before allocating
            cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"d_model": 1 << 16, "n_head": 2})})
            message = "GiB free: lower train.micro_batch_size"
        (tmp_path / "t.yaml").write_text(json.dumps(cfg.model_dump(mode="json")))
        r = CliRunner().invoke(main, ["train", str(tmp_path / "t.yaml")])
        assert r.exit_code == 1 and message in r.output and r.exception.__class__ is SystemExit, r.output


@pytest.mark.usefixtures("ray_local")
def test_input_problems_are_summarised_and_max_problems_fails_ci(tmp_path):
    from click.testing import CliRunner

    from corpusmill.cli import main

    (tmp_path / "a.jsonl").write_text(json.dumps({"text": "a fine document " * 20}) + "\n{not json\n")
    (tmp_path / "b.yaml").write_text(json.dumps({"inputs": [{"name": "a", "path": "a.jsonl"}], "output": "out",
                                                 "stages": []}))
    r = CliRunner().invoke(main, ["build", str(tmp_path / "b.yaml"), "--max-problems", "0"])
    assert r.exit_code == 3 and "input problems: 1 > --max-problems 0" in r.output, r.output
    assert "input problems: 1 in 1 file(s)" in r.output
    r = CliRunner().invoke(main, ["build", str(tmp_path / "b.yaml"), "--max-problems", "1"])
    assert r.exit_code == 0, r.output
