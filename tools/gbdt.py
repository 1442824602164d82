"""Gradient-boosted regression trees of fixed depth, in numpy (training only; the extract stage
evaluates the result with corpusmill.stages.extract_chooser.Trees).

Squared loss, features cut into at most `bins` quantile bins, every tree complete to `depth` (a node
that cannot split keeps both children equal), so that a tree is four flat arrays. Deterministic.
"""
from __future__ import annotations

import numpy as np


def _edges(col: np.ndarray, bins: int) -> np.ndarray:
    qs = np.unique(np.quantile(col, np.linspace(0, 1, bins + 1)[1:-1]))
    return qs


def fit(x: np.ndarray, y: np.ndarray, trees: int = 150, depth: int = 3, rate: float = 0.08,
        min_leaf: int = 15, bins: int = 32, weight: np.ndarray | None = None) -> dict:
    n, d = x.shape
    w = np.ones(n) if weight is None else weight.astype(float)
    edges = [_edges(x[:, j], bins) for j in range(d)]
    binned = np.stack([np.searchsorted(edges[j], x[:, j], side="left") for j in range(d)], axis=1)
    base = float(np.average(y, weights=w))
    pred = np.full(n, base)
    internal = 2 ** depth - 1
    feat = np.zeros((trees, internal), dtype=np.int64)
    thr = np.full((trees, internal), np.inf)
    leaf = np.zeros((trees, 2 ** depth))
    for t in range(trees):
        resid = y - pred
        node = np.zeros(n, dtype=np.int64)
        for i in range(internal):
            idx = np.nonzero(node == i)[0]
            best = _best_split(binned[idx], resid[idx], w[idx], edges, min_leaf) if len(idx) >= 2 * min_leaf else None
            if best is not None:
                feat[t, i], thr[t, i] = best
            right = x[idx, feat[t, i]] > thr[t, i]
            node[idx] = 2 * i + 1 + right
        for k in range(2 ** depth):
            idx = node == internal + k
            if idx.any():
                leaf[t, k] = rate * float(np.average(resid[idx], weights=w[idx]))
        pred += leaf[t, node - internal]
    return {"depth": depth, "base": base, "feature": feat.tolist(), "threshold": thr.tolist(),
            "leaf": leaf.tolist()}


def _best_split(b: np.ndarray, r: np.ndarray, w: np.ndarray, edges: list, min_leaf: int):
    """(feature, threshold) with the largest squared-error reduction, or None."""
    total_w, total_s = w.sum(), (w * r).sum()
    best_gain, best = 1e-12, None
    for j in range(b.shape[1]):
        nb = len(edges[j]) + 1
        if nb < 2:
            continue
        cw = np.cumsum(np.bincount(b[:, j], weights=w, minlength=nb))[:-1]
        cs = np.cumsum(np.bincount(b[:, j], weights=w * r, minlength=nb))[:-1]
        cn = np.cumsum(np.bincount(b[:, j], minlength=nb))[:-1]
        ok = (cn >= min_leaf) & (len(r) - cn >= min_leaf)
        if not ok.any():
            continue
        rw = total_w - cw
        gain = np.where(ok, cs ** 2 / np.maximum(cw, 1e-9) + (total_s - cs) ** 2 / np.maximum(rw, 1e-9), -np.inf)
        k = int(np.argmax(gain))
        g = gain[k] - total_s ** 2 / total_w
        if g > best_gain:
            best_gain, best = g, (j, float(edges[j][k]))
    return best


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    """Batch prediction (rows of x), the same walk as Trees.predict."""
    feat, thr, leaf = (np.asarray(model[k]) for k in ("feature", "threshold", "leaf"))
    depth = model["depth"]
    out = np.full(len(x), model["base"])
    rows = np.arange(len(x))
    for t in range(len(feat)):
        node = np.zeros(len(x), dtype=np.int64)
        for _ in range(depth):
            node = 2 * node + 1 + (x[rows, feat[t, node]] > thr[t, node])
        out += leaf[t, node - (2 ** depth - 1)]
    return out
