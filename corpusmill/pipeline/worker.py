"""Runs one part: read records, push batches through the stages, write kept and removed rows.

Knows nothing of Ray: the runner wraps it in an actor. Everything a part writes goes to temp
names first and is renamed when the part is complete; the part's marker is written last, so a
part either counts as done with all its files or is redone from scratch.
"""
from __future__ import annotations

import time
import traceback

import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.pipeline import annotate
from corpusmill.pipeline.accounting import Problems, StageCounts
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.output import Output, PartFiles
from corpusmill.pipeline.parts import Part, file_signature, reader_for
from corpusmill.pipeline.registry import build_stages
from corpusmill.pipeline.schema import for_output, to_batch
from corpusmill.pipeline.stage import GlobalStage, Stage

INGEST, FINAL = "ingest", "output"


class PartProcessor:
    """One per worker. Gets the validated config and the per-part stages the driver built (options
    validated once, there); loads the stages' models once, here."""

    def __init__(self, cfg: BuildConfig, stages: list[Stage] | None = None):
        self.cfg = cfg
        self.specs = {s.name: s for s in self.cfg.inputs}
        if stages is None:
            stages = build_stages(self.cfg.stages)
        self.stages: list[Stage] = [s for s in stages if not isinstance(s, GlobalStage)]
        self.annotating = cfg.mode == "annotate"
        if self.annotating:
            annotate.check(cfg, self.stages)
        self.first_deciding = annotate.first_deciding(self.stages) if self.annotating else len(self.stages)
        for stage in self.stages:
            stage.ensure_setup()
        self.output = Output(self.cfg.output)
        self.columns: dict[str, list[str]] = {}  # annotate: the columns after each recorded stage (first batch)

    def run(self, part_dict: dict) -> dict:
        part = Part(**part_dict)
        files = PartFiles(self.output, part.part_id)
        try:
            stats = self._run(part, files)
        except Exception as e:  # a bug must not end the whole build: report the part as failed
            files.abort()
            return {"part": part.part_id, "source": part.source, "file": part.path,
                    "failed": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-2000:]}
        files.commit(stats)
        return stats

    def _run(self, part: Part, files: PartFiles) -> dict:
        t0 = time.perf_counter()
        signature = file_signature(part.path)
        spec = self.specs[part.source]
        counts = {name: StageCounts() for name in [INGEST, *(s.name for s in self.stages), FINAL]}
        problems, skipped = Problems(), {}
        self.columns = {}
        buf: list[dict] = []
        taken = 0
        for item in reader_for(spec, part.format).read(part, spec):
            if isinstance(item, dict):
                if part.limit is not None and taken >= part.limit:
                    break  # --limit: the records before this one are the part's share
                taken += 1
                buf.append(item)
                if len(buf) >= self.cfg.batch_size:
                    self._batch(buf, counts, files)
                    buf = []
            elif hasattr(item, "reason"):
                problems.add(item.reason, item.position, item.detail)
            else:
                skipped[item.kind] = skipped.get(item.kind, 0) + 1
        if buf:
            self._batch(buf, counts, files)
        stage_dicts = {name: c.to_dict() for name, c in counts.items()}
        docs_in = stage_dicts[INGEST]["in"]
        kept = stage_dicts[FINAL]["kept"]
        removed = sum(d["removed"] for d in stage_dicts.values())
        if docs_in != kept + removed:  # cannot happen by construction; refuse to write if it does
            raise AssertionError(f"accounting broken: in {docs_in} != kept {kept} + removed {removed}")
        return {"part": part.part_id, **part.to_dict(), "input_signature": signature,
                "documents_in": docs_in, "kept": kept,
                "removed": removed, "stages": stage_dicts, "problems": problems.to_list(part.path),
                "skipped_records": dict(sorted(skipped.items())),
                "seconds": round(time.perf_counter() - t0, 3),
                **({"annotate": {"columns": self.columns}} if self.annotating else {})}

    def _batch(self, records: list[dict], counts: dict[str, StageCounts], files: PartFiles) -> None:
        ingest_reasons = [r.pop("_removed") for r in records]
        table = to_batch(records)
        table = self._apply(INGEST, table, ingest_reasons, counts, files)
        for k, stage in enumerate(self.stages):
            if table.num_rows == 0:
                return
            decision = stage.process(table)
            out, reasons, counters = decision.table, decision.reasons, decision.counters
            if k >= self.first_deciding:  # annotate: decide nothing away, keep the replaced text
                out = annotate.record(stage, table, out, reasons)
                reasons, counters = [None] * len(reasons), {} if stage.decides() else counters
                self.columns.setdefault(stage.name, annotate.visible_columns(out))
            counts[stage.name].add_counters(counters)
            table = self._apply(stage.name, out, reasons, counts, files)
        if table.num_rows:
            text = table.column("text")
            empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), True).to_pylist()
            reasons = [None] * len(empty) if self.annotating else ["empty_text" if e else None for e in empty]
            table = self._apply(FINAL, table, reasons, counts, files)
        if table.num_rows:
            self._write_documents(for_output(table), files)

    def _write_documents(self, table: pa.Table, files: PartFiles) -> None:
        col = self.cfg.partition_by
        if not col:
            files.write("documents", table)
            return
        if col not in table.column_names:
            raise ValueError(f"partition_by: no column {col!r} in the documents (columns: {table.column_names})")
        values = table.column(col).to_pylist()
        for value in sorted(set(values), key=lambda v: (v is None, str(v))):
            mask = pa.array([v == value if value is not None else v is None for v in values])
            safe = "unknown" if value is None else str(value).replace("/", "_")
            files.write(f"documents/{col}={safe}", table.filter(mask))

    @staticmethod
    def _apply(stage: str, table: pa.Table, reasons: list[str | None], counts: dict[str, StageCounts],
               files: PartFiles) -> pa.Table:
        counts[stage].add(table, reasons)
        removed_mask = pa.array([r is not None for r in reasons], pa.bool_())
        if not any(removed_mask.to_pylist()):
            return table
        removed = table.filter(removed_mask)
        removed = removed.append_column("stage", pa.array([stage] * removed.num_rows, pa.string()))
        removed = removed.append_column("reason", pa.array([r for r in reasons if r is not None], pa.string()))
        files.write(f"removed/{stage}", for_output(removed))
        return table.filter(pc.invert(removed_mask))
