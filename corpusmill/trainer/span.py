"""T5 span corruption for objective: span (Raffel et al. 2020, section 3.1.4; our own code after
T5's `random_spans_noise_mask` and `compute_input_and_target_lengths`).

A window of L tokens gets round(L x density) noise tokens in round(noise / mean_span) spans; the
noise and the non-noise tokens are each cut at random into that many non-empty spans, interleaved
non-noise first, so every window of length L has the same counts, hence the same input and target
lengths (no padding anywhere):

    tokens   a b c d e f g h           (noise: c d, g)
    inputs   a b <s0> e f <s1> h </s>  non-noise tokens, each noise span replaced by one sentinel
    targets  <s0> c d <s1> g </s>      each noise span after the sentinel that stands for it

Sentinels are ids appended after the tokenizer's vocabulary (as [MASK] is for mlm): sentinel k is
vocab_size + k. The corruption of a sample is a pure function of (seed, split, global sample index),
like the mlm mask: resume is bit-identical and any world size sees the same corruption;
validation (its own split) is corrupted the same way at every evaluation."""
from __future__ import annotations

import numpy as np

DENSITY, MEAN_SPAN = 0.15, 3.0  # T5's defaults


def noise_counts(length: int, density: float = DENSITY, mean_span: float = MEAN_SPAN) -> tuple[int, int]:
    """(noise tokens, noise spans) of a window of `length` tokens; at least one of each, and at least
    one token kept. Spans alternate with runs of kept tokens, so there are never more spans than kept
    tokens (a high density with short spans, e.g. 0.6 and 1, would otherwise ask for more)."""
    length = max(length, 2)
    noise = min(max(int(round(length * density)), 1), length - 1)
    return noise, min(max(int(round(noise / mean_span)), 1), length - noise)


def corrupted_lengths(length: int, density: float = DENSITY, mean_span: float = MEAN_SPAN) -> tuple[int, int]:
    """(inputs length, targets length) of a corrupted window: kept tokens + one sentinel per span + EOS,
    and noise tokens + one sentinel per span + EOS."""
    noise, spans = noise_counts(length, density, mean_span)
    return length - noise + spans + 1, noise + spans + 1


def compute_input_and_target_lengths(inputs_length: int, density: float = DENSITY,
                                     mean_span: float = MEAN_SPAN) -> tuple[int, int]:
    """T5's inverse: the longest raw window whose corrupted inputs fit `inputs_length`, and its targets'
    length (512 -> 568 raw tokens, 114 targets)."""
    tokens = inputs_length
    while corrupted_lengths(tokens + 1, density, mean_span)[0] <= inputs_length:
        tokens += 1
    return tokens, corrupted_lengths(tokens, density, mean_span)[1]


def _segment_lengths(n_items: int, n_segments: int, rng: np.random.Generator) -> np.ndarray:
    """n_items cut into n_segments non-empty runs, uniformly over the ways to cut (T5's shuffle of
    n_segments - 1 boundary marks among n_items - 1 gaps)."""
    cuts = np.sort(rng.choice(n_items - 1, n_segments - 1, replace=False) + 1)
    return np.diff(np.concatenate([[0], cuts, [n_items]]))


def noise_mask(length: int, rng: np.random.Generator, density: float = DENSITY,
               mean_span: float = MEAN_SPAN) -> np.ndarray:
    """Boolean (length,): True at noise tokens; spans interleaved, the window starts with kept tokens."""
    n = max(length, 2)
    noise, spans = noise_counts(n, density, mean_span)
    noise_len = _segment_lengths(noise, spans, rng)
    keep_len = _segment_lengths(n - noise, spans, rng)
    runs = np.stack([keep_len, noise_len], axis=1).reshape(-1)
    return np.repeat(np.tile([False, True], spans), runs)[:length]


def _replace_spans(tokens: np.ndarray, drop: np.ndarray, first_sentinel: int) -> np.ndarray:
    """The tokens not in `drop`, each run of dropped tokens replaced by one sentinel (numbered in order)."""
    starts = drop & ~np.concatenate([[False], drop[:-1]])
    out = np.where(starts, first_sentinel + np.cumsum(starts) - 1, tokens)
    return out[~drop | starts]


def corrupt(tokens: np.ndarray, sample_ids, seed: int, split: int, first_sentinel: int, eos_id: int,
            density: float = DENSITY, mean_span: float = MEAN_SPAN) -> tuple[np.ndarray, np.ndarray]:
    """tokens (n, L) int64 and the global index of each row -> (inputs (n, Lin), targets (n, Ltgt)) int64,
    the lengths those of `corrupted_lengths(L)`."""
    inputs, targets = [], []
    eos = np.array([eos_id], dtype=np.int64)
    for row, idx in zip(tokens, np.asarray(sample_ids).tolist()):
        rng = np.random.default_rng([seed, split, idx])  # one stream per sample, independent of batching
        mask = noise_mask(len(row), rng, density, mean_span)
        inputs.append(np.concatenate([_replace_spans(row, mask, first_sentinel), eos]))
        targets.append(np.concatenate([_replace_spans(row, ~mask, first_sentinel), eos]))
    return np.stack(inputs).astype(np.int64), np.stack(targets).astype(np.int64)
