"""`mode: annotate` (dolma's taggers): every per-document stage annotates every document and removes
nothing, so `corpus select` can decide later, for any thresholds, what a build would have decided.

From the first stage that decides (has `Stage.decide`) on, a stage's removals are ignored and its
text changes are recorded: `_text_before.STAGE` holds the text the stage was given where it changed
it (null elsewhere), so select can give a document removed at any stage the text a build would have
written for it. A stage that removes documents without a `decide` must come before the first that
decides (extract does): its removals are final whatever the thresholds. Global stages (dedup) do
not run; select runs them on what it keeps.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.common.config import ConfigError
from corpusmill.pipeline.stage import GlobalStage, Stage

TEXT_BEFORE = "_text_before."
HIDDEN = ("content",)


def first_deciding(stages: list[Stage]) -> int:
    """Index of the first per-document stage with a decide(); len(stages) when none has one."""
    return next((i for i, s in enumerate(stages) if s.decides()), len(stages))


def check(cfg, stages: list[Stage]) -> list[Stage]:
    """The per-document stages of an annotate build, flagged as annotating."""
    if cfg.partition_by:
        raise ConfigError("mode: annotate cannot be combined with partition_by: `corpus select` reads one file per "
                          "part; partition the selected output in a second build")
    local = [s for s in stages if not isinstance(s, GlobalStage)]
    if first_deciding(local) == len(local):
        raise ConfigError("mode: annotate: no stage in `stages` has thresholds to re-apply (length, langid, quality, "
                          "classifier, sensitive have); use a plain build")
    for s in local[first_deciding(local):]:  # known before any work: a stage set to remove, without decide()
        if not s.decides() and getattr(s.options, "mode", None) == "remove":
            raise ConfigError(f"mode: annotate: stage {s.name} (mode: remove) comes after a stage with thresholds but "
                              "cannot re-decide its removals from annotations; put it before the first stage with "
                              f"thresholds, or give it `mode: annotate`")
    for s in local:
        s.annotating = True
    return local


def record(stage: Stage, before: pa.Table, after: pa.Table, reasons: list[str | None]) -> pa.Table:
    """After an annotating stage at or past the first that decides: refuse a removal select could
    not re-decide, and keep the text the stage replaced."""
    if not stage.decides() and any(r is not None for r in reasons):
        n = sum(r is not None for r in reasons)
        raise ConfigError(f"mode: annotate: stage {stage.name} removed {n} documents but cannot re-decide them from "
                          "annotations (it has no decide()); put it before the first stage with thresholds, or "
                          "give it a mode that only annotates")
    old, new = before.column("text"), after.column("text")
    same = pc.or_(pc.fill_null(pc.equal(old, new), False), pc.and_(pc.is_null(old), pc.is_null(new)))
    kept_text = pc.if_else(same, pa.scalar(None, old.type), old)
    return after.append_column(f"{TEXT_BEFORE}{stage.name}", kept_text)


def visible_columns(table: pa.Table) -> list[str]:
    """The columns a build would carry at this point (what select projects a removed row to)."""
    return [c for c in table.column_names if not c.startswith(TEXT_BEFORE) and c not in HIDDEN]


def text_after(table: pa.Table, tail: list[str], k: int) -> pa.ChunkedArray:
    """The text a document had after tail[k] (tail: the recorded stages, in order): the text the next
    stage that changed it was given, else the final text. Columns with no value are skipped (most
    stages change no text), so this usually returns the text column itself, uncopied."""
    later = [c for c in (table.column(f"{TEXT_BEFORE}{name}") for name in tail[k + 1:]) if c.null_count < len(c)]
    return pc.coalesce(*later, table.column("text")) if later else table.column("text")
