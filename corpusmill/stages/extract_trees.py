"""Fixed-depth boosted regression trees evaluated with numpy: the `auto` extraction engine's models
(trained by tools/gbdt.py)."""
from __future__ import annotations

import numpy as np


class Trees:
    """Fixed-depth boosted regression trees: node i's children are 2i+1 (<= threshold) and 2i+2."""

    def __init__(self, spec: dict):
        self.depth = spec["depth"]
        self.base = spec["base"]
        self.feature = np.asarray(spec["feature"], dtype=np.int64)  # (trees, internal nodes)
        self.threshold = np.asarray(spec["threshold"], dtype=np.float64)
        self.leaf = np.asarray(spec["leaf"], dtype=np.float64)  # (trees, 2**depth), learning rate applied
        self.rows = np.arange(len(self.feature))

    def predict(self, x: np.ndarray) -> float:
        node = np.zeros(len(self.feature), dtype=np.int64)
        for _ in range(self.depth):
            node = 2 * node + 1 + (x[self.feature[self.rows, node]] > self.threshold[self.rows, node])
        return float(self.base + self.leaf[self.rows, node - (2 ** self.depth - 1)].sum())

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """predict() for each row of a matrix at once."""
        node = np.zeros((len(x), len(self.feature)), dtype=np.int64)
        for _ in range(self.depth):
            f = self.feature[self.rows, node]
            node = 2 * node + 1 + (np.take_along_axis(x, f, axis=1) > self.threshold[self.rows, node])
        return self.base + self.leaf[self.rows, node - (2 ** self.depth - 1)].sum(axis=1)
