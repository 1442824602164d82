"""Back-of-envelope compute plan: 6ND training FLOPs (Kaplan), Chinchilla-optimal tokens (~20 per
parameter, Hoffmann et al. 2022) and wall time at a given MFU."""
from __future__ import annotations

from corpusmill.trainer.metrics import PEAK_FLOPS

CHINCHILLA_TOKENS_PER_PARAM = 20


def plan(params: float, tokens: float | None = None, gpus: int = 1, mfu: float = 0.4, gpu: str = "h100") -> dict:
    key = gpu.upper()
    if key not in PEAK_FLOPS:
        raise ValueError(f"unknown gpu {gpu!r}; known: {sorted(k.lower() for k in PEAK_FLOPS)}")
    if not 0 < mfu <= 1:
        raise ValueError("mfu must be in (0, 1]")
    optimal = CHINCHILLA_TOKENS_PER_PARAM * params
    tokens = optimal if tokens is None else tokens
    flops = 6 * params * tokens
    seconds = flops / (PEAK_FLOPS[key] * mfu * gpus)
    return {"params": params, "tokens": tokens, "flops": flops, "chinchilla_tokens": optimal,
            "tokens_per_param": tokens / params, "gpus": gpus, "gpu": gpu.lower(), "mfu": mfu,
            "peak_flops_per_gpu": PEAK_FLOPS[key], "seconds": seconds, "hours": seconds / 3600,
            "gpu_hours": seconds * gpus / 3600}


def parse_count(text: str) -> float:
    """124M, 1.3B, 2e9, 300_000 -> a number."""
    t = text.strip().replace("_", "").upper()
    mult = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
    return float(t[:-1]) * mult[t[-1]] if t and t[-1] in mult else float(t)
