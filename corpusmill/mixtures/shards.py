"""Token shards: Arrow IPC *file* format, uncompressed, memory-mappable; one row per document.

    tokens: large_list<uint16 | uint32>     (uint16 when the vocabulary has < 65,536 pieces)
    source: dictionary<int32, string>   (one dictionary per file: the mixture's source names, fixed order)
    schema metadata: corpusmill.format_version, dtype, vocab_size, bos_id, eos_id, tokenizer_sha256, sources

Readable as they are by pyarrow (`pa.ipc.open_file`) and by HF `datasets` (Dataset.from_file).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpusmill.common.files import temp_path

FORMAT_VERSION = "1"
_META = "corpusmill."


@dataclass(frozen=True)
class ShardMeta:
    vocab_size: int
    bos_id: int
    eos_id: int
    tokenizer_sha256: str
    sources: tuple[str, ...] = ()  # the dictionary of the `source` column; empty: the first batch's names

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint16 if self.vocab_size < 65_536 else np.uint32)

    def schema(self) -> pa.Schema:
        value = pa.uint16() if self.dtype == np.uint16 else pa.uint32()
        meta = {f"{_META}format_version": FORMAT_VERSION, f"{_META}dtype": self.dtype.name,
                f"{_META}vocab_size": str(self.vocab_size), f"{_META}bos_id": str(self.bos_id),
                f"{_META}eos_id": str(self.eos_id), f"{_META}tokenizer_sha256": self.tokenizer_sha256,
                f"{_META}sources": json.dumps(list(self.sources))}
        return pa.schema([("tokens", pa.large_list(value)), ("source", pa.dictionary(pa.int32(), pa.string()))],
                         metadata=meta)

    @classmethod
    def from_schema(cls, schema: pa.Schema) -> "ShardMeta":
        m = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
        if m.get(f"{_META}format_version") != FORMAT_VERSION:
            raise ValueError(f"not a corpusmill token shard (format {m.get(f'{_META}format_version')!r})")
        return cls(int(m[f"{_META}vocab_size"]), int(m[f"{_META}bos_id"]), int(m[f"{_META}eos_id"]),
                   m[f"{_META}tokenizer_sha256"], tuple(json.loads(m.get(f"{_META}sources", "[]"))))


class ShardWriter:
    """Writes documents batch by batch under a temp name; `close` renames into place (atomic)."""

    def __init__(self, path: str | Path, meta: ShardMeta):
        self.path = Path(path)
        self.meta = meta
        self.tmp = temp_path(self.path)
        self._sink = pa.OSFile(str(self.tmp), "wb")
        self._writer = pa.ipc.new_file(self._sink, meta.schema())
        self.documents = self.tokens = 0
        # An Arrow IPC *file* holds one dictionary per field: every batch must use the same one.
        self._names = list(meta.sources)
        self._dictionary = pa.array(self._names, pa.string()) if self._names else None
        self._codes = {n: i for i, n in enumerate(self._names)}

    def write(self, docs: list[np.ndarray], sources: list[str]) -> None:
        if not docs:
            return
        dtype = self.meta.dtype
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.concatenate([np.asarray(d, dtype=dtype) for d in docs]) if offsets[-1] else np.zeros(0, dtype)
        tokens = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat))
        source = self._encode_sources(sources)
        self._writer.write_batch(pa.record_batch([tokens, source], schema=self.meta.schema()))
        self.documents += len(docs)
        self.tokens += int(offsets[-1])

    def _encode_sources(self, sources: list[str]) -> pa.DictionaryArray:
        if self._dictionary is None:
            self._names = sorted(set(sources))
            self._dictionary = pa.array(self._names, pa.string())
            self._codes = {n: i for i, n in enumerate(self._names)}
        try:
            codes = np.fromiter((self._codes[s] for s in sources), np.int32, len(sources))
        except KeyError as e:
            raise ValueError(f"{self.path.name}: source {e.args[0]!r} is not among the shard's sources "
                             f"{self._names} (ShardMeta.sources must list every source)") from None
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), self._dictionary)

    def close(self) -> None:
        self._writer.close()
        self._sink.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self._writer.close()
            self._sink.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class Shard:
    """A memory-mapped shard: document i's tokens are a zero-copy numpy view."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._reader = pa.ipc.open_file(pa.memory_map(str(self.path), "r"))
        self.meta = ShardMeta.from_schema(self._reader.schema)
        table = self._reader.read_all()  # record batches over the map: no copy
        tokens = table.column("tokens")
        chunks = tokens.chunks
        self._values = [c.values.to_numpy(zero_copy_only=True) for c in chunks]
        self._offsets = [c.offsets.to_numpy(zero_copy_only=True) for c in chunks]
        starts = np.cumsum([0] + [len(c) for c in chunks])
        self._chunk_start = starts
        self.num_documents = int(starts[-1])
        self.num_tokens = int(sum(int(o[-1] - o[0]) for o in self._offsets))
        self._sources = table.column("source")

    def __len__(self) -> int:
        return self.num_documents

    def document(self, i: int) -> np.ndarray:
        c = int(np.searchsorted(self._chunk_start, i, side="right") - 1)
        j = i - int(self._chunk_start[c])
        off = self._offsets[c]
        return self._values[c][off[j]: off[j + 1]]

    def source(self, i: int) -> str:
        return self._sources[i].as_py()

    def batches(self):
        """(tokens, lengths, source codes, source names) per record batch: the batch's documents back to
        back as a zero-copy view, their lengths, and each one's index into the names."""
        for c, (values, offsets) in enumerate(zip(self._values, self._offsets)):
            src = self._sources.chunk(c)
            yield (values[offsets[0]: offsets[-1]], np.diff(offsets), src.indices.to_numpy(zero_copy_only=False),
                   src.dictionary.to_pylist())

    def token_stream(self) -> list[np.ndarray]:
        """The shard's tokens, document after document, as zero-copy views (one per batch)."""
        return [v[o[0]: o[-1]] for v, o in zip(self._values, self._offsets)]
