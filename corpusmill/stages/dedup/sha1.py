"""SHA-1 compiled by numba, for machines where OpenSSL's libcrypto cannot be loaded: returns
what datasketch's sha1_hash32 returns (the digest's first 4 bytes read little-endian)."""
from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None

U = np.uint64
MASK = U(0xFFFFFFFF)


def _rotl(x, n):
    return ((x << U(n)) | (x >> U(32 - n))) & MASK


def _pad_byte(buf, s, length, q, total):
    """Byte q of the padded message: data, 0x80, zeros, then the bit length big-endian."""
    if q < length:
        return U(buf[s + q])
    if q == length:
        return U(0x80)
    if q >= total - 8:
        return (U(length) * U(8) >> U(8 * (total - 1 - q))) & U(0xFF)
    return U(0)


def _first32(buf, s, length, w):
    total = ((length + 8) // 64 + 1) * 64
    h0, h1, h2, h3, h4 = U(0x67452301), U(0xEFCDAB89), U(0x98BADCFE), U(0x10325476), U(0xC3D2E1F0)
    for blk in range(0, total, 64):
        for j in range(16):
            q = blk + 4 * j
            if q + 4 <= length:  # the common case: four message bytes
                p = s + q
                w[j] = (U(buf[p]) << U(24)) | (U(buf[p + 1]) << U(16)) | (U(buf[p + 2]) << U(8)) | U(buf[p + 3])
            else:
                w[j] = ((_pad_byte(buf, s, length, q, total) << U(24)) | (_pad_byte(buf, s, length, q + 1, total) << U(16))
                        | (_pad_byte(buf, s, length, q + 2, total) << U(8)) | _pad_byte(buf, s, length, q + 3, total))
        for j in range(16, 80):
            w[j] = _rotl(w[j - 3] ^ w[j - 8] ^ w[j - 14] ^ w[j - 16], 1)
        a, b, c, d, e = h0, h1, h2, h3, h4
        for j in range(20):  # four loops, no branch per round
            t = (_rotl(a, 5) + ((b & c) | ((b ^ MASK) & d)) + e + U(0x5A827999) + w[j]) & MASK
            e, d, c, b, a = d, c, _rotl(b, 30), a, t
        for j in range(20, 40):
            t = (_rotl(a, 5) + (b ^ c ^ d) + e + U(0x6ED9EBA1) + w[j]) & MASK
            e, d, c, b, a = d, c, _rotl(b, 30), a, t
        for j in range(40, 60):
            t = (_rotl(a, 5) + ((b & c) | (b & d) | (c & d)) + e + U(0x8F1BBCDC) + w[j]) & MASK
            e, d, c, b, a = d, c, _rotl(b, 30), a, t
        for j in range(60, 80):
            t = (_rotl(a, 5) + (b ^ c ^ d) + e + U(0xCA62C1D6) + w[j]) & MASK
            e, d, c, b, a = d, c, _rotl(b, 30), a, t
        h0, h1, h2, h3, h4 = (h0 + a) & MASK, (h1 + b) & MASK, (h2 + c) & MASK, (h3 + d) & MASK, (h4 + e) & MASK
    return (((h0 & U(0xFF)) << U(24)) | (((h0 >> U(8)) & U(0xFF)) << U(16)) | (((h0 >> U(16)) & U(0xFF)) << U(8))
            | (h0 >> U(24)))


if njit is not None:
    _rotl = njit(inline="always", cache=True)(_rotl)
    _pad_byte = njit(inline="always", cache=True)(_pad_byte)
    first32 = njit(cache=True, nogil=True)(_first32)
else:  # pragma: no cover
    first32 = _first32
