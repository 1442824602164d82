"""Will the run fit? An estimate before the first step, so a configuration that cannot fit in RAM or
GPU memory is refused with the numbers instead of being killed (or swapping) minutes later.

    weights + gradients + AdamW moments: 16 bytes per parameter (fp32), divided by the ranks under FSDP
    activations per micro batch: n_layer * B * T * (34 d + 5 heads T) bytes at 2 bytes per value
        (Korthikanti et al. 2022, no recomputation), doubled for fp32 on CPU; on CUDA SDPA's fused
        kernels never store the T x T scores, so the 5 heads T term is left out there
    logits and their gradient: 2 * B * T * vocab * 4 bytes
"""
from __future__ import annotations

import torch

from corpusmill.common.config import ConfigError

HEADROOM = 0.9  # of what the device has free


def estimate_bytes(cfg, n_params: int, micro: int, world: int, fsdp: bool, device: torch.device) -> dict[str, int]:
    per_value = 1.0 if device.type == "cuda" else 2.0  # bf16 autocast on CUDA, fp32 on CPU (x the 2-byte formula)
    T, d = cfg.seq_len, cfg.d_model
    scores = 0 if device.type == "cuda" else 5 * cfg.n_head * T
    layers = cfg.n_layer * (2 if getattr(cfg, "objective", "causal") == "span" else 1)  # span: encoder + decoder
    return {"weights_and_optimizer": int(16 * n_params / (world if fsdp else 1)),
            "activations": int(layers * micro * T * (34 * d + scores) * per_value),
            "logits": int(2 * micro * T * cfg.vocab_size * 4)}


def available_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def check_fits(cfg, n_params: int, micro: int, world: int, fsdp: bool, device: torch.device) -> dict[str, int]:
    need = estimate_bytes(cfg, n_params, micro, world, fsdp, device)
    free = available_bytes(device)
    total = sum(need.values())
    if free is not None and total > HEADROOM * free:
        parts = ", ".join(f"{k.replace('_', ' ')} {v / 2**30:.2f}" for k, v in need.items())
        raise ConfigError(f"this run needs about {total / 2**30:.1f} GiB per rank ({parts} GiB; {n_params:,} "
                          f"parameters, micro batch {micro} x seq_len {cfg.seq_len}) but {device} has "
                          f"{free / 2**30:.1f} GiB free: lower train.micro_batch_size or seq_len, use a smaller "
                          "model, or shard it (train.parallel: fsdp under torchrun)")
    return need
