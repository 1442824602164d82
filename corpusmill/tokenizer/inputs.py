"""Clean-document inputs: `corpus build` outputs (OUT/documents) or folders of parquet parts.

Shared by sampling, fertility and encoding: which files, read in bounded batches, with the
columns they need (id, text, source, lang) filled in when a plain parquet folder lacks them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from corpusmill.common.artifact import ArtifactError, build_documents, parquet_files

BATCH_ROWS = 2048  # bounds the memory of any one read (with row groups), whatever the size of a part
UNKNOWN_LANG = "und"


# An input folder that holds no usable parquet parts, or a build that is unfinished or empty.
InputError = ArtifactError


def resolve_inputs(inputs: list[str | os.PathLike], needed_by: str = "tokenizer") -> tuple[list[str], list[dict]]:
    """Every parquet part under the inputs (sorted per input, in input order, without repeats) and
    each input as lineage names it. An input is a parquet file, a folder of parts, or a `corpus
    build` output, read through its manifest: complete, not empty, documents/ only."""
    found: dict[str, None] = {}
    refs = []
    for inp in inputs:
        folder, ref = build_documents(inp, needed_by)
        refs.append(ref)
        found.update(dict.fromkeys(str(f) for f in ([folder] if folder.is_file() else parquet_files(folder))))
    return list(found), refs


def list_parts(inputs: list[str | os.PathLike], needed_by: str = "tokenizer") -> list[str]:
    return resolve_inputs(inputs, needed_by)[0]


def default_source(path: str) -> str:
    """Source name for parts without a `source` column: the build output's folder name."""
    p = Path(path).resolve().parent
    return p.parent.name if p.name == "documents" else p.name


def iter_batches(path: str, columns: tuple[str, ...] = ("id", "text", "source", "lang"),
                 batch_rows: int = BATCH_ROWS, row_groups: tuple[int, int] | None = None) -> Iterator[pa.Table]:
    """Batches of a part with exactly `columns`: id defaults to '<file>:<row>', source to the
    folder name, lang to 'und'. row_groups=(start, end) reads a slice of the part only."""
    pf = pq.ParquetFile(path)
    have = set(pf.schema_arrow.names)
    if "text" in columns and "text" not in have:
        raise InputError(f"{path}: no `text` column (columns: {sorted(have)})")
    groups = list(range(*row_groups)) if row_groups else None
    row = sum(pf.metadata.row_group(i).num_rows for i in range(row_groups[0])) if row_groups else 0
    name = Path(path).name
    src = None
    for batch in pf.iter_batches(batch_size=batch_rows, row_groups=groups, columns=[c for c in columns if c in have]):
        n = batch.num_rows
        cols = {}
        for c in columns:
            if c in have:
                col = batch.column(c)
                if c == "lang":
                    col = pc.fill_null(col, UNKNOWN_LANG)
                cols[c] = col
            elif c == "id":
                cols[c] = pa.array([f"{name}:{r}" for r in range(row, row + n)], pa.string())
            elif c == "source":
                src = src or default_source(path)
                cols[c] = pa.array([src] * n, pa.string())
            elif c == "lang":
                cols[c] = pa.array([UNKNOWN_LANG] * n, pa.string())
            else:
                raise InputError(f"{path}: no `{c}` column")
        row += n
        yield pa.table(cols)


def doc_keys(ids: pa.Array | pa.ChunkedArray, seed: int) -> np.ndarray:
    """A uint64 per document, a pure function of (seed, id): where the document falls in the
    sample order, independent of how the corpus is split into parts."""
    return np.fromiter((xxhash.xxh64_intdigest(i, seed) for i in ids.to_pylist()), np.uint64, len(ids))


def id_hashes(ids: pa.Array | pa.ChunkedArray | list[str]) -> np.ndarray:
    """xxh64 of each document id (unseeded): written beside encoded tokens (`id_hash`) so that a
    mixture derives its seeded per-document keys with numpy instead of hashing every id again."""
    ids = ids if isinstance(ids, list) else ids.to_pylist()
    return np.fromiter((xxhash.xxh64_intdigest(str(i)) for i in ids), np.uint64, len(ids))


def utf8_bytes(text: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(pc.binary_length(text), 0).to_numpy().astype(np.int64)


def row_group_ranges(path: str, target_bytes: int) -> list[tuple[int, int]]:
    """Slices of a part's row groups of about target_bytes (uncompressed) each: the work units
    that keep cores busy when parts are few or uneven."""
    meta = pq.ParquetFile(path).metadata
    ranges, start, size = [], 0, 0
    for i in range(meta.num_row_groups):
        size += meta.row_group(i).total_byte_size
        if size >= target_bytes:
            ranges.append((start, i + 1))
            start, size = i + 1, 0
    if start < meta.num_row_groups or not ranges:
        ranges.append((start, meta.num_row_groups))
    return ranges
