"""Finding documents in a build output without loading it: the filters run over the few columns
they need, row group by row group in batches; only the rows picked are then read whole.

First pass: per Parquet file (documents/ or removed/STAGE/, in a stable order), per row group, the
filter columns in batches of BATCH_ROWS; matching rows are kept as (file, row group, row) keys:
the first n in file order, or with a seed a uniform reservoir sample of n (deterministic for a
seed). Second pass: the picked row groups are read and the picked rows taken.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from difflib import get_close_matches
from itertools import islice
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.inspection.where import Where, WhereError

BATCH_ROWS = 8192
ROW = "__corpusmill_row"


@dataclass
class Query:
    removed: str | None = None  # None: kept documents; "": every removed/ stage; else one stage
    reasons: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    where: Where | None = None
    n: int = 5
    seed: int | None = None


@dataclass
class Found:
    rows: list[dict]  # the picked documents, every column, in file order (a sample in file order too)
    matched: int  # documents that match: all of them, or where not complete, at least this many
    complete: bool  # whether `matched` counts every match (without a seed the scan stops after n + 1)
    scanned: int  # documents in the selected files
    files: int


def build_root(path: str | Path) -> Path:
    """The build output at path, refused with what to do when it is not a finished one."""
    root = Path(path).resolve()
    for up in list(root.parents)[:2]:
        if artifact.is_build(up) and not artifact.is_build(root):
            raise ConfigError(f"corpus inspect: {root} is inside the build {up}: give the build itself "
                              f"(corpus inspect {up}; --removed STAGE for removed/STAGE/)")
    artifact.require(root, "build", "corpus inspect")
    return root


def removed_stages(root: Path) -> list[str]:
    folder = root / "removed"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def selected_files(root: Path, removed: str | None) -> list[Path]:
    if removed is None:
        return _parquet(root / "documents")
    stages = removed_stages(root)
    if removed == "":
        return [f for s in stages for f in _parquet(root / "removed" / s)]
    if removed not in stages:
        have = ", ".join(stages) or "none: nothing was removed"
        raise ConfigError(f"corpus inspect: no removed/{removed}/ in {root} (stages that removed documents: {have})")
    return _parquet(root / "removed" / removed)


def _parquet(folder: Path) -> list[Path]:
    return artifact.parquet_files(folder) if folder.is_dir() else []


def find(root: Path, q: Query) -> Found:
    files = selected_files(root, q.removed)
    schemas = {f: pq.read_schema(f) for f in files}
    if q.where is not None:
        _check_columns(q.where, schemas, q.removed)
    scanned = sum(pq.read_metadata(f).num_rows for f in files)
    hits = _scan(files, schemas, q)
    if q.seed is None:  # the first n in file order; one more says whether there are others
        locs = list(islice(hits, q.n + 1))
        complete = len(locs) <= q.n
        return Found(read_rows(locs[:q.n]), len(locs), complete, scanned, len(files))
    sample, matched = Reservoir(q.n, random.Random(q.seed)), 0
    for loc in hits:
        matched += 1
        sample.add(loc)
    return Found(read_rows(sample.items()), matched, True, scanned, len(files))


class Reservoir:
    """A uniform sample of n items from a stream of unknown length: the n with the smallest random
    keys (deterministic for the generator's seed); memory n items, whatever the stream's length."""

    def __init__(self, n: int, rnd: random.Random):
        self.n, self.rnd, self.heap = n, rnd, []  # max-heap on the key: (-key, item)

    def add(self, item) -> None:
        key = self.rnd.random()
        if len(self.heap) < self.n:
            heapq.heappush(self.heap, (-key, item))
        elif key < -self.heap[0][0]:
            heapq.heapreplace(self.heap, (-key, item))

    def items(self) -> list:
        """The sample in the items' own order (file order for locations)."""
        return sorted(item for _, item in self.heap)


def _scan(files: list[Path], schemas: dict[Path, pa.Schema], q: Query) -> Iterator[tuple[Path, int, int]]:
    """(file, row group, row in it) of every matching document, in file order, lazily."""
    for f in files:
        expr = _filter(q, schemas[f])
        if expr is False:
            continue
        cols = sorted(_filter_columns(q, schemas[f]))
        with pq.ParquetFile(f) as pf:
            for rg in range(pf.num_row_groups):
                offset = 0
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[rg], columns=cols):
                    for row in _matches(batch, expr, offset):
                        yield f, rg, row
                    offset += batch.num_rows


def _check_columns(where: Where, schemas: dict[Path, pa.Schema], removed: str | None) -> None:
    have = set().union(*(s.names for s in schemas.values())) if schemas else set()
    missing = sorted(where.columns - have)
    if missing:
        what = "kept documents" if removed is None else f"removed/{removed or '*'}"
        hints = {m: get_close_matches(m, sorted(have), n=3, cutoff=0.5) for m in missing}
        hint = "; ".join(f"{m}: did you mean {', '.join(h)}?" for m, h in hints.items() if h)
        raise WhereError(f"--where: no column {', '.join(missing)} in the {what} of this build"
                         f"{' (' + hint + ')' if hint else ''}; columns: {', '.join(sorted(have))}")


def _filter_columns(q: Query, schema: pa.Schema) -> set[str]:
    cols = {"id"}
    if q.sources:
        cols.add("source")
    if q.langs:
        cols.add("lang")
    if q.reasons:
        cols.add("reason")
    if q.where is not None:
        cols |= q.where.columns
    return cols & set(schema.names)


def _filter(q: Query, schema: pa.Schema) -> pc.Expression | bool | None:
    """The expression for one file; False when no row of it can match (a column it lacks: a stage
    its documents never reached), None when everything matches."""
    parts = []
    for values, column in ((q.sources, "source"), (q.langs, "lang"), (q.reasons, "reason"), (q.ids, "id")):
        if values:
            if column not in schema.names:
                return False
            parts.append(pc.field(column).isin(values))
    if q.where is not None:
        if not q.where.columns <= set(schema.names):
            return False
        parts.append(q.where.compile(schema))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def _matches(batch: pa.RecordBatch, expr: pc.Expression | None, offset: int) -> list[int]:
    if expr is None:
        return list(range(offset, offset + batch.num_rows))
    table = pa.Table.from_batches([batch]).append_column(ROW, pa.array(range(offset, offset + batch.num_rows),
                                                                       pa.int64()))
    try:
        return table.filter(expr).column(ROW).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
        raise WhereError(f"--where: cannot be evaluated on these columns: {e}") from None


def read_rows(locs: list[tuple[Path, int, int]], columns: list[str] | None = None) -> list[dict]:
    """The rows at (file, row group, row) locations, in that order: only their row groups are read
    (of `columns` where given, those a file has)."""
    rows: list[dict] = []
    groups: dict[tuple[Path, int], list[int]] = {}
    for f, rg, row in locs:
        groups.setdefault((f, rg), []).append(row)
    for (f, rg), wanted in groups.items():
        with pq.ParquetFile(f) as pf:
            cols = None if columns is None else [c for c in columns if c in pf.schema_arrow.names]
            table = pf.read_row_group(rg, columns=cols)
        for r in table.take(pa.array(wanted, pa.int64())).to_pylist():
            r["_file"] = str(f)
            rows.append(r)
    return rows
