"""The stage protocol: a pydantic options model plus a function over a batch.

A stage annotates every row of the batch it is given (scores in columns, so users can
re-threshold without recomputing) and says, per row, why it would remove it (None keeps it).
The engine splits kept from removed, so a stage cannot lose a document: in = kept + removed.
Stages know nothing of Ray, of files or of other stages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from corpusmill.common.config import Strict


@dataclass
class Decision:
    table: pa.Table  # every input row, in input order, with this stage's annotation columns added
    reasons: list[str | None]  # per row: None keeps it, a short reason string removes it
    # counts to sum into stats.json under stages.NAME.counters: {counter: {key: n}}, e.g. removals per word
    counters: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.reasons) != self.table.num_rows:
            raise ValueError(f"stage returned {len(self.reasons)} reasons for {self.table.num_rows} rows")


class Stage:
    """Base class. Subclasses set `name` and `Options`, and implement `process`."""

    name: ClassVar[str]
    Options: ClassVar[type[Strict]] = Strict
    # True for a stage that turns raw `content` bytes into `text` (extract); the engine checks
    # that inputs carrying raw content (WARC, ARC) are followed by one.
    produces_text: ClassVar[bool] = False

    def __init__(self, options: Strict | dict[str, Any] | None = None):
        if not isinstance(options, Strict):
            options = self.Options.model_validate(options or {})
        self.options = options

    def setup(self) -> None:
        """Load models and other heavy state; called once per worker, before the first batch."""

    def process(self, batch: pa.Table) -> Decision:
        raise NotImplementedError

    def notices(self) -> list[str]:
        """Things the user should know about these options (a changed default), logged once per build."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


class GlobalStage(Stage):
    """A stage that needs every document at once (deduplication). It runs after the per-part
    stages, over OUT/documents/part-*.parquet, on the Ray the build runs on, and keeps its own
    resumable state under OUT/_state/<name>/. It rewrites documents/ in place (atomically, part
    by part) and writes what it removes to OUT/removed/<name>/, with `stage` and `reason`.
    Global stages come after every per-part stage in the config."""

    scope: ClassVar[str] = "global"

    def process(self, batch: pa.Table) -> Decision:  # pragma: no cover - never called per batch
        raise TypeError(f"{self.name} is a global stage: the engine calls run_global")

    def run_global(self, out_root: str, part_ids: list[str], num_workers: int) -> dict:
        """Returns {"stage": counts, "sources": {source: counts}}, counts shaped as
        accounting.StageCounts.to_dict() (in, kept, removed, removed_by_reason, bytes...)."""
        raise NotImplementedError

    def planned_parts(self, out_root: str) -> list[str] | None:
        """The parts an earlier (finished or partial) run of this stage worked over; None if none."""
        return None

    def undo(self, out_root: str) -> None:
        """Put documents/ back as it was before this stage and forget its state and removed/ files:
        the engine calls it when the parts changed (inputs added or gone), then runs the stage again."""
        raise NotImplementedError
