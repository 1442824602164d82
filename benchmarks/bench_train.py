"""Training throughput (CPU, or CUDA with MFU): corpusmill's loop (sampler, accumulation, clipping, schedule, metrics,
checkpoint hooks) against a minimal nanoGPT-style loop with the same model, batch and steps, in
the same run. Steady-state tokens/s (median step after warmup). One JSON line with the ratio."""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit  # noqa: E402

from corpusmill.mixtures.shards import ShardMeta, ShardWriter  # noqa: E402
from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec  # noqa: E402
from corpusmill.trainer.metrics import peak_flops, read_metrics  # noqa: E402
from corpusmill.trainer.model import GPT, build_config  # noqa: E402
from corpusmill.trainer.train import make_optimizer  # noqa: E402


def make_mixture(folder: Path, vocab: int, seq_len: int, tokens: int = 400_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    flat = rng.integers(3, vocab, size=tokens).astype(np.uint16)
    meta = ShardMeta(vocab_size=vocab, bos_id=1, eos_id=2, tokenizer_sha256="0" * 64)
    w = ShardWriter(folder / "train-00000.arrow", meta)
    w.write(list(np.array_split(flat, 400)), ["syn"] * 400)
    w.close()
    (folder / "manifest.json").write_text(json.dumps({
        "seq_len": seq_len, "tokenizer": {"vocab_size": vocab, "path": None},
        "train": {"shards": [{"file": "train-00000.arrow"}]}, "validation": {"shards": []}}))
    return flat


def nanogpt_loop(flat: np.ndarray, cfg, batch: int, steps: int, lr: float, device: torch.device,
                 compile_model: bool) -> list[float]:
    """nanoGPT's train.py reduced to its core: random windows, forward, backward, clip, AdamW; on
    CUDA as nanoGPT runs there (bf16 autocast, fused AdamW, optional torch.compile)."""
    torch.manual_seed(0)
    model = GPT(cfg).to(device)
    cuda = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1, fused=cuda)
    fwd = torch.compile(model) if compile_model else model
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else nullcontext
    data, T, times = flat.astype(np.int64), cfg.seq_len, []
    for _ in range(steps):
        t0 = time.perf_counter()
        ix = np.random.randint(0, len(data) - T - 1, size=batch)
        x = torch.from_numpy(np.stack([data[i:i + T] for i in ix])).to(device, non_blocking=True)
        y = torch.from_numpy(np.stack([data[i + 1:i + 1 + T] for i in ix])).to(device, non_blocking=True)
        with autocast():
            _, loss = fwd(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()  # waits for the GPU, as our loop's metrics do
        times.append(time.perf_counter() - t0)
    return times


def _one_rank_group_env() -> None:
    """What torchrun --nproc_per_node 1 would set: the trainer then shards over a one-rank group."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: bf16 autocast, fused AdamW, MFU reported (GPT-2 124M: --preset gpt2 --seq-len 1024 "
                         "--vocab 50304 --batch 16 --compile)")
    ap.add_argument("--compile", action="store_true", help="torch.compile both models")
    ap.add_argument("--optimizer", default="adamw", choices=["adamw", "muon"], help="ours: the optimizer (Muon's overhead)")
    ap.add_argument("--speedrun-model", action="store_true", help="ours: qk_norm, relu2, zero_init (the peer keeps the plain model)")
    ap.add_argument("--parallel", default="none", choices=["none", "fsdp"],
                    help="ours: fsdp = FSDP2 over a one-rank process group (its hooks' and DTensors' cost on one device)")
    ap.add_argument("--vocab-multiple", type=int, default=1, help="ours: model.vocab_multiple (pad the vocabulary rows)")
    ap.add_argument("--no-peer", action="store_true", help="ours alone (the peer's figures from another run)")
    a = ap.parse_args()
    device = torch.device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    warm = min(5, a.steps // 3)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        flat = make_mixture(d, a.vocab, a.seq_len, tokens=max(400_000, 4 * a.batch * (a.seq_len + 1)))
        cfg = TrainConfig(data=str(d), output=str(d / "run"), model=ModelSpec(preset=a.preset, compile=a.compile, vocab_multiple=a.vocab_multiple,
                                                                        **(dict(qk_norm=True, mlp="relu2", zero_init=True)
                                                                           if a.speedrun_model else {})),
                          train=TrainSpec(steps=a.steps, global_batch_tokens=a.batch * a.seq_len,
                                          micro_batch_size=a.batch, eval_every=0, ckpt_every=0, tensorboard=False,
                                          warmup_steps=2, progress=False, cpu_threads=a.threads, device=a.device,
                                          optimizer=a.optimizer, parallel="fsdp" if a.parallel == "fsdp" else "ddp"))
        from corpusmill.trainer.train import train
        if a.parallel == "fsdp":
            _one_rank_group_env()
        train(cfg)
        metrics = read_metrics(d / "run" / "metrics.jsonl")
        rows = [r for r in metrics if r["kind"] == "train"][warm:]
        ours_parallel = next(r["parallel"] for r in metrics if r["kind"] == "start")  # what the trainer ran
        mconf = build_config(a.vocab, a.seq_len, a.preset)
        peer_t = [] if a.no_peer else nanogpt_loop(flat, mconf, a.batch, a.steps, 6e-4, device, a.compile)[warm:]
    tok = a.batch * a.seq_len
    ours_tps = statistics.median(r["tokens_per_s"] for r in rows)
    peer_tps = statistics.median(tok / t for t in peer_t) if peer_t else None
    out = {"bench": "train", "peer": "minimal nanoGPT-style loop", "device": a.device,
           "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "threads": torch.get_num_threads(), "preset": a.preset, "compile": a.compile, "batch": a.batch,
           "seq_len": a.seq_len, "steps": a.steps, "optimizer": a.optimizer, "speedrun_model": a.speedrun_model,
           "parallel": ours_parallel, "vocab": a.vocab, "vocab_multiple": a.vocab_multiple, "ours_tokens_per_s": round(ours_tps, 1),
           "peer_tokens_per_s": round(peer_tps, 1) if peer_tps else None,
           "ratio": round(ours_tps / peer_tps, 3) if peer_tps else None}
    if (peak := peak_flops(device)) is not None:  # the same FLOPs count for both loops
        fpt = GPT(mconf).flops_per_token()
        out.update(ours_mfu=round(statistics.median(r["mfu"] for r in rows), 4),
                   peer_mfu=round(fpt * peer_tps / peak, 4) if peer_tps else None,
                   peak_mem_gb=max(r.get("peak_mem_gb", 0) for r in rows))
    emit(out)


if __name__ == "__main__":
    main()
