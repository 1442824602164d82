"""Counting what each stage saw, kept and removed, and what readers could not read."""
from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.compute as pc

MAX_EXAMPLES = 5


def text_bytes(table: pa.Table) -> pa.Array:
    """UTF-8 bytes per row: of `text`, or of the raw `content` while there is no text yet."""
    nbytes = pc.fill_null(pc.binary_length(table.column("text")), 0)
    if "content" in table.column_names:
        raw = pc.fill_null(pc.binary_length(table.column("content")), 0)
        nbytes = pc.if_else(pc.is_null(table.column("text")), raw, nbytes)
    return nbytes


class StageCounts:
    def __init__(self) -> None:
        self.docs_in = 0
        self.bytes_in = 0
        self.removed: Counter[str] = Counter()
        self.bytes_removed: Counter[str] = Counter()
        self.counters: dict[str, Counter[str]] = defaultdict(Counter)  # a stage's own (Decision.counters)

    def add_counters(self, counters: dict[str, dict[str, int]]) -> None:
        for name, counts in counters.items():
            self.counters[name].update(counts)

    def add(self, table: pa.Table, reasons: list[str | None]) -> None:
        nbytes = text_bytes(table).to_pylist()
        self.docs_in += table.num_rows
        self.bytes_in += sum(nbytes)
        for r, b in zip(reasons, nbytes):
            if r is not None:
                self.removed[r] += 1
                self.bytes_removed[r] += b

    def to_dict(self) -> dict:
        removed = sum(self.removed.values())
        return {"in": self.docs_in, "kept": self.docs_in - removed, "removed": removed,
                "removed_by_reason": dict(sorted(self.removed.items())),
                "bytes_in": self.bytes_in, "bytes_removed": sum(self.bytes_removed.values()),
                "bytes_removed_by_reason": dict(sorted(self.bytes_removed.items())),
                **({"counters": _sorted_counters(self.counters)} if self.counters else {})}


def _sorted_counters(counters: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Most frequent first (ties by key): stats.json reads top-down."""
    return {name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for name, c in sorted(counters.items())}


class Problems:
    """Unreadable input, per reason: a count and the first few positions."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.examples: dict[str, list[dict]] = defaultdict(list)

    def add(self, reason: str, position: str, detail: str) -> None:
        self.count[reason] += 1
        if len(self.examples[reason]) < MAX_EXAMPLES:
            self.examples[reason].append({"position": position, "detail": detail})

    def to_list(self, file: str) -> list[dict]:
        return [{"file": file, "reason": r, "count": n, "examples": self.examples[r]}
                for r, n in sorted(self.count.items())]


def merge_stage_dicts(into: dict, stages: dict) -> None:
    """Add per-stage count dicts (as StageCounts.to_dict makes them) into `into`."""
    for name, s in stages.items():
        d = into.setdefault(name, {"in": 0, "kept": 0, "removed": 0, "removed_by_reason": {},
                                   "bytes_in": 0, "bytes_removed": 0, "bytes_removed_by_reason": {}})
        for k in ("in", "kept", "removed", "bytes_in", "bytes_removed"):
            d[k] += s[k]
        for k in ("removed_by_reason", "bytes_removed_by_reason"):
            for reason, n in s[k].items():
                d[k][reason] = d[k].get(reason, 0) + n
        if s.get("counters"):
            merged: dict[str, Counter[str]] = defaultdict(Counter)
            for src in (d.get("counters", {}), s["counters"]):
                for counter, counts in src.items():
                    merged[counter].update(counts)
            d["counters"] = _sorted_counters(merged)
