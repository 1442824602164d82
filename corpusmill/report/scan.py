"""One pass over the Parquet files of a build output, reading only the columns a chart needs:
text lengths (before the first filter and after the last), languages and PII counts.

Memory stays bounded: files are read row group by row group in batches. Text is the one costly
column; past `max_docs` documents the lengths are measured on whole row groups picked in a fixed
hash order (deterministic: the same output gives the same sample), and the page says so.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusmill.report.source import PSEUDO_STAGES, BuildOutput
from corpusmill.report.summary import first_filter_stage

# Character-length bins: [EDGES[i], EDGES[i+1]), the last one open. 0 holds empty (or absent) text.
LENGTH_EDGES = (0, *(m * 10 ** e for e in range(8) for m in (1, 2, 5)))
PII_PREFIX = "sensitive.pii."
BATCH_ROWS = 2048


@dataclass
class Lengths:
    first_stage: str | None  # the stage whose input is "before"
    before: list[int]  # documents per bin of LENGTH_EDGES
    after: list[int]
    rows_before: int  # documents in each set (from the Parquet metadata)
    rows_after: int
    measured_before: int = 0  # of which measured (all unless sampled)
    measured_after: int = 0
    edges: tuple[int, ...] = LENGTH_EDGES

    @property
    def sampled(self) -> bool:
        return self.measured_before < self.rows_before or self.measured_after < self.rows_after


@dataclass
class Languages:
    kept: Counter = field(default_factory=Counter)  # lang -> kept documents
    removed: Counter = field(default_factory=Counter)  # lang -> removed documents that had a label
    unlabelled_kept: int = 0

    @property
    def labelled(self) -> bool:
        return bool(self.kept or self.removed)


@dataclass
class Pii:
    kinds: list[str] = field(default_factory=list)  # kinds looked for (a non-null count somewhere)
    matches: dict[str, Counter] = field(default_factory=lambda: {"kept": Counter(), "removed": Counter()})
    documents: dict[str, Counter] = field(default_factory=lambda: {"kept": Counter(), "removed": Counter()})
    scanned: Counter = field(default_factory=Counter)  # "kept"/"removed" -> documents PII was looked for in


@dataclass
class Scan:
    lengths: Lengths
    languages: Languages
    pii: Pii


def scan(build: BuildOutput, max_docs: int = 300_000) -> Scan:
    order = build.stage_order
    first = first_filter_stage(order, _produces_text)
    before_stages = order[order.index(first):] if first else []
    files = [(p, "kept") for p in build.documents]
    files += [(p, "removed") for stage in before_stages for p in build.removed.get(stage, [])]
    other = [(p, "removed") for stage, ps in build.removed.items() if stage not in before_stages for p in ps]
    meta = {p: pq.read_metadata(p) for p, _ in files + other}  # footers only: no file stays open
    sample = _pick_row_groups(build.root, files, meta, max_docs)
    lengths = Lengths(first, [0] * len(LENGTH_EDGES), [0] * len(LENGTH_EDGES),
                      rows_before=sum(meta[p].num_rows for p, _ in files),
                      rows_after=sum(meta[p].num_rows for p, k in files if k == "kept"))
    langs, pii = Languages(), Pii()
    for path, kind in files + other:
        names = meta[path].schema.to_arrow_schema().names
        small = [c for c in names if c == "lang" or c.startswith(PII_PREFIX)]
        rgs = range(meta[path].num_row_groups)
        if not small and not any((path, rg) in sample for rg in rgs):
            continue
        with pq.ParquetFile(path, metadata=meta[path]) as pf:
            for rg in rgs:
                measure = (path, rg) in sample
                cols = small + (["text"] if measure and "text" in names else [])
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[rg], columns=cols):
                    if measure:
                        _count_lengths(batch, lengths, kind)
                    if "lang" in batch.schema.names:
                        _count_langs(batch.column("lang"), langs, kind)
                    _count_pii(batch, pii, kind)
    pii.kinds = sorted(pii.kinds)
    return Scan(lengths, langs, pii)


def _pick_row_groups(root: Path, files: list, meta: dict, max_docs: int) -> set[tuple[Path, int]]:
    """Every row group of the before set when it holds at most max_docs documents; else whole row
    groups in a fixed hash order until max_docs documents are covered."""
    all_rgs = [(p, rg, meta[p].row_group(rg).num_rows) for p, _ in files for rg in range(meta[p].num_row_groups)]
    if sum(n for *_, n in all_rgs) <= max_docs:
        return {(p, rg) for p, rg, _ in all_rgs}

    def key(item: tuple) -> bytes:
        return hashlib.blake2b(f"{item[0].relative_to(root)}#{item[1]}".encode(), digest_size=8).digest()

    picked, rows = set(), 0
    for p, rg, n in sorted(all_rgs, key=key):
        if rows >= max_docs:
            break
        picked.add((p, rg))
        rows += n
    return picked


def _count_lengths(batch, lengths: Lengths, kind: str) -> None:
    if "text" in batch.schema.names:
        chars = pc.fill_null(pc.utf8_length(batch.column("text")), 0).to_numpy(zero_copy_only=False)
    else:
        chars = np.zeros(batch.num_rows, np.int64)
    bins = np.bincount(np.searchsorted(LENGTH_EDGES, chars, side="right") - 1, minlength=len(LENGTH_EDGES))
    lengths.before = [a + int(b) for a, b in zip(lengths.before, bins)]
    lengths.measured_before += batch.num_rows
    if kind == "kept":
        lengths.after = [a + int(b) for a, b in zip(lengths.after, bins)]
        lengths.measured_after += batch.num_rows


def _count_langs(col, langs: Languages, kind: str) -> None:
    for item in pc.value_counts(col).to_pylist():
        lang, n = item["values"], item["counts"]
        if lang is not None:
            (langs.kept if kind == "kept" else langs.removed)[lang] += n
        elif kind == "kept":
            langs.unlabelled_kept += n


def _count_pii(batch, pii: Pii, kind: str) -> None:
    looked = None
    for name in batch.schema.names:
        if not name.startswith(PII_PREFIX):
            continue
        col = batch.column(name)
        if col.null_count == len(col):
            continue  # this kind was switched off
        k = name[len(PII_PREFIX):]
        if k not in pii.kinds:
            pii.kinds.append(k)
        pii.matches[kind][k] += int(pc.sum(col).as_py() or 0)
        pii.documents[kind][k] += int(pc.sum(pc.greater(col, 0)).as_py() or 0)
        valid = pc.is_valid(col)
        looked = valid if looked is None else pc.or_(looked, valid)
    if looked is not None:
        pii.scanned[kind] += int(pc.sum(looked).as_py() or 0)


def _produces_text(stage: str) -> bool:
    """Whether a configured stage turns raw content into text (extract); unknown stages: no."""
    if stage in PSEUDO_STAGES:
        return False
    try:
        from corpusmill.pipeline.registry import stage_class

        return bool(getattr(stage_class(stage), "produces_text", False))
    except Exception:  # a plugin stage no longer installed: its removed rows still count as "before"
        return False
