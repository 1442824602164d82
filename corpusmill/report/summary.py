"""The numbers a report takes straight from stats.json: funnel, removal reasons, dedup clusters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MAX_REASONS = 40  # bars in the removal-reasons chart; the rest are summed into one "other" bar


@dataclass
class FunnelStep:
    stage: str
    docs_in: int
    kept: int
    removed: int
    bytes_in: int
    bytes_removed: int


@dataclass
class Reason:
    stage: str
    reason: str
    count: int
    bytes: int


def funnel(stats: dict) -> list[FunnelStep]:
    """One step per stage, in the order the build ran them (ingest, ..., output, global stages)."""
    return [FunnelStep(name, s["in"], s["kept"], s["removed"], s.get("bytes_in", 0), s.get("bytes_removed", 0))
            for name, s in stats["stages"].items()]


def removal_reasons(stats: dict, limit: int = MAX_REASONS) -> list[Reason]:
    """Every (stage, reason) that removed something, in stage order and by count within a stage;
    past `limit`, the smallest are summed into one ("other", "N more reasons") row."""
    rows = []
    for name, s in stats["stages"].items():
        by_bytes = s.get("bytes_removed_by_reason", {})
        for reason, n in sorted(s["removed_by_reason"].items(), key=lambda kv: (-kv[1], kv[0])):
            if n:
                rows.append(Reason(name, reason, n, by_bytes.get(reason, 0)))
    if len(rows) <= limit:
        return rows
    keep = set(map(id, sorted(rows, key=lambda r: -r.count)[:limit - 1]))
    rest = [r for r in rows if id(r) not in keep]
    return [r for r in rows if id(r) in keep] + [
        Reason("other", f"{len(rest)} more reasons", sum(r.count for r in rest), sum(r.bytes for r in rest))]


def dedup_clusters(stats: dict) -> dict[str, dict]:
    """{stage: {"count", "documents", "largest", "sizes": [(label, clusters)]}} for each stage that
    reports duplicate clusters (dedup); sizes ordered by size ("2", "3-4", "5-8", ...)."""
    out = {}
    for name, s in stats["stages"].items():
        c = s.get("clusters")
        if isinstance(c, dict):
            sizes = sorted((c.get("sizes") or {}).items(), key=lambda kv: int(str(kv[0]).split("-")[0]))
            out[name] = {"count": c.get("count", 0), "documents": c.get("documents", 0),
                         "largest": c.get("largest", 0), "sizes": [(str(k), int(v)) for k, v in sizes]}
    return out


def first_filter_stage(stage_order: list[str], produces_text: Callable[[str], bool]) -> str | None:
    """The first stage that sees documents with their text: the first after ingest and the
    text-producing stages (extract) that lead the list. Stops asking at the first that is not one,
    so only the leading stages are looked up."""
    for name in stage_order:
        if name != "ingest" and not produces_text(name):
            return name
    return None


@dataclass
class BadWord:
    word: str
    documents: int  # documents that held it (kept or removed), among those the stage checked
    removed: int  # documents removed for bad words that held it


def badwords(stats: dict, stage: str = "sensitive", limit: int = 25) -> list[BadWord] | None:
    """The listed words behind bad-word removals, most removals first (then most documents);
    None where the stage did not look for bad words."""
    counters = stats["stages"].get(stage, {}).get("counters") or {}
    seen = counters.get("badwords.documents_by_word")
    if seen is None:
        return None
    removed = counters.get("badwords.removed_by_word") or {}
    rows = [BadWord(w, n, removed.get(w, 0)) for w, n in seen.items()]
    return sorted(rows, key=lambda r: (-r.removed, -r.documents, r.word))[:limit]
