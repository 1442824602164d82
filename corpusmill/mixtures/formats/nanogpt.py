"""nanoGPT's data files (and llm.c's before it added a header): SPLIT.bin is every token of the
split back to back, no header, no index, read by nanoGPT's train.py as
`np.memmap(path, dtype=np.uint16, mode='r')`; meta.pkl holds {'vocab_size': V}, which train.py reads
to size the model. Documents keep their BOS/EOS, which are the only document boundaries nanoGPT sees.

uint16 while every id fits (vocab_size <= 65,536); a larger vocabulary is written as uint32 and
train.py's two np.uint16 memmaps must be changed to np.uint32 (meta.pkl and meta.json say `dtype`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from corpusmill.mixtures.formats.staged import StagedFiles


def nanogpt_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size <= 65_536 else np.uint32)


class NanoGPTWriter:
    def __init__(self, path: Path, vocab_size: int):
        self.path, self.dtype = Path(path), nanogpt_dtype(vocab_size)
        self.files = StagedFiles()
        self._fh = self.files.open(self.path)
        self.documents = self.tokens = 0

    def write(self, tokens: np.ndarray, lengths: np.ndarray, codes: np.ndarray, names: list[str]) -> None:
        self._fh.write(np.ascontiguousarray(tokens, self.dtype))  # the buffer itself: no bytes copy
        self.documents += len(lengths)
        self.tokens += int(lengths.sum())

    def close(self) -> dict:
        self.files.commit()
        return {"files": [self.path.name], "documents": self.documents, "tokens": self.tokens,
                "dtype": self.dtype.name}

    def abort(self) -> None:
        self.files.abort()
