"""MosaicML streaming's MDS (format version 2), read by `streaming.StreamingDataset(local=DIR,
split=SPLIT)` and llm-foundry's text dataloader: DIR/SPLIT/index.json lists the shards
(shard.00000.mds ...), each sample is one document with two columns:

    source: str                         the mixture source it came from
    tokens: ndarray:uint16 (or uint32)  its tokens; llm-foundry reads this column by name

A shard file: uint32 sample count, uint32 byte offsets of each sample (count + 1, from the file's
start), the writer's config as JSON, then the samples; a sample is a uint32 size per variable-size
column, then each column's bytes (an ndarray: one byte (ndim << 2 | shape dtype), its shape, its
values). Uncompressed, no hashes. One shard is built in memory up to shard_bytes (as MDSWriter does:
the offsets come first), so memory is bounded by it. MDS cannot hold an empty array: a document
without tokens is counted in `skipped_empty` instead of written.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpusmill.mixtures.formats.staged import StagedFiles

DEFAULT_SHARD_BYTES = 1 << 26  # MDSWriter's own default size_limit
_SHAPE_DTYPES = (np.uint8, np.uint16, np.uint32, np.uint64)


def _shape_code(n: int) -> int:
    return next(k for k, t in enumerate(_SHAPE_DTYPES) if n < 1 << (8 * np.dtype(t).itemsize))


class MDSWriter:
    def __init__(self, folder: Path, vocab_size: int, shard_bytes: int = DEFAULT_SHARD_BYTES):
        if not 0 < shard_bytes < 1 << 32:
            raise ValueError(f"MDS shard size {shard_bytes}: must be between 1 and 4 GiB (offsets are uint32)")
        self.folder, self.limit = Path(folder), shard_bytes
        self.dtype = np.dtype(np.uint16 if vocab_size <= 65_536 else np.uint32)
        self.config = {"column_encodings": ["str", f"ndarray:{self.dtype.name}"], "column_names": ["source", "tokens"],
                       "column_sizes": [None, None], "compression": None, "format": "mds", "hashes": [],
                       "size_limit": shard_bytes, "version": 2}
        self._config_bytes = json.dumps(self.config, sort_keys=True).encode()
        self.files = StagedFiles()
        self.shards: list[dict] = []
        self._samples: list[bytes] = []
        self._size = 8 + len(self._config_bytes)
        self.documents = self.tokens = self.skipped_empty = 0

    def write(self, tokens: np.ndarray, lengths: np.ndarray, codes: np.ndarray, names: list[str]) -> None:
        """A batch of documents back to back; document i came from source names[codes[i]]."""
        tokens = np.asarray(tokens, self.dtype)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for i, n in enumerate(lengths.tolist()):
            if n == 0:
                self.skipped_empty += 1
                continue
            self._add(self._encode(names[codes[i]], tokens[starts[i]: starts[i + 1]]))
            self.documents += 1
            self.tokens += n

    def _encode(self, source: str, doc: np.ndarray) -> bytes:
        name = source.encode()
        code = _shape_code(len(doc))
        array = bytes([(1 << 2) | code]) + np.array([len(doc)], _SHAPE_DTYPES[code]).tobytes() + doc.tobytes()
        return np.array([len(name), len(array)], np.uint32).tobytes() + name + array

    def _add(self, sample: bytes) -> None:
        if self._samples and self._size + len(sample) + 4 > self.limit:
            self._flush()
        self._samples.append(sample)
        self._size += len(sample) + 4

    def _flush(self) -> None:
        head = 4 + 4 * (len(self._samples) + 1) + len(self._config_bytes)
        offsets = np.concatenate([[0], np.cumsum([len(s) for s in self._samples])]) + head
        if offsets[-1] >= 1 << 32:
            raise ValueError(f"an MDS shard would exceed 4 GiB ({int(offsets[-1]):,} bytes): one document is too long")
        name = f"shard.{len(self.shards):05d}.mds"
        with self.files.open(self.folder / name) as fh:  # closed now, renamed at commit
            fh.write(np.uint32(len(self._samples)).tobytes() + offsets.astype(np.uint32).tobytes() + self._config_bytes)
            for s in self._samples:
                fh.write(s)
        self.shards.append({**self.config, "raw_data": {"basename": name, "bytes": int(offsets[-1]), "hashes": {}},
                            "samples": len(self._samples), "zip_data": None})
        self._samples, self._size = [], 8 + len(self._config_bytes)

    def close(self) -> dict:
        if self._samples:
            self._flush()
        fh = self.files.open(self.folder / "index.json")
        fh.write(json.dumps({"shards": self.shards, "version": 2}, sort_keys=True).encode())
        self.files.commit()
        return {"files": [f"{self.folder.name}/{s['raw_data']['basename']}" for s in self.shards] +
                         [f"{self.folder.name}/index.json"],
                "documents": self.documents, "tokens": self.tokens, "dtype": self.dtype.name,
                "skipped_empty": self.skipped_empty}

    def abort(self) -> None:
        self.files.abort()
