"""Membership of n-gram hashes in a reference set: a sorted array of the distinct 64-bit hashes
(8 bytes each, and 1-2 for a table of where their top bits start; exact up to a 64-bit hash
collision: p ~ size / 2^64 per look-up), or a Bloom filter (fewer bytes for large sets, a chosen
false-positive rate per look-up). Both are plain numpy arrays,
so a stage holding them travels through Ray's object store once and workers read it in place."""
from __future__ import annotations

import math

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None


class ExactIndex:
    """Sorted distinct hashes plus where each value of their top bits starts (one entry per 2-4
    hashes: 1-2 bytes more per n-gram): a look-up scans a few neighbours instead of a binary
    search over the whole array (about 3x faster on 300k n-grams)."""

    kind = "exact"

    def __init__(self, hashes: np.ndarray):
        self.hashes = np.unique(hashes.astype(np.uint64, copy=False))
        self.shift = 64 - max(1, math.ceil(math.log2(max(2, len(self.hashes) // 4))))
        top = self.hashes >> np.uint64(self.shift)
        wide = np.int64 if len(self.hashes) >= 2 ** 31 else np.int32
        self.starts = np.searchsorted(top, np.arange((1 << (64 - self.shift)) + 1, dtype=np.uint64)).astype(wide)

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.starts.nbytes)

    def contains(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), bool)
        if len(self.hashes) and len(h):
            _exact_contains_k(self.hashes, self.starts, np.uint64(self.shift), h.astype(np.uint64, copy=False), out)
        return out

    def describe(self) -> dict:
        return {"index": self.kind, "ngrams": len(self), "bytes": self.nbytes,
                "false_positive_rate": len(self) / 2.0 ** 64}


def _exact_contains(hashes, starts, shift, needles, out):
    for j in range(needles.shape[0]):
        h = needles[j]
        b = h >> shift
        for i in range(starts[b], starts[b + 1]):
            if hashes[i] >= h:
                out[j] = hashes[i] == h
                break


def _probe(h, i, m):
    """Bit i of a key: a splitmix64 mix of (h, i), mod m. Independent probes, not double hashing
    (h1 + i*h2): that one's probe sequences of two keys overlap often enough to add a false-positive
    term of order 1/m, far above the target in a small filter (measured 2e-5 where 1e-6 was asked)."""
    x = h + (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (x ^ (x >> np.uint64(31))) % m


def _bloom_add(bits, m, k, hashes):
    for h in hashes:
        for i in range(k):
            p = _probe(h, np.uint64(i), m)
            bits[p >> np.uint64(6)] |= np.uint64(1) << (p & np.uint64(63))


def _bloom_contains(bits, m, k, hashes, out):
    for j in range(hashes.shape[0]):
        found = True
        for i in range(k):
            p = _probe(hashes[j], np.uint64(i), m)
            if not (bits[p >> np.uint64(6)] >> (p & np.uint64(63))) & np.uint64(1):
                found = False
                break
        out[j] = found


_jit = (lambda f: njit(cache=True, nogil=True)(f)) if njit else (lambda f: f)
_exact_contains_k = _jit(_exact_contains)
_probe = _jit(_probe)
_bloom_add_k = _jit(_bloom_add)
_bloom_contains_k = _jit(_bloom_contains)


class BloomIndex:
    kind = "bloom"

    def __init__(self, capacity: int, false_positive_rate: float):
        """Sized for `capacity` insertions at the rate: m = -n ln p / ln(2)^2 bits, k = m/n ln 2 probes."""
        n = max(1, capacity)
        self.m = max(64, math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2))
        self.k = max(1, round(self.m / n * math.log(2)))
        self.bits = np.zeros((self.m + 63) // 64, np.uint64)
        self.capacity, self.target_rate, self.added = n, false_positive_rate, 0

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)

    def add(self, hashes: np.ndarray) -> None:
        _bloom_add_k(self.bits, np.uint64(self.m), self.k, hashes.astype(np.uint64, copy=False))
        self.added += len(hashes)

    def contains(self, h: np.ndarray) -> np.ndarray:
        out = np.zeros(len(h), bool)
        if len(h):
            _bloom_contains_k(self.bits, np.uint64(self.m), self.k, h.astype(np.uint64, copy=False), out)
        return out

    def rate(self) -> float:
        """The false-positive rate at the fill reached (bits set / m, to the k)."""
        ones = int(np.unpackbits(self.bits.view(np.uint8)).sum())
        return (ones / self.m) ** self.k

    def describe(self) -> dict:
        return {"index": self.kind, "ngrams": self.added, "bytes": self.nbytes, "bits": self.m, "probes": self.k,
                "false_positive_rate": self.rate(), "target_false_positive_rate": self.target_rate}
