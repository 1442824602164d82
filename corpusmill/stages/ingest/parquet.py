"""Parquet: one document per row, read batch by batch; large files split by row groups."""
from __future__ import annotations

from typing import Iterator

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import Problem, Reader, RecordFields, record


class ParquetReader(Reader):
    name = "parquet"
    suffixes = (".parquet",)
    Options = RecordFields

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        return split(path, spec)

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem]:
        return read(part, spec, self.options)


def _open(path: str) -> pq.ParquetFile:
    return pq.ParquetFile(fsspec.open(path, "rb").open())


def split(path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
    """Ranges of row groups [start, end) of about split_bytes each (uncompressed size)."""
    try:
        meta = _open(path).metadata
    except (OSError, pa.ArrowException):
        return [(0, None)]  # unreadable: the reader reports it
    ranges, start, size = [], 0, 0
    for i in range(meta.num_row_groups):
        size += meta.row_group(i).total_byte_size
        if size >= spec.split_bytes and i + 1 < meta.num_row_groups:
            ranges.append((start, i + 1))
            start, size = i + 1, 0
    ranges.append((start, None))
    return ranges


def read(part: Part, spec: InputSpec, opts: RecordFields) -> Iterator[dict | Problem]:
    try:
        pf = _open(part.path)
    except (OSError, pa.ArrowException) as e:
        yield Problem("unreadable_parquet", "0", f"{type(e).__name__}: {e}"[:300])
        return
    all_names = pf.schema_arrow.names
    names = set(all_names)
    # fuzz: a column name given twice made pyarrow raise KeyError, failing the part
    if all_names.count(opts.text_key) > 1:
        yield Problem("duplicate_column", "0", f"column {opts.text_key!r} appears {all_names.count(opts.text_key)} times")
        return
    names = {n for n in names if all_names.count(n) == 1}  # an ambiguous id/url column is not used
    if opts.text_key not in names:
        yield Problem("missing_text_field", "0", f"no column {opts.text_key!r}; columns: {sorted(names)}")
        return
    columns = [c for c in (opts.text_key, opts.id_key, opts.url_key) if c and c in names]
    groups = list(range(part.start, part.end if part.end is not None else pf.metadata.num_row_groups))
    row = sum(pf.metadata.row_group(i).num_rows for i in range(part.start))
    try:
        for batch in pf.iter_batches(batch_size=1024, row_groups=groups, columns=columns):
            cols = {c: batch.column(c).to_pylist() for c in columns}
            for j in range(batch.num_rows):
                text = cols[opts.text_key][j]
                doc_id = cols[opts.id_key][j] if opts.id_key in cols else None
                url = cols[opts.url_key][j] if opts.url_key in cols else None
                if text is not None and not isinstance(text, str):
                    yield Problem("missing_text_field", f"row {row}", f"{opts.text_key!r} is {type(text).__name__}")
                elif text is not None and len(text) > spec.max_document_bytes:
                    yield record(part, row, doc_id=None if doc_id is None else str(doc_id), removed="too_large")
                else:
                    yield record(part, row, text=text, url=url if isinstance(url, str) else None,
                                 doc_id=None if doc_id is None else str(doc_id))
                row += 1
    except (OSError, pa.ArrowException, ValueError) as e:  # fuzz: a damaged string page raised UnicodeDecodeError
        yield Problem("corrupt_parquet", f"row {row}", f"{type(e).__name__}: {e}"[:300])
