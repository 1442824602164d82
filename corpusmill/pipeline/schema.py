"""The document schema shared by every stage, and the columns only ingest carries."""
from __future__ import annotations

import pyarrow as pa

# What readers produce. `content` (raw bytes for extract) never reaches an output file.
BATCH_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("source", pa.string()),
    ("url", pa.string()),
    ("text", pa.string()),
    ("content", pa.large_binary()),
    ("content_type", pa.string()),
    ("http_status", pa.int32()),
])
# Present in every output file; null until a stage (langid) fills them.
OUTPUT_DEFAULTS = [("lang", pa.string()), ("lang_score", pa.float32())]
INTERNAL_COLUMNS = ("content",)


def to_batch(records: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=BATCH_SCHEMA)


def for_output(table: pa.Table) -> pa.Table:
    """Drop internal columns and add the schema's standard columns that no stage has filled."""
    for name in INTERNAL_COLUMNS:
        if name in table.column_names:
            table = table.drop_columns([name])
    for name, typ in OUTPUT_DEFAULTS:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, typ))
    return table
