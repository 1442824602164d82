"""Gradient-boosted regression trees of fixed depth, in numpy (training only; the extract stage
evaluates the result with corpusmill.stages.extract_chooser.Trees).

Squared loss, features cut into at most `bins` quantile bins, every tree complete to `depth` (a node
that cannot split keeps both children equal), so that a tree is four flat arrays. Deterministic.
Each level of a tree is grown with three `np.bincount` calls over (node, feature, bin) at once: a
few hundred thousand rows of a hundred features train in about a second a tree.
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
    nb = max(len(e) for e in edges) + 1
    edge_table = np.full((d, max(nb - 1, 1)), np.inf)
    for j, e in enumerate(edges):
        edge_table[j, :len(e)] = e
    binned = np.stack([np.searchsorted(edges[j], x[:, j], side="left") for j in range(d)], axis=1)
    cell = binned + (np.arange(d) * nb)[None, :]  # (row, feature) -> feature * nb + bin
    base = float(np.average(y, weights=w))
    pred = np.full(n, base)
    internal = 2 ** depth - 1
    feat = np.zeros((trees, internal), dtype=np.int64)
    thr = np.full((trees, internal), np.inf)
    leaf = np.zeros((trees, 2 ** depth))
    wide_w = np.repeat(w, d)
    for t in range(trees):
        resid = y - pred
        node = np.zeros(n, dtype=np.int64)  # the row's node within the current level
        for level in range(depth):
            first, k_nodes = 2 ** level - 1, 2 ** level
            j, k, ok = _best_splits(cell, node, k_nodes, d, nb, resid, w, wide_w, min_leaf)
            feat[t, first:first + k_nodes] = np.where(ok, j, 0)
            thr[t, first:first + k_nodes] = np.where(ok, edge_table[j, np.minimum(k, edge_table.shape[1] - 1)], np.inf)
            right = binned[np.arange(n), feat[t, first + node]] > np.where(ok[node], k[node], nb)
            node = 2 * node + right
        sums = np.bincount(node, weights=w * resid, minlength=2 ** depth)
        wsum = np.bincount(node, weights=w, minlength=2 ** depth)
        leaf[t] = rate * np.where(wsum > 0, sums / np.maximum(wsum, 1e-300), 0.0)
        pred += leaf[t, node]
    return {"depth": depth, "base": base, "feature": feat.tolist(), "threshold": thr.tolist(),
            "leaf": leaf.tolist()}


def _best_splits(cell, node, k_nodes, d, nb, resid, w, wide_w, min_leaf):
    """Per node of one level: the (feature, bin) split with the largest squared-error reduction,
    and whether it exists (enough rows each side, a positive gain)."""
    size = k_nodes * d * nb
    flat = (cell + (node * (d * nb))[:, None]).ravel()
    cw = np.bincount(flat, weights=wide_w, minlength=size).reshape(k_nodes, d, nb)
    cs = np.bincount(flat, weights=np.repeat(w * resid, d), minlength=size).reshape(k_nodes, d, nb)
    cn = np.bincount(flat, minlength=size).reshape(k_nodes, d, nb)
    tw, ts, tn = cw[:, 0].sum(1), cs[:, 0].sum(1), cn[:, 0].sum(1)
    cw, cs, cn = (np.cumsum(a, axis=2)[:, :, :-1] for a in (cw, cs, cn))
    tw_, ts_, tn_ = tw[:, None, None], ts[:, None, None], tn[:, None, None]
    ok = (cn >= min_leaf) & (tn_ - cn >= min_leaf)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = cs ** 2 / np.maximum(cw, 1e-9) + (ts_ - cs) ** 2 / np.maximum(tw_ - cw, 1e-9)
    gain = np.where(ok, gain, -np.inf).reshape(k_nodes, -1)
    best = np.argmax(gain, axis=1)
    g = gain[np.arange(k_nodes), best] - ts ** 2 / np.maximum(tw, 1e-9)
    split = (tn >= 2 * min_leaf) & np.isfinite(g) & (g > 1e-12)
    return best // (nb - 1), best % (nb - 1), split


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
