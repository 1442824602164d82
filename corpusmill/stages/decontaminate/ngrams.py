"""Hashed word n-grams of documents, over dedup's normalisation (corpusmill.stages.dedup.text):
lowercase, accents and punctuation gone, digit runs -> "0", one token per character in scripts
written without spaces. A token hashes with FNV-1a over its normalised bytes; an n-gram is a
polynomial over its n token hashes, finished with splitmix64, so reference and documents hash alike.
`token_spans` finds the same tokens in the original text (character offsets) for redaction."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpusmill.stages.dedup.text import (CHAR_TOKEN, DROP, SEP, TABLE_SIZE, normalize_column, table,
                                          utf8_buffers)

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; the Python path still works
    njit = None

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3
POLY = 0x9E3779B97F4A7C15  # odd: multiplying by it is a bijection mod 2^64


def _token_hashes(data, offsets, out, tok_offsets):
    """FNV-1a of every space-separated token of every document; tok_offsets[d] is doc d's first."""
    t = 0
    for d in range(offsets.shape[0] - 1):
        tok_offsets[d] = t
        h = np.uint64(FNV_OFFSET)
        inside = False
        for i in range(offsets[d], offsets[d + 1]):
            b = data[i]
            if b == 32:
                out[t] = h
                t += 1
                h = np.uint64(FNV_OFFSET)
                inside = False
            else:
                h = (h ^ np.uint64(b)) * np.uint64(FNV_PRIME)
                inside = True
        if inside:
            out[t] = h
            t += 1
    tok_offsets[offsets.shape[0] - 1] = t
    return t


def _ngram_hashes(tok, tok_offsets, n, out, ng_offsets):
    """Every document's n-grams (tokens i..i+n-1, for i in 0..T-n) hashed; none when T < n."""
    g = 0
    for d in range(tok_offsets.shape[0] - 1):
        ng_offsets[d] = g
        lo, hi = tok_offsets[d], tok_offsets[d + 1]
        for i in range(lo, hi - n + 1):
            h = np.uint64(0)
            for j in range(n):
                h = h * np.uint64(POLY) + tok[i + j]
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            out[g] = h ^ (h >> np.uint64(31))
            g += 1
    ng_offsets[tok_offsets.shape[0] - 1] = g


_jit = (lambda f: njit(cache=True, nogil=True)(f)) if njit else (lambda f: f)
_token_hashes_k = _jit(_token_hashes)
_ngram_hashes_k = _jit(_ngram_hashes)


def ngram_hashes(texts: pa.Array | list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes uint64, offsets int64, tokens per document): document d's n-grams are
    hashes[offsets[d]:offsets[d + 1]], in order, the k-th starting at the document's k-th token."""
    col = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.large_string())
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    data, offsets = utf8_buffers(col)
    norm, off, _ = normalize_column(data, offsets)
    ntok = int(np.count_nonzero(norm == 32)) + len(col)
    tok, tok_off = np.empty(ntok, np.uint64), np.empty(len(col) + 1, np.int64)
    _token_hashes_k(norm, off, tok, tok_off)
    per_doc = np.maximum(np.diff(tok_off) - n + 1, 0)
    out, ng_off = np.empty(int(per_doc.sum()), np.uint64), np.empty(len(col) + 1, np.int64)
    _ngram_hashes_k(tok, tok_off, n, out, ng_off)
    return out, ng_off, np.diff(tok_off)


def token_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the tokens the normaliser makes of `text`, in order."""
    t, spans, start, end = table(), [], None, 0
    for i, ch in enumerate(text):
        cp = ord(ch)
        c = int(t[cp]) if cp < TABLE_SIZE else (CHAR_TOKEN if cp < 0x40000 else DROP)
        if c == DROP:
            continue
        if c == SEP or c == CHAR_TOKEN:
            if start is not None:
                spans.append((start, end))
                start = None
            if c == CHAR_TOKEN:
                spans.append((i, i + 1))
        else:
            if start is None:
                start = i
            end = i + 1
    if start is not None:
        spans.append((start, end))
    return spans
