"""Reading reference (evaluation) texts: JSONL (.jsonl/.json, gzip or zstd), Parquet, plain text
(one reference per blank-line-separated paragraph), and Hugging Face `datasets` folders written by
`save_to_disk` (a Dataset with state.json, or a DatasetDict with dataset_dict.json). Paths may be
globs. Texts come in batches of strings; problems are ConfigErrors naming the file and what to do."""
from __future__ import annotations

import glob
import gzip
import json
import os
import re
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.common.config import ConfigError

BATCH = 2048
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")


def files_of(pattern: str, set_name: str) -> list[str]:
    """The files (or save_to_disk folders) a path or glob names, sorted; an error if none."""
    found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else (
        [pattern] if os.path.exists(pattern) else [])
    if not found:
        raise ConfigError(f"decontaminate.references.{set_name}: nothing at {pattern!r}; give a file, a glob or a "
                          "`save_to_disk` folder")
    return found


def read_texts(pattern: str, keys: list[str], set_name: str) -> Iterator[list[str]]:
    for path in files_of(pattern, set_name):
        yield from _read(path, keys, set_name)


def _read(path: str, keys: list[str], set_name: str) -> Iterator[list[str]]:
    where = f"decontaminate.references.{set_name}: {path}"
    if os.path.isdir(path):
        yield from _hf_folder(path, keys, where, set_name)
        return
    name = path.lower().removesuffix(".gz").removesuffix(".zst")
    if name.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(BATCH, columns=_columns(pq.read_schema(path), keys, where)):
            yield _join(pa.Table.from_batches([batch]), keys)
    elif name.endswith(".arrow"):
        yield from _arrow(path, keys, where)
    elif name.endswith(JSONL_SUFFIXES):
        yield from _jsonl(path, keys, where)
    else:
        yield from _paragraphs(path)


def _open_text(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if path.endswith(".zst"):
        import io

        import zstandard
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def _jsonl(path: str, keys: list[str], where: str) -> Iterator[list[str]]:
    batch: list[str] = []
    with _open_text(path) as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise ConfigError(f"{where}:{i}: not JSON ({e}); each line must be one JSON object") from None
            missing = [k for k in keys if not isinstance(rec, dict) or k not in rec]
            if missing:
                raise ConfigError(f"{where}:{i}: no field {missing[0]!r} (fields: {sorted(rec) if isinstance(rec, dict) else '-'}); "
                                  "set `text_key` to the field(s) holding the text")
            batch.append("\n".join(_flat(rec[k]) for k in keys))
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _flat(value) -> str:
    """A field's text: strings as they are, lists (answer choices) one item a line, numbers as text."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(_flat(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _paragraphs(path: str) -> Iterator[list[str]]:
    with _open_text(path) as fh:
        text = fh.read()
    paras = [p.strip() for p in re.split(r"\n[ \t\r]*\n", text.replace("\r\n", "\n")) if p.strip()]
    for i in range(0, len(paras), BATCH):
        yield paras[i:i + BATCH]


def _columns(schema: pa.Schema, keys: list[str], where: str) -> list[str]:
    missing = [k for k in keys if k not in schema.names]
    if missing:
        raise ConfigError(f"{where}: no column {missing[0]!r} (columns: {schema.names}); set `text_key` to the "
                          "column(s) holding the text")
    return keys


def _join(table: pa.Table, keys: list[str]) -> list[str]:
    cols = [table.column(k).to_pylist() for k in keys]
    return ["\n".join(_flat(v) for v in row) for row in zip(*cols)]


def _arrow(path: str, keys: list[str], where: str) -> Iterator[list[str]]:
    """An Arrow file as `save_to_disk` writes it (IPC stream), or the IPC file format."""
    with pa.memory_map(path) as src:
        try:
            reader = pa.ipc.open_stream(src)
        except pa.ArrowInvalid:
            reader = pa.ipc.open_file(src)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = iter(reader)
        schema = reader.schema
        _columns(schema, keys, where)
        for batch in batches:
            yield _join(pa.Table.from_batches([batch]).select(keys), keys)


def _hf_folder(path: str, keys: list[str], where: str, set_name: str) -> Iterator[list[str]]:
    if os.path.exists(os.path.join(path, "dataset_dict.json")):  # a DatasetDict: every split
        with open(os.path.join(path, "dataset_dict.json")) as fh:
            splits = json.load(fh).get("splits", [])
        for split in splits:
            yield from _hf_folder(os.path.join(path, split), keys, f"{where}/{split}", set_name)
        return
    state = os.path.join(path, "state.json")
    if os.path.exists(state):
        with open(state) as fh:
            files = [f["filename"] for f in json.load(fh).get("_data_files", [])]
        for f in files:
            yield from _arrow(os.path.join(path, f), keys, where)
        return
    inner = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith((".parquet", *JSONL_SUFFIXES)))
    if not inner:
        raise ConfigError(f"{where}: a folder with neither a `save_to_disk` dataset (state.json or "
                          "dataset_dict.json) nor .parquet/.jsonl files; give the files or a glob")
    for f in inner:
        yield from _read(f, keys, set_name)
