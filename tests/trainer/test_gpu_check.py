"""benchmarks/gpu_check.py, the GPU checks left ready for a lent GPU: its --cpu-smoke runs the same
commands (2 steps of a tiny model on CPU), so they stay runnable while no GPU is there to prove them."""
import json
import os
import subprocess
import sys

import pytest

from trainer_fixtures import REPO


@pytest.mark.slow
def test_gpu_check_commands_run_on_cpu():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--cpu-smoke", "--only", "adamw,fsdp_one_gpu"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    lines = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    checks = {ln["check"]: ln for ln in lines if "check" in ln}
    assert checks["adamw"]["peer_tokens_per_s"] > 0 and checks["adamw"]["ours_tokens_per_s"] > 0
    assert checks["fsdp_one_gpu"]["parallel"] == "fsdp"  # the trainer did shard over its one-rank group
    summary = lines[-1]
    assert summary["summary"] and summary["failed"] == [] and summary["fsdp_time_per_token"] > 0
    no_gpu = subprocess.run([sys.executable, "benchmarks/gpu_check.py"], cwd=REPO, env={**env, "CUDA_VISIBLE_DEVICES": ""},
                            capture_output=True, text=True, timeout=120)
    assert no_gpu.returncode != 0 and "no CUDA device" in no_gpu.stderr
