"""MinHash signatures identical to datasketch's (2.0, default `affine32` scheme):
h = first 4 bytes of sha1(shingle) read little-endian, pre-mixed by MurmurHash3's fmix32, then
per permutation k: (a_k * h + b_k) mod 2^32, a and b drawn as datasketch draws them from
np.random.RandomState(seed). A shingle is the UTF-8 bytes of n consecutive tokens of the
normalised text joined by one space (the whole text when it has fewer than n tokens).

Kernels, all giving the same signatures: `numba` (shingling, SHA-1 through OpenSSL's
SHA1_* -- hashlib's own implementation, SHA-NI where the CPU has it -- or a compiled SHA-1 when
libcrypto cannot be found, fmix and permutations, one pass, no Python per shingle) and `numpy`
(hashlib per shingle, permutations vectorised over a batch: the fallback and a benchmark peer).
"""
from __future__ import annotations

import ctypes.util
import hashlib
import struct

import numpy as np

from corpusmill.stages.dedup import sha1

try:
    import numba
    from numba import njit, types
except ImportError:  # pragma: no cover
    numba = None


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch.MinHash(num_perm, seed)._init_permutations for the affine32 scheme."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingles(normalised: bytes, n: int) -> list[bytes]:
    if not normalised:
        return []
    toks = normalised.split(b" ")
    return [b" ".join(toks[i:i + n]) for i in range(max(1, len(toks) - n + 1))]


def signatures_numpy(texts: list[bytes], n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """texts: normalised UTF-8 documents. Rows of uint32 max for documents with no shingle."""
    out = np.full((len(texts), len(a)), np.uint32(0xFFFFFFFF), np.uint32)
    for i, t in enumerate(texts):
        sh = shingles(t, n)
        if not sh:
            continue
        hv = np.fromiter((sha1_hash32(s) for s in sh), np.uint32, len(sh))
        phv = fmix32(hv)[:, None] * a[None, :] + b[None, :]  # uint32 arithmetic wraps: mod 2^32
        out[i] = phv.min(axis=0)
    return out


def _load_libcrypto() -> bool:
    """Make OpenSSL's SHA1_Init/Update/Final callable from compiled code, if libcrypto exists."""
    if numba is None:
        return False
    try:
        import llvmlite.binding as llvm

        name = ctypes.util.find_library("crypto")
        if not name:
            return False
        lib = ctypes.CDLL(name)
        if not all(hasattr(lib, f) for f in ("SHA1_Init", "SHA1_Update", "SHA1_Final")):
            return False
        llvm.load_library_permanently(name)
        return True
    except OSError:
        return False


HAVE_OPENSSL = _load_libcrypto()


if numba is not None:
    _I = types.ExternalFunction("SHA1_Init", types.int32(types.intp))
    _U = types.ExternalFunction("SHA1_Update", types.int32(types.intp, types.intp, types.intp))
    _F = types.ExternalFunction("SHA1_Final", types.int32(types.intp, types.intp))
    _M = np.uint64(0xFFFFFFFF)

    def _make_kernel(use_openssl: bool):
        @njit(cache=True, nogil=True)
        def kernel(buf, offsets, n, a, b, out, hashes, hoff):
            """buf/offsets: normalised documents; out[d] = signature of document d. With a
            non-empty `hashes`, also each document's sorted distinct shingle hashes, at hoff."""
            P = a.shape[0]
            keep = hashes.shape[0] > 0
            w0 = 0
            starts = np.empty(1024, np.int64)
            md = np.zeros(24, np.uint8)
            ctx = np.zeros(128, np.uint8)  # > sizeof(SHA_CTX) = 96
            w = np.empty(80, np.uint64)
            base, mdp, cp = buf.ctypes.data, md.ctypes.data, ctx.ctypes.data
            for d in range(offsets.shape[0] - 1):
                s0, s1 = offsets[d], offsets[d + 1]
                row = out[d]
                for p in range(P):
                    row[p] = np.uint32(0xFFFFFFFF)
                if keep:
                    hoff[d] = w0
                if s1 == s0:
                    continue
                if starts.shape[0] < s1 - s0 + 2:
                    starts = np.empty(s1 - s0 + 2, np.int64)
                starts[0] = s0
                nt = 1
                for i in range(s0, s1):
                    if buf[i] == 32:
                        starts[nt] = i + 1
                        nt += 1
                starts[nt] = s1 + 1  # where a token after the last would start
                for i in range(max(1, nt - n + 1)):
                    st = starts[i]
                    ln = starts[min(i + n, nt)] - 1 - st
                    if use_openssl:
                        _I(cp)
                        _U(cp, base + st, ln)
                        _F(mdp, cp)
                        h = (np.uint64(md[0]) | (np.uint64(md[1]) << np.uint64(8)) | (np.uint64(md[2]) << np.uint64(16))
                             | (np.uint64(md[3]) << np.uint64(24)))
                    else:
                        h = sha1.first32(buf, st, ln, w)
                    if keep:
                        hashes[w0 + i] = np.uint32(h)
                    h ^= h >> np.uint64(16)
                    h = (h * np.uint64(0x85EBCA6B)) & _M
                    h ^= h >> np.uint64(13)
                    h = (h * np.uint64(0xC2B2AE35)) & _M
                    h ^= h >> np.uint64(16)
                    for p in range(P):
                        v = np.uint32((np.uint64(a[p]) * h + np.uint64(b[p])) & _M)
                        if v < row[p]:
                            row[p] = v
                if keep:  # sort this document's hashes and drop repeats, in place
                    m = max(1, nt - n + 1)
                    seg = np.sort(hashes[w0:w0 + m])
                    k = 0
                    for i in range(m):
                        if i == 0 or seg[i] != seg[i - 1]:
                            hashes[w0 + k] = seg[i]
                            k += 1
                    w0 += k
            if keep:
                hoff[offsets.shape[0] - 1] = w0
            return out
        return kernel

    _KERNELS = {"openssl": _make_kernel(True) if HAVE_OPENSSL else None, "sha1": _make_kernel(False)}


def best_kernel() -> str:
    if numba is None:
        return "numpy"
    return "numba-openssl" if HAVE_OPENSSL else "numba"


def signatures(buf: np.ndarray, offsets: np.ndarray, n: int, a: np.ndarray, b: np.ndarray,
               kernel: str | None = None, with_hashes: bool = False):
    """Signatures of normalised documents given as (UTF-8 bytes, int64 offsets); with_hashes:
    also (sorted distinct 32-bit shingle hashes of all documents, their int64 offsets)."""
    kernel = kernel or best_kernel()
    docs = len(offsets) - 1
    if kernel == "numpy":
        texts = [buf[offsets[i]:offsets[i + 1]].tobytes() for i in range(docs)]
        sig = signatures_numpy(texts, n, a, b)
        if not with_hashes:
            return sig
        hs = [np.unique(np.array([sha1_hash32(x) for x in shingles(t, n)], np.uint32)) for t in texts]
        return sig, np.concatenate(hs) if hs else np.zeros(0, np.uint32), np.r_[0, np.cumsum([len(h) for h in hs])]
    fn = _KERNELS["openssl" if kernel == "numba-openssl" else "sha1"]
    if fn is None:
        raise ValueError(f"kernel {kernel!r} is not available here")
    out = np.empty((docs, len(a)), np.uint32)
    hashes = np.empty(len(buf) // 2 + docs + 1 if with_hashes else 0, np.uint32)
    hoff = np.zeros(docs + 1, np.int64)
    fn(np.ascontiguousarray(buf), offsets.astype(np.int64), n, a, b, out, hashes, hoff)
    return (out, hashes[:hoff[-1]], hoff) if with_hashes else out


def sha1_hash32(data: bytes) -> int:
    return struct.unpack("<I", hashlib.sha1(data).digest()[:4])[0]


def jaccard_sorted(x: np.ndarray, y: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct values."""
    if not len(x) and not len(y):
        return 0.0
    inter = len(np.intersect1d(x, y, assume_unique=True))
    return inter / (len(x) + len(y) - inter)


def band_keys(sigs: np.ndarray, bands: int, rows: int, salt: int = 0) -> np.ndarray:
    """One 64-bit key per (document, band): the band's `rows` values and its index, mixed."""
    n = sigs.shape[0]
    v = sigs[:, :bands * rows].reshape(n, bands, rows).astype(np.uint64)
    h = np.full((n, bands), np.uint64(salt) ^ np.uint64(0x9E3779B97F4A7C15), np.uint64)
    h ^= np.arange(bands, dtype=np.uint64)[None, :] * np.uint64(0xD6E8FEB86659FD93)
    with np.errstate(over="ignore"):
        for r in range(rows):
            h = _mix64(h ^ v[:, :, r])
    return h


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on 64 bits that spreads every input bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
