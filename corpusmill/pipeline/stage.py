"""The stage protocol: a pydantic options model plus a function over a batch.

A stage annotates every row of the batch it is given (scores in columns, so users can
re-threshold without recomputing) and says, per row, why it would remove it (None keeps it).
The engine splits kept from removed, so a stage cannot lose a document: in = kept + removed.
Stages know nothing of Ray, of files or of other stages.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Generator

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
    """Base class. Subclasses set `name` and `Options`, implement `process`, and load what is heavy
    in `setup` (naming the attributes it sets in `loaded`). The engine validates the options once,
    builds each stage once in the driver and ships it to the workers; the base class runs `setup`
    once per process before the first `process` (however the stage is called), and leaves the
    `loaded` attributes out when the stage is pickled, so each worker loads its own."""

    name: ClassVar[str]
    Options: ClassVar[type[Strict]] = Strict
    # True for a stage that turns raw `content` bytes into `text` (extract); the engine checks
    # that inputs carrying raw content (WARC, ARC) are followed by one.
    produces_text: ClassVar[bool] = False
    # Attributes setup() sets that must not travel (fastText models, automata, compiled lists).
    loaded: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: Strict | dict[str, Any] | None = None):
        if not isinstance(options, Strict):
            options = self.Options.model_validate(options or {})
        self.options = options

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "process" in cls.__dict__:  # every stage's process runs setup first, once
            cls.process = _set_up_first(cls.__dict__["process"])

    def setup(self) -> None:
        """Load models and other heavy state; runs once per process, before the first batch."""

    def prepare(self) -> dict | None:
        """Build, once in the driver before the workers start, read-only state they all share (kept
        out of `loaded`: numpy arrays travel once through Ray's object store and are read in place).
        Returns facts for stats.json (stages.NAME.prepared), or None."""
        return None

    def check(self, out_root: str) -> None:
        """Raise a ConfigError for what is wrong before any work starts (an input this stage reads
        that is missing or unfinished); out_root: the build's output folder."""

    def lineage(self, out_root: str, stage_stats: dict) -> list[dict]:
        """What this stage read besides the build's inputs, for the build's manifest (`corpus
        lineage`): [{kind, name, path, fingerprint or sha256}]; stage_stats: stats.json's entry."""
        return []

    def ensure_setup(self) -> None:
        if not self.__dict__.get("_set_up"):
            self.setup()
            self._set_up = True

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self.loaded and k != "_set_up"}

    def process(self, batch: pa.Table) -> Decision:
        raise NotImplementedError

    def notices(self) -> list[str]:
        """Things the user should know about these options (a changed default), logged once per build."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"


def _set_up_first(process: Callable) -> Callable:
    @functools.wraps(process)
    def run(self: "Stage", batch: pa.Table) -> Decision:
        self.ensure_setup()
        return process(self, batch)
    return run


@dataclass
class Phase:
    """One step of a global stage: fn(*shared, *unit) for every unit, one CPU each, spread over the
    workers. fn is a module-level function over plain values that reads and writes files only and
    records its result last (a marker): `finished(*unit)` returns that record or None, so a re-run
    after a crash redoes only the units that had not finished."""
    name: str
    fn: Callable[..., dict]
    units: list[tuple]
    shared: tuple = ()
    finished: Callable[..., dict | None] | None = None


class GlobalStage(Stage):
    """A stage that needs every document at once (deduplication). It runs after the per-part
    stages, over OUT/documents/part-*.parquet, on the Ray the build runs on, and keeps its own
    resumable state under OUT/_state/<name>/. It rewrites documents/ in place (atomically, part
    by part) and writes what it removes to OUT/removed/<name>/, with `stage` and `reason`.
    Global stages come after every per-part stage in the config."""

    scope: ClassVar[str] = "global"

    def process(self, batch: pa.Table) -> Decision:  # pragma: no cover - never called per batch
        raise TypeError(f"{self.name} is a global stage: the engine runs its phases")

    def phases(self, out_root: str, part_ids: list[str], num_workers: int) -> Generator[Phase, list[dict], dict]:
        """Yields its phases one at a time; the engine runs each phase's units on the workers and sends
        back their results in unit order (a phase may depend on the one before: its units, whether
        another round is needed). Returns {"stage": counts, "sources": {source: counts}, "parts":
        {part: counts}}, counts shaped as accounting.StageCounts.to_dict(); the engine adds
        `seconds` per phase."""
        raise NotImplementedError
        yield  # noqa: unreachable - makes this a generator

    def planned_parts(self, out_root: str) -> list[str] | None:
        """The parts an earlier (finished or partial) run of this stage worked over; None if none."""
        return None

    def undo(self, out_root: str) -> None:
        """Put documents/ back as it was before this stage and forget its state and removed/ files:
        the engine calls it when the parts changed (inputs added or gone), then runs the stage again."""
        raise NotImplementedError
