"""Held-out bits per byte as a function of the mixture weights, fitted over proxy runs (RegMix-style),
and the weights it predicts best. Pure numpy: weights W (runs x sources, rows on the simplex), bpb y.

The models are Scheffé mixture polynomials (no intercept: the weights sum to 1, so an intercept is
already a combination of the linear terms): linear  y = Σ b_i w_i,  quadratic  adds Σ_{i<j} b_ij w_i w_j.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

RIDGE = 1e-6  # keeps the solve defined when a few runs cannot pin every term; negligible otherwise


def features(W: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return W
    pairs = [W[:, i] * W[:, j] for i, j in combinations(range(W.shape[1]), 2)]
    return np.column_stack([W, *pairs]) if pairs else W


def n_terms(k: int, kind: str) -> int:
    return k if kind == "linear" else k + k * (k - 1) // 2


def fit_coef(W: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    X = features(W, kind)
    return np.linalg.solve(X.T @ X + RIDGE * len(y) * np.eye(X.shape[1]), X.T @ y)


def predict(coef: np.ndarray, W: np.ndarray, kind: str) -> np.ndarray:
    return features(np.atleast_2d(W), kind) @ coef


def loo_predictions(W: np.ndarray, y: np.ndarray, kind: str) -> np.ndarray:
    """Each run predicted by the model fitted to all the others."""
    out = np.empty(len(y))
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        out[i] = predict(fit_coef(W[keep], y[keep], kind), W[i], kind)[0]
    return out


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / sst if sst > 0 else float("nan")


def fit(W: np.ndarray, y: np.ndarray, kind: str = "auto") -> dict:
    """The chosen model, its coefficients, in-sample and leave-one-out R², and the LOO predictions.
    auto: of the models with at least two runs more than terms, the better leave-one-out R²."""
    kinds = [kind] if kind != "auto" else [k for k in ("linear", "quadratic") if len(y) >= n_terms(W.shape[1], k) + 2]
    if not kinds:
        need = n_terms(W.shape[1], "linear" if kind == "auto" else kind) + 2
        raise ValueError(f"{len(y)} proxy runs cannot fit a {'linear' if kind == 'auto' else kind} model of "
                         f"{W.shape[1]} sources: it needs at least {need}; raise proxy.runs")
    tried = {}
    for k in kinds:
        loo = loo_predictions(W, y, k)
        coef = fit_coef(W, y, k)
        tried[k] = {"kind": k, "coef": coef.tolist(), "r2_in_sample": r2(y, predict(coef, W, k)),
                    "r2_loo": r2(y, loo), "loo_predictions": loo.tolist()}
    best = max(tried.values(), key=lambda t: -np.inf if np.isnan(t["r2_loo"]) else t["r2_loo"])
    return {**best, "tried": {k: t["r2_loo"] for k, t in tried.items()}}


def feasible(W: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Rows within every source's cap (caps: the largest weight max_epochs allows, inf when none)."""
    return (W <= caps[None, :] + 1e-12).all(axis=1)


def sample_weights(rng: np.random.Generator, alpha: np.ndarray, caps: np.ndarray, n: int,
                   tries: int = 1000) -> np.ndarray:
    """n Dirichlet(alpha) draws within the caps (rejection; caps that leave no room fail clearly)."""
    got: list[np.ndarray] = []
    for _ in range(tries):
        W = rng.dirichlet(alpha, size=max(n, 256))
        got.extend(W[feasible(W, caps)])
        if len(got) >= n:
            return np.array(got[:n])
    raise ValueError(f"max_epochs leave almost no room: fewer than {n} of {tries * max(n, 256):,} Dirichlet "
                     f"draws keep every weight under its cap {caps.round(4).tolist()}; relax max_epochs "
                     "or lower target.total_tokens")


def propose(coef: np.ndarray, kind: str, alpha: np.ndarray, caps: np.ndarray, seed: int,
            candidates: int = 200_000, top: int = 100) -> np.ndarray:
    """The weights minimising predicted bpb within the caps: the mean of the best `top` of many feasible
    candidates (RegMix's averaging: steadier than the single argmin of a noisy fit). Candidates come
    from the search's Dirichlet and from a flat one, so corners the prior rarely visits are tried too.
    The mean of feasible points is feasible (the caps and the simplex are convex)."""
    rng = np.random.default_rng([seed, 0xB357])
    k = len(alpha)
    W = np.vstack([rng.dirichlet(alpha, candidates // 2), rng.dirichlet(np.ones(k), candidates // 2)])
    W = W[feasible(W, caps)]
    if not len(W):
        raise ValueError("no candidate weights within max_epochs; relax max_epochs or lower target.total_tokens")
    best = np.argsort(predict(coef, W, kind))[:top]
    w = W[best].mean(axis=0)
    return w / w.sum()
