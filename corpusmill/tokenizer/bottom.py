"""Bottom-k by bytes: the documents of lowest key that fit a byte budget, without holding more
than about twice what is kept, whatever the number of documents fed."""
from __future__ import annotations

import numpy as np


class Bottom:
    """The lowest-key documents whose bytes fit `cap` (at least one), fed chunk by chunk.

    Sorts only when the buffer has grown as large as what is kept (amortised O(n log n) over
    the whole feed), and once a document has been cut, drops anything keyed above it on arrival:
    a prefix that stopped before that document can only stop earlier as more documents come."""

    def __init__(self, cap: int):
        self.cap, self.keys, self.nbytes = cap, [], []
        self.buffered, self.kept, self.cut = 0, 0, None

    def add(self, keys: np.ndarray, nbytes: np.ndarray) -> None:
        if self.cut is not None:
            m = keys <= self.cut  # ties kept: a smaller document of the same key sorts first
            keys, nbytes = keys[m], nbytes[m]
        if len(keys):
            self.keys.append(keys)
            self.nbytes.append(nbytes)
            self.buffered += len(keys)
            if self.buffered >= max(2 * self.kept, 1 << 16):
                self._prune()

    def _prune(self) -> None:
        keys, nbytes = np.concatenate(self.keys), np.concatenate(self.nbytes)
        order = np.lexsort((nbytes, keys))  # ties on key broken by size: same result in any feed order
        keys, nbytes = keys[order], nbytes[order]
        n = max(1, int(np.searchsorted(np.cumsum(nbytes), self.cap, side="right")))
        if n < len(keys):
            self.cut = keys[n] if self.cut is None else min(self.cut, keys[n])
        self.keys, self.nbytes = [keys[:n]], [nbytes[:n]]
        self.buffered = self.kept = n

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.keys:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        if len(self.keys) > 1 or self.buffered != self.kept:
            self._prune()
        return self.keys[0], self.nbytes[0]
