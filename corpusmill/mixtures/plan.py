"""Weights to per-source token quotas. A source with more tokens than its quota is downsampled
(a deterministic sample); one with fewer is repeated, up to max_epochs; when that cap binds, the
plan fails or gives the missing share to the others in proportion to their weights, as
configured. The realised shares are reported either way."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from corpusmill.common.config import ConfigError


@dataclass
class SourcePlan:
    name: str
    weight: float
    available_tokens: int  # training tokens the source has (after the validation hold-out)
    quota_tokens: int = 0
    epochs: float = 0.0
    capped: bool = False
    share: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def plan_quotas(weights: dict[str, float], available: dict[str, int], max_epochs: dict[str, float | None],
                total_tokens: int, on_cap: str = "renormalize") -> list[SourcePlan]:
    plans = {n: SourcePlan(n, w, available[n]) for n, w in weights.items()}
    for p in plans.values():
        if p.available_tokens <= 0:
            raise ConfigError(f"source {p.name} has no tokens")
    capped: dict[str, int] = {}
    while True:  # water-filling: fix the sources whose cap binds, share the rest again
        free = [n for n in plans if n not in capped]
        budget = total_tokens - sum(capped.values())
        wsum = sum(plans[n].weight for n in free)
        newly = {}
        for n in free:
            cap = _cap(plans[n], max_epochs.get(n))
            want = budget * plans[n].weight / wsum if wsum else 0
            if cap is not None and want > cap:
                newly[n] = cap
        if not newly:
            break
        if on_cap == "fail":
            n = next(iter(newly))
            raise ConfigError(f"source {n}: its share needs {total_tokens * plans[n].weight:,.0f} tokens but "
                              f"max_epochs {max_epochs[n]} allows {newly[n]:,} (set on_cap: renormalize)")
        capped.update(newly)
        if len(capped) == len(plans):
            break
    free = [n for n in plans if n not in capped]
    budget = total_tokens - sum(capped.values())
    wsum = sum(plans[n].weight for n in free)
    for n, p in plans.items():
        p.capped = n in capped
        p.quota_tokens = capped[n] if p.capped else round(budget * p.weight / wsum)
        p.epochs = p.quota_tokens / p.available_tokens
    total = sum(p.quota_tokens for p in plans.values())
    for p in plans.values():
        p.share = p.quota_tokens / total if total else 0.0
    return list(plans.values())


def plan_phases(phases: list[tuple[float, dict[str, float]]], available: dict[str, int],
                max_epochs: dict[str, float | None], total_tokens: int, on_cap: str = "renormalize") -> list[list[SourcePlan]]:
    """One plan per phase ((until, weights) in order) over its share of total_tokens, each planned like
    a mixture; max_epochs counts across phases (what earlier phases used is gone from a source's cap)."""
    used = dict.fromkeys(available, 0)
    plans, start = [], 0
    for until, weights in phases:
        end = round(until * total_tokens)
        left = {n: None if max_epochs.get(n) is None else max(0.0, max_epochs[n] - used[n] / available[n])
                for n in weights}
        phase = plan_quotas(weights, {n: available[n] for n in weights}, left, end - start, on_cap)
        for p in phase:
            used[p.name] += p.quota_tokens
        plans.append(phase)
        start = end
    return plans


def combined(phases: list[list[SourcePlan]], available: dict[str, int]) -> list[SourcePlan]:
    """Per source over all phases: tokens, epochs, capped anywhere; weight = its share of the whole."""
    total = sum(p.quota_tokens for phase in phases for p in phase) or 1
    out = {n: SourcePlan(n, 0.0, a) for n, a in available.items()}
    for phase in phases:
        for p in phase:
            o = out[p.name]
            o.quota_tokens += p.quota_tokens
            o.capped = o.capped or p.capped
    for o in out.values():
        o.weight = o.share = o.quota_tokens / total
        o.epochs = o.quota_tokens / o.available_tokens if o.available_tokens else 0.0
    return list(out.values())


def _cap(p: SourcePlan, max_epochs: float | None) -> int | None:
    return None if max_epochs is None else int(p.available_tokens * max_epochs)


def format_plan(plans: list[SourcePlan], total_tokens: int) -> str:
    """A LLaMA-paper-style table: source, weight, realised share, epochs, tokens."""
    rows = [("source", "weight", "share", "epochs", "tokens", "available", "")]
    for p in plans:
        rows.append((p.name, f"{p.weight:.1%}", f"{p.share:.2%}", f"{p.epochs:.2f}", f"{p.quota_tokens:,}",
                     f"{p.available_tokens:,}", "capped" if p.capped else ""))
    rows.append(("total", "", "", "", f"{sum(p.quota_tokens for p in plans):,}", "",
                 f"asked {total_tokens:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
