"""Gopher quality and repetition rules (Rae et al. 2021, Table A1), as datatrove implements
them, computed from one shared word list and reporting every metric (not just the first
failure) so users can re-threshold. Thresholds and the order of checks are datatrove's."""
from __future__ import annotations

import re

from itertools import chain

import numpy as np
from datatrove.pipeline.filters.gopher_quality_filter import STOP_WORDS

from corpusmill.stages.quality.words import Chunk
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile("\n+")
DEFAULT_STOP_WORDS = {"en": tuple(STOP_WORDS)}


def gopher_quality_metrics(text: str, chunks: list[Chunk], totals: tuple[int, int, int, int],
                           stop_words: frozenset[str] | None) -> dict:
    """totals: chunk_totals(chunks), computed once per document."""
    n_words, n_non_symbol, non_symbol_chars, n_alpha = totals
    lines = text.splitlines() or [""]
    return {
        "words": n_non_symbol,
        "mean_word_length": non_symbol_chars / n_non_symbol if n_non_symbol else 0.0,
        "hash_ratio": text.count("#") / n_words if n_words else 0.0,
        "ellipsis_ratio": (text.count("...") + text.count("…")) / n_words if n_words else 0.0,
        "bullet_lines_ratio": sum(s.lstrip().startswith(("•", "-")) for s in lines) / len(lines),
        "ellipsis_lines_ratio": sum(s.rstrip().endswith(("...", "…")) for s in lines) / len(lines),
        "alpha_words_ratio": n_alpha / n_words if n_words else 0.0,
        "stop_words": len(stop_words.intersection(chain.from_iterable(c.tokens for c in chunks)))
        if stop_words is not None else -1,
    }


def gopher_quality_reason(m: dict, o, check_word_length: bool = True) -> str | None:
    """o: GopherQualityOptions. Word length means nothing for scripts without spaces."""
    if o.min_doc_words and m["words"] < o.min_doc_words:
        return "short_doc"
    if o.max_doc_words and m["words"] > o.max_doc_words:
        return "long_doc"
    if check_word_length:
        if o.min_avg_word_length and m["mean_word_length"] < o.min_avg_word_length:
            return "below_avg_word_length"
        if o.max_avg_word_length and m["mean_word_length"] > o.max_avg_word_length:
            return "above_avg_word_length"
    if o.max_symbol_word_ratio and m["hash_ratio"] > o.max_symbol_word_ratio:
        return "too_many_hashes"
    if o.max_symbol_word_ratio and m["ellipsis_ratio"] > o.max_symbol_word_ratio:
        return "too_many_ellipsis"
    if o.max_bullet_lines_ratio and m["bullet_lines_ratio"] > o.max_bullet_lines_ratio:
        return "too_many_bullets"
    if o.max_ellipsis_lines_ratio and m["ellipsis_lines_ratio"] > o.max_ellipsis_lines_ratio:
        return "too_many_end_ellipsis"
    if o.max_non_alpha_words_ratio and m["alpha_words_ratio"] < o.max_non_alpha_words_ratio:
        return "below_alpha_threshold"
    if o.min_stop_words and m["stop_words"] >= 0 and m["stop_words"] < o.min_stop_words:
        return "not_enough_stop_words"
    return None


def _duplicates(items: list[str]) -> tuple[int, int]:
    """Repeated elements and their characters (each repeat after the first occurrence)."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


def _ngram_ids(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit key per n-gram of word ids (polynomial hash; collisions ~2^-64)."""
    keys = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            keys = keys * np.uint64(1_000_003) + ids[j: len(ids) - n + 1 + j]
    return keys


def _dup_ngram_chars(keys: np.ndarray, inverse: np.ndarray, counts: np.ndarray, window_chars: np.ndarray,
                     n: int) -> int:
    """datatrove's find_all_duplicate: scan left to right; an n-gram seen at an earlier visited
    position adds its characters and the scan jumps past it (skipping the next n-1 positions).
    Only positions of n-grams occurring more than once can matter, so only those are walked."""
    pos = np.flatnonzero(counts[inverse] > 1)
    if not len(pos):
        return 0
    seen: set[int] = set()
    total, last_dup = 0, -n
    for p, k, c in zip(pos.tolist(), keys[pos].tolist(), window_chars[pos].tolist()):
        if p < last_dup + n:  # skipped by the jump after the last repeat
            continue
        if k in seen:
            total += c
            last_dup = p
        else:
            seen.add(k)
    return total


def repetition_metrics(text: str, chunks: list[Chunk], n_words: int, top_ns, dup_ns, sep: int) -> dict:
    """sep: characters between words in an n-gram string (1 for spaced scripts, 0 without)."""
    paragraphs = _PARAGRAPHS.split(text.strip())
    p_dup, p_chars = _duplicates(paragraphs)
    lines = _LINES.split(text)
    l_dup, l_chars = _duplicates(lines)
    size = len(text) or 1
    m = {"dup_para_frac": p_dup / len(paragraphs), "dup_para_char_frac": p_chars / size,
         "dup_line_frac": l_dup / len(lines), "dup_line_char_frac": l_chars / size}
    ids = np.fromiter(chain.from_iterable(c.ids for c in chunks), dtype=np.uint64, count=n_words)
    lengths = np.fromiter(chain.from_iterable(c.lens for c in chunks), dtype=np.int64, count=n_words)
    csum = np.concatenate([[0], np.cumsum(lengths)])
    tops, dups = {n for n, _ in top_ns}, {n for n, _ in dup_ns}
    no_repeat_below = None  # a repeated n-gram contains a repeated shorter one: once none repeat, stop
    for n in sorted(tops | dups):
        if n_words < n or (no_repeat_below is not None and n > no_repeat_below):
            if n in tops:
                m[f"top_{n}_gram_frac"] = 0.0 if n_words < n else _top_single(csum, n, sep) / size
            if n in dups:
                m[f"dup_{n}_gram_frac"] = 0.0
            continue
        keys = _ngram_ids(ids, n)
        chars = csum[n:] - csum[:-n]
        uniq, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        if n in tops:
            top = counts.max()
            m[f"top_{n}_gram_frac"] = int(top * (chars[first[counts == top].min()] + sep * (n - 1))) / size
        if n in dups:
            m[f"dup_{n}_gram_frac"] = _dup_ngram_chars(keys, inverse, counts, chars, n) / size
        if len(uniq) == len(keys):
            no_repeat_below = n
    return m


def _top_single(csum: np.ndarray, n: int, sep: int) -> int:
    """When no n-gram repeats, Counter.most_common picks the first one, seen once."""
    return int(csum[n] - csum[0] + sep * (n - 1))


def repetition_reason(m: dict, o) -> str | None:
    """o: GopherRepetitionOptions; checks in datatrove's order."""
    if not m:
        return "empty"
    for key in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"):
        limit = getattr(o, key)
        if limit and m[key] > limit:
            return key
    for n, limit in o.top_n_grams:
        if m[f"top_{n}_gram_frac"] > limit:
            return f"top_{n}_gram"
    for n, limit in o.dup_n_grams:
        if m[f"dup_{n}_gram_frac"] > limit:
            return f"duplicated_{n}_n_grams"
    return None
