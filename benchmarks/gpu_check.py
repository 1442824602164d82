"""Issue 18's GPU checks in one command, for one lent GPU (H100/H200): GPT-2 124M, bf16 autocast, seq
1024, torch.compile, each check a bench_train.py run in its own process:

  adamw          ours (AdamW) and the nanoGPT-style loop, in the same run: tokens/s, MFU (goal >= 45%)
  muon           ours with Muon (the default optimizer): its overhead = adamw tokens/s / muon tokens/s
  muon_speedrun  + qk_norm, relu2, zero_init
  fsdp_one_gpu   ours under FSDP2 over a one-rank group: FSDP's own cost = adamw tokens/s / fsdp tokens/s
  vocab_50257, vocab_50257_pad64   model.vocab_multiple's gain: 50,257 rows unpadded, then padded to 64

JSON lines: one per check (bench_train's line with a `check` tag), then a summary; estimated 5-8
minutes on an H200, mostly compiling (not yet timed). `--cpu-smoke` runs the same checks for 2 steps of a tiny model on
CPU without compile: it proves the commands, not the figures.

    python benchmarks/gpu_check.py [--steps 60] [--batch 16]
    python benchmarks/gpu_check.py --cpu-smoke
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

HERE = Path(__file__).resolve().parent
CHECKS = [("adamw", []), ("muon", ["--optimizer", "muon", "--no-peer"]),
          ("muon_speedrun", ["--optimizer", "muon", "--speedrun-model", "--no-peer"]),
          ("fsdp_one_gpu", ["--parallel", "fsdp", "--no-peer"]),
          # model.vocab_multiple: GPT-2's 50,257 rows as they are, and padded to 50,304 (the default runs 50,304)
          ("vocab_50257", ["--vocab", "50257", "--no-peer"]),
          ("vocab_50257_pad64", ["--vocab", "50257", "--vocab-multiple", "64", "--no-peer"])]


def common_args(a) -> list[str]:
    if a.cpu_smoke:
        return ["--device", "cpu", "--preset", "tiny", "--seq-len", "64", "--vocab", "512", "--batch", "2",
                "--steps", "2", "--threads", "1"]
    return ["--device", "cuda", "--preset", "gpt2", "--seq-len", "1024", "--vocab", "50304",
            "--batch", str(a.batch), "--steps", str(a.steps), "--compile"]


def run_check(name: str, args: list[str], timeout: int) -> dict:
    cmd = [sys.executable, str(HERE / "bench_train.py"), *args]
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent, env=env)
    except subprocess.TimeoutExpired:
        return {"check": name, "error": f"over {timeout} s", "command": " ".join(cmd)}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode or not lines:
        return {"check": name, "error": f"exit {r.returncode}: {r.stderr.strip()[-2000:]}", "command": " ".join(cmd)}
    return {"check": name, **json.loads(lines[-1])}


def summary(results: dict[str, dict]) -> dict:
    def tps(name):
        return results.get(name, {}).get("ours_tokens_per_s")

    base = results.get("adamw", {})
    out = {"bench": "gpu_check", "summary": True, "device_name": base.get("device_name"),
           "ours_mfu": base.get("ours_mfu"), "peer_mfu": base.get("peer_mfu"),
           "ours_tokens_per_s": tps("adamw"), "peer_tokens_per_s": base.get("peer_tokens_per_s"),
           "failed": [n for n, r in results.items() if "error" in r]}
    for name, key in (("muon", "muon_time_per_token"), ("muon_speedrun", "muon_speedrun_time_per_token"),
                      ("fsdp_one_gpu", "fsdp_time_per_token")):
        if tps("adamw") and tps(name):
            out[key] = round(tps("adamw") / tps(name), 3)  # x AdamW's, one process, same model and batch
    if tps("vocab_50257") and tps("vocab_50257_pad64"):
        out["vocab_pad64_speedup"] = round(tps("vocab_50257_pad64") / tps("vocab_50257"), 3)
    if out["ours_mfu"] is not None:
        out["mfu_goal_0.45_met"] = out["ours_mfu"] >= 0.45
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpu-smoke", action="store_true", help="2 steps of a tiny model on CPU: the commands run")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=16, help="sequences of 1024 per step (16: 16,384 tokens)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per check")
    ap.add_argument("--only", default="", help="comma-separated checks (default: all)")
    a = ap.parse_args()
    if not a.cpu_smoke:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit("gpu_check: no CUDA device here; run it on the GPU machine, or --cpu-smoke to try the "
                             "commands on CPU")
    chosen = [c for c in CHECKS if not a.only or c[0] in a.only.split(",")]
    results = {}
    for name, extra in chosen:
        results[name] = run_check(name, common_args(a) + extra, a.timeout)
        emit({**results[name], "bench": "gpu_check"})
    emit(summary(results))
    if any("error" in r for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
