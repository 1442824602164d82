"""Clean documents -> token arrays: per part (plain functions) and over many parts on Ray.

The building block of `corpus mix`: one row per document, the carried columns plus
`tokens: large_list<uint16|uint32>` (BOS/EOS as asked), memory bounded by batch, and on Ray
results come back in input order so that what is written from them is the same every run.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from corpusmill.faults import kill_point
from corpusmill.tokenizer.inputs import BATCH_ROWS, id_hashes, iter_batches, list_parts, row_group_ranges
from corpusmill.tokenizer.model import Tokenizer, TokenizerError, load_tokenizer

# Uncompressed parquet bytes per Ray task: ~0.15 s of encoding on one core, far above a task's
# overhead (~ms), and small enough that the last tasks leave no core idle for long (parts are
# uneven). Measured on 60 MB, 2 CPUs: 1 MiB units 0.92-0.94x plain SentencePiece, 4 MiB 0.81-0.90x.
UNIT_BYTES = 1 << 20
FILE_BYTES = 64 << 20  # write_encoded: one output file per unit, so bigger units there
ROW_GROUP_ROWS = 2048  # documents per row group of an encoded file
TokenizerLike = Tokenizer | str | os.PathLike


def _tokenizer(tok: TokenizerLike, expected_sha256: str | None = None) -> Tokenizer:
    if isinstance(tok, Tokenizer):
        return tok.check(expected_sha256)
    return load_tokenizer(tok, expected_sha256)


def encode_table(table: pa.Table, tok: Tokenizer, *, add_bos: bool = True, add_eos: bool = True,
                 columns: tuple[str, ...] = ("id", "source"), text_column: str = "text") -> pa.Table:
    """`columns` of table, then `tokens`."""
    text = pc.fill_null(table[text_column], "")  # a null text encodes as an empty document
    # As bytes: SentencePiece reads UTF-8, so this skips decoding to str and encoding back.
    text = text.cast(pa.large_binary() if pa.types.is_large_string(text.type) else pa.binary())
    tokens = tok.encode_arrow(text.to_pylist(), add_bos, add_eos)
    return pa.table({**{c: table[c] for c in columns}, "tokens": tokens})


def iter_encode_part(path: str, tokenizer: TokenizerLike, *, expected_sha256: str | None = None,
                     add_bos: bool = True, add_eos: bool = True, columns: tuple[str, ...] = ("id", "source"),
                     row_groups: tuple[int, int] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Encoded batches of one parquet part (or of row groups [start, end) of it), in row order."""
    tok = _tokenizer(tokenizer, expected_sha256)
    need = tuple(dict.fromkeys((*columns, "text")))
    for batch in iter_batches(path, need, batch_rows, row_groups):
        yield encode_table(batch, tok, add_bos=add_bos, add_eos=add_eos, columns=columns)


def encode_part(path: str, tokenizer: TokenizerLike, **kw) -> pa.Table:
    """The whole part (or row_groups=(start, end) of it) as one table; see iter_encode_part."""
    tok = _tokenizer(tokenizer, kw.pop("expected_sha256", None))
    batches = list(iter_encode_part(path, tok, **kw))
    if not batches:
        cols = kw.get("columns", ("id", "source"))
        return pa.table({**{c: pa.array([], pa.string()) for c in cols},
                         "tokens": pa.array([], pa.large_list(tok.dtype))})
    return pa.concat_tables(batches)


@dataclass(frozen=True)
class Unit:
    """A Ray task's share of the work: row groups [start, end) of one part."""
    index: int  # position in the whole run, for names that sort in input order
    path: str
    row_groups: tuple[int, int]


def plan_units(paths: list[str], unit_bytes: int = UNIT_BYTES) -> list[Unit]:
    units = []
    for p in paths:
        for rg in row_group_ranges(p, unit_bytes):
            units.append(Unit(len(units), p, rg))
    return units


_WORKER_CACHE: dict[str, Tokenizer] = {}  # one SentencePieceProcessor per worker process and model


def _run_unit(sha: str, tok_ref: list, opts: dict, fn: Callable | None, unit: Unit) -> Any:
    import ray

    tok = _WORKER_CACHE.get(sha)
    if tok is None:  # the model travels once per worker, not once per task
        tok = _WORKER_CACHE[sha] = ray.get(tok_ref[0])
    table = encode_part(unit.path, tok, row_groups=unit.row_groups, **opts)
    return fn(unit, table, tok) if fn else table


def encode_parts(inputs: list[str], tokenizer: TokenizerLike, *, expected_sha256: str | None = None,
                 add_bos: bool = True, add_eos: bool = True, columns: tuple[str, ...] = ("id", "source"),
                 fn: Callable[[Unit, pa.Table, Tokenizer], Any] | None = None, unit_bytes: int = UNIT_BYTES,
                 ray_address: str | None = None, num_cpus: int | None = None,
                 label: str = "encode") -> Iterator[tuple[Unit, Any]]:
    """Encodes every part under `inputs` (files, folders, `corpus build` outputs) on Ray and yields
    (unit, result) in input order, a few units ahead at most. result is the encoded table, or
    fn(unit, table, tokenizer) computed on the worker (write a shard there; return its stats)."""
    from corpusmill.common.ray_session import ray_session
    from corpusmill.common.units import Tasks, run_units
    import ray

    tok = _tokenizer(tokenizer, expected_sha256)  # fail here, before Ray starts, if it is wrong
    units = plan_units(list_parts(inputs), unit_bytes)
    opts = {"add_bos": add_bos, "add_eos": add_eos, "columns": tuple(columns)}
    with ray_session(ray_address, num_cpus) as cpus:
        tok_ref = [ray.put(tok)]  # in a list: Ray does not fetch it unless the worker lacks it
        submit = Tasks(_run_unit, (tok.sha256, tok_ref, opts, fn))
        for (unit,), result in run_units([(u,) for u in units], submit, window=2 * cpus + 2, ordered=True, label=label):
            yield unit, result


FILE_FORMATS = ("arrow", "parquet")


def write_encoded(inputs: list[str], tokenizer: TokenizerLike, output: str | os.PathLike, *,
                  file_format: str = "arrow", **kw) -> dict:
    """`corpus tokenizer encode`: OUTPUT/part-NNNNNN.arrow (or .parquet: columns + tokens; schema
    metadata names the tokenizer) and OUTPUT/manifest.json. Pre-tokenized input for `corpus mix`."""
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format {file_format!r}: choose one of {', '.join(FILE_FORMATS)}")
    import json

    from corpusmill.common.files import atomic_write_text

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(tokenizer, kw.pop("expected_sha256", None))
    kw.setdefault("unit_bytes", FILE_BYTES)
    files, docs, tokens = [], 0, 0
    for unit, r in encode_parts(inputs, tok, fn=_Writer(str(out), file_format), **kw):
        files.append({"file": r["file"], "input": unit.path, "row_groups": list(unit.row_groups),
                      "documents": r["documents"], "tokens": r["tokens"]})
        kill_point("encode.unit")
        docs, tokens = docs + r["documents"], tokens + r["tokens"]
    manifest = {"format": "corpusmill-encoded/1", "tokenizer_sha256": tok.sha256, "vocab_size": tok.vocab_size,
                "dtype": str(tok.dtype), "bos_id": tok.bos_id, "eos_id": tok.eos_id, "pad_id": tok.pad_id,
                "add_bos": kw.get("add_bos", True), "add_eos": kw.get("add_eos", True), "file_format": file_format,
                "documents": docs, "tokens": tokens, "files": files}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def read_encoded(folder: str | os.PathLike, tokenizer: Tokenizer | None = None) -> dict:
    """The manifest of a `corpus tokenizer encode` output; with a tokenizer, fails unless the
    data was encoded with it (TokenizerError naming both sha256)."""
    import json

    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise TokenizerError(f"{folder} is not pre-tokenized input: no manifest.json "
                             "(make one with `corpus tokenizer encode`)")
    manifest = json.loads(path.read_text())
    if tokenizer is not None:
        tokenizer.check(manifest.get("tokenizer_sha256"), f"pre-tokenized input {path}")
    return manifest


class _Writer:
    """Runs on the worker: the unit's table to one file, renamed into place when whole. Arrow IPC
    (uncompressed, memory-mappable: a mixture reads a sampled document's tokens alone) or Parquet
    (zstd, smaller: for moving pre-tokenized data around; a reader decompresses a row group whole)."""

    def __init__(self, out: str, file_format: str = "arrow"):
        self.out, self.file_format = out, file_format

    def __call__(self, unit: Unit, table: pa.Table, tok: Tokenizer) -> dict:
        from corpusmill.common.files import atomic_path

        name = f"part-{unit.index:06d}.{self.file_format}"
        if "id" in table.column_names:  # a mixture's sampling keys come from it (mixtures/encoded.py)
            table = table.append_column("id_hash", pa.array(id_hashes(table["id"]), pa.uint64()))
        table = table.replace_schema_metadata(tok.metadata())
        with atomic_path(Path(self.out) / name, fsync=False) as tmp:
            if self.file_format == "arrow":
                with pa.ipc.new_file(str(tmp), table.schema) as w:  # lengths are the list offsets
                    w.write_table(table, max_chunksize=ROW_GROUP_ROWS)
            else:
                import pyarrow.parquet as pq

                # per-document lengths beside the tokens: a mixture plans from them without reading tokens;
                # bounded row groups: a reader holds one at a time
                table = table.append_column("n_tokens", pc.list_value_length(table["tokens"]).cast(pa.int32()))
                pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        n = int(pc.sum(pc.list_value_length(table["tokens"])).as_py() or 0)
        return {"file": name, "documents": table.num_rows, "tokens": n}
