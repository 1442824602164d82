"""Text and URL normalisation for deduplication.

Text: lowercase, accents stripped (NFD, combining marks dropped), every run of digits -> "0",
punctuation, symbols and whitespace -> one space. The digits themselves are hashed on the side
(FNV-1a), so the exact key can tell "page 1" from "page 2" while shingles do not. Scripts written without spaces (Han, kana,
Thai, Lao, Khmer, Myanmar) become one token per character, so word n-grams are character
n-grams there. One table per code point drives both the compiled normaliser (numba, over the
UTF-8 bytes of an Arrow string column) and the pure-Python one, which tests hold it to.
"""
from __future__ import annotations

import unicodedata
from functools import cache
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEP, DROP, DIGIT, CHAR_TOKEN = -1, -2, -3, -4
TABLE_SIZE = 0x20000  # planes 0-1; plane 2+ is CJK (char tokens), planes 14+ drop (tags, selectors)
_CHAR_TOKEN_RANGES = [(0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x3040, 0x30FF),
                      (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]


def _classify(cp: int) -> int:
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me"):
        return DROP
    if cat == "Nd":
        return DIGIT
    if cat[0] in "PSZC" and cat != "Co":
        return SEP
    if any(lo <= cp <= hi for lo, hi in _CHAR_TOKEN_RANGES):
        return CHAR_TOKEN
    low = ch.lower()
    base = "".join(c for c in unicodedata.normalize("NFD", low) if unicodedata.category(c) not in ("Mn", "Me"))
    if len(base) == 1:
        return ord(base)
    return ord(low) if len(low) == 1 else cp  # e.g. Hangul syllables: NFD would split them into jamo


@cache
def table() -> np.ndarray:
    t = np.fromiter((_classify(cp) for cp in range(TABLE_SIZE)), np.int32, TABLE_SIZE)
    t[0xD800:0xE000] = SEP  # surrogates never occur in valid UTF-8
    return t


def _lookup(t: np.ndarray, cp: int) -> int:
    if cp < TABLE_SIZE:
        return int(t[cp])
    return CHAR_TOKEN if cp < 0x40000 else DROP


def normalize_py(text: str) -> str:
    """The reference: what the compiled normaliser must produce, token for token."""
    t, out, cur, last = table(), [], [], None
    for ch in text:
        c = _lookup(t, ord(ch))
        if c == DROP:
            continue
        if c == DIGIT:
            if last != DIGIT:
                cur.append("0")
        elif c == SEP or c == CHAR_TOKEN:
            if cur:
                out.append("".join(cur))
                cur = []
            if c == CHAR_TOKEN:
                out.append(ch)
        else:
            cur.append(chr(c))
        last = c
    if cur:
        out.append("".join(cur))
    return " ".join(out)


FNV_OFFSET, FNV_PRIME, RUN_MARK = 0xCBF29CE484222325, 0x100000001B3, 0x2D


def digit_hash_py(text: str) -> int:
    """The side hash of the digits, runs marked apart: what the compiled normaliser returns."""
    t, h, last, m = table(), FNV_OFFSET, None, (1 << 64) - 1
    for ch in text:
        c = _lookup(t, ord(ch))
        if c == DROP:
            continue
        if c == DIGIT:
            if last != DIGIT:
                h = ((h ^ RUN_MARK) * FNV_PRIME) & m
            h = ((h ^ ord(ch)) * FNV_PRIME) & m
        last = c
    return h


try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; the Python path still works
    njit = None


def _normalize_utf8(data, offsets, tab, out, out_offsets, digits):
    """data/offsets: an Arrow string column's buffers; writes normalised UTF-8 to out.
    Tokens are separated by exactly one space (0x20), with none leading or trailing."""
    o = 0
    for d in range(offsets.shape[0] - 1):
        out_offsets[d] = o
        i, end = offsets[d], offsets[d + 1]
        start, last = o, SEP  # last class written; SEP at the start of a document
        dh = np.uint64(FNV_OFFSET)
        while i < end:
            b0 = int(data[i])  # int(): without numba, uint8 arithmetic would wrap
            if b0 < 0x80:
                cp, n = b0, 1
            elif b0 < 0xE0:
                cp, n = ((b0 & 0x1F) << 6) | (int(data[i + 1]) & 0x3F), 2
            elif b0 < 0xF0:
                cp, n = ((b0 & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F), 3
            else:
                cp = (((b0 & 0x07) << 18) | ((int(data[i + 1]) & 0x3F) << 12) | ((int(data[i + 2]) & 0x3F) << 6)
                      | (int(data[i + 3]) & 0x3F))
                n = 4
            c = int(tab[cp]) if cp < tab.shape[0] else (CHAR_TOKEN if cp < 0x40000 else DROP)
            if c == DROP:
                i += n
                continue
            if c == SEP:
                last = SEP
                i += n
                continue
            if c == CHAR_TOKEN or last == SEP or last == CHAR_TOKEN:
                if o > start:
                    out[o] = 32
                    o += 1
            if c == DIGIT:
                if last != DIGIT:
                    out[o] = 48
                    o += 1
                    dh = (dh ^ np.uint64(RUN_MARK)) * np.uint64(FNV_PRIME)
                dh = (dh ^ np.uint64(cp)) * np.uint64(FNV_PRIME)
            elif c == CHAR_TOKEN:
                for k in range(n):
                    out[o + k] = data[i + k]
                o += n
            else:  # a letter: write the mapped code point as UTF-8
                if c < 0x80:
                    out[o] = c
                    o += 1
                elif c < 0x800:
                    out[o] = 0xC0 | (c >> 6)
                    out[o + 1] = 0x80 | (c & 0x3F)
                    o += 2
                elif c < 0x10000:
                    out[o] = 0xE0 | (c >> 12)
                    out[o + 1] = 0x80 | ((c >> 6) & 0x3F)
                    out[o + 2] = 0x80 | (c & 0x3F)
                    o += 3
                else:
                    out[o] = 0xF0 | (c >> 18)
                    out[o + 1] = 0x80 | ((c >> 12) & 0x3F)
                    out[o + 2] = 0x80 | ((c >> 6) & 0x3F)
                    out[o + 3] = 0x80 | (c & 0x3F)
                    o += 4
            last = c if c < 0 else 0  # letters share one class
            i += n
        digits[d] = dh
    out_offsets[offsets.shape[0] - 1] = o
    return o


_normalize_utf8_jit = njit(cache=True, nogil=True)(_normalize_utf8) if njit else None


def utf8_buffers(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, int64 offsets) of a string column, without copying the text (nulls read as "")."""
    col = pc.fill_null(col, "")
    wide = pa.types.is_large_string(col.type)
    offsets = np.frombuffer(col.buffers()[1], np.int64 if wide else np.int32)[col.offset:col.offset + len(col) + 1]
    data = col.buffers()[2]
    return (np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)), offsets.astype(np.int64)


def normalize_column(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise every string of a column given as (UTF-8 bytes, int64 offsets).
    Returns (bytes, offsets) in the same layout, and each document's digit hash. A letter grows by at most one UTF-8 byte and a
    digit or separator never grows, so twice the input (plus one space per char) is enough."""
    n = offsets.shape[0] - 1
    out = np.empty(max(16, 2 * (int(offsets[-1]) - int(offsets[0])) + n), np.uint8)
    out_offsets = np.empty(n + 1, np.int64)
    digits = np.empty(n, np.uint64)
    fn = _normalize_utf8_jit or _normalize_utf8
    used = fn(data, offsets, table(), out, out_offsets, digits)
    return out[:used], out_offsets, digits


# --- URLs ---------------------------------------------------------------------------------

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref_src")


def normalize_url(url: str | None) -> str | None:
    """One key per page however it was linked: scheme, `www.`, default ports, fragments,
    trailing slashes, tracking parameters and query order do not matter; the path's case does."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return url.strip()
    if not host:
        return url.strip()
    if host.startswith("www."):
        host = host[4:]
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or ""
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith(_TRACKING))
    return f"{host}{path}" + (f"?{urlencode(query)}" if query else "")
