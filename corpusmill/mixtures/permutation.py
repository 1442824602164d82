"""A random permutation of [0, n) that is a pure function of (n, seed, epoch, index): a Feistel
network on the next power-of-four domain with cycle-walking. O(1) memory whatever n, so the
sample order never has to be stored, and resume needs only the count of samples consumed."""
from __future__ import annotations

import numpy as np

_ROUNDS = 4
_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def permute(index: np.ndarray | int, n: int, seed: int, epoch: int = 0) -> np.ndarray | int:
    """Image of `index` (an int or an array) under the permutation of [0, n) chosen by (seed, epoch)."""
    if n <= 0:
        raise ValueError("n must be positive")
    idx = np.atleast_1d(np.asarray(index, dtype=np.uint64))
    if np.any(idx >= np.uint64(n)):
        raise IndexError(f"index out of range for n={n}")
    half_bits = max(1, int(np.ceil(np.log2(n) / 2))) if n > 1 else 1
    mask = np.uint64((1 << half_bits) - 1)
    keys = _mix(np.arange(_ROUNDS, dtype=np.uint64) + _mix(np.array([seed * 1_000_003 + epoch], dtype=np.uint64)))
    out = idx.copy()
    todo = np.ones(len(out), dtype=bool)
    x = out.copy()
    while todo.any():  # cycle-walk: re-encrypt until the value falls inside [0, n)
        left, right = x[todo] >> np.uint64(half_bits), x[todo] & mask
        for k in keys:
            left, right = right, left ^ (_mix(right ^ k) & mask)
        y = (left << np.uint64(half_bits)) | right
        x[todo] = y
        inside = np.zeros(len(x), dtype=bool)
        inside[todo] = y < np.uint64(n)
        out[inside] = x[inside]
        todo &= ~inside
    return out.astype(np.int64) if np.ndim(index) else int(out[0])
