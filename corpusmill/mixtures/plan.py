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
