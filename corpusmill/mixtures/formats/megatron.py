"""Megatron-LM / NeMo's indexed dataset (megatron.core.datasets.indexed_dataset, MMapIndexedDataset):

    PREFIX.bin   every document's tokens back to back, no header
    PREFIX.idx   b"MMIDIDX\\x00\\x00", version <Q 1, dtype code <B, sequence count <Q, document count <Q
                 (sequences + 1), then int32 sequence lengths, int64 byte pointers into .bin, int64
                 document indices [0, 1, ..., n]: one sequence per document, as Megatron's
                 preprocess_data.py writes for text without sentence splitting.

The dtype is Megatron's own choice for the vocabulary (DType.optimal_dtype): uint16 (code 8) below
65,500 pieces, else int32 (code 4). Documents are written as the mixture holds them: each ends with
the tokenizer's EOS (and starts with BOS when the tokenizer has one), so Megatron needs no
--append-eod; the one document a downsampled source's quota cuts has lost its EOS.

Memory stays flat: lengths go to a side file while .bin streams; .idx is assembled from it in chunks.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from corpusmill.common.files import temp_path
from corpusmill.mixtures.formats.staged import StagedFiles

MAGIC = b"MMIDIDX\x00\x00"
CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
_CHUNK = 1 << 20  # documents per step when the index is assembled


def megatron_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size < 65_500 else np.int32)


class MegatronWriter:
    def __init__(self, prefix: Path, vocab_size: int):
        self.prefix, self.dtype = Path(prefix), megatron_dtype(vocab_size)
        self.files = StagedFiles()
        self._bin = self.files.open(self.prefix.with_suffix(".bin"))
        self._lengths_path = temp_path(self.prefix.with_name(self.prefix.name + ".lengths"), hidden=True)
        self._lengths = open(self._lengths_path, "w+b")
        self.documents = self.tokens = 0

    def write(self, tokens: np.ndarray, lengths: np.ndarray, codes: np.ndarray, names: list[str]) -> None:
        self._bin.write(np.ascontiguousarray(tokens, self.dtype))  # the buffer itself: no bytes copy
        self._lengths.write(np.asarray(lengths, np.int32).tobytes())
        self.documents += len(lengths)
        self.tokens += int(lengths.sum())

    def close(self) -> dict:
        try:
            self._write_index()
            self.files.commit()
        finally:
            self._drop_lengths()
        return {"files": [self.prefix.name + ".bin", self.prefix.name + ".idx"], "documents": self.documents,
                "tokens": self.tokens, "dtype": self.dtype.name}

    def abort(self) -> None:
        self.files.abort()
        self._drop_lengths()

    def _drop_lengths(self) -> None:
        self._lengths.close()
        self._lengths_path.unlink(missing_ok=True)

    def _write_index(self) -> None:
        n, item = self.documents, self.dtype.itemsize
        idx = self.files.open(self.prefix.with_suffix(".idx"))
        idx.write(MAGIC + struct.pack("<Q", 1) + struct.pack("<B", CODES[self.dtype]))
        idx.write(struct.pack("<Q", n) + struct.pack("<Q", n + 1))
        self._lengths.flush()
        lengths = np.memmap(self._lengths_path, np.int32, "r", shape=(n,)) if n else np.zeros(0, np.int32)
        for lo in range(0, n, _CHUNK):
            idx.write(np.ascontiguousarray(lengths[lo: lo + _CHUNK]).tobytes())
        pointer = 0  # byte offset of each document in .bin
        for lo in range(0, n, _CHUNK):
            part = lengths[lo: lo + _CHUNK].astype(np.int64) * item
            starts = np.concatenate([[0], np.cumsum(part)[:-1]]) + pointer
            idx.write(starts.astype(np.int64).tobytes())
            pointer += int(part.sum())
        for lo in range(0, n + 1, _CHUNK):
            idx.write(np.arange(lo, min(n + 1, lo + _CHUNK), dtype=np.int64).tobytes())
        del lengths
