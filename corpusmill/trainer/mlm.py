"""BERT-style masking for objective: mlm. Each position is selected with probability mask_prob; of
the selected, 80% become [MASK], 10% a uniformly random token, 10% stay as they are; the labels
hold the original token at selected positions and -100 elsewhere.

The mask of a sample is a pure function of (seed, split, global sample index), like the data order:
resume is bit-identical and a change of world size (or 1 rank vs N at the same global batch) sees
the same masks. Validation uses its own split salt, so its mask is fixed across evaluations."""
from __future__ import annotations

import numpy as np

IGNORE = -100
TRAIN, VALIDATION = 0, 1


def mask_tokens(tokens: np.ndarray, sample_ids, seed: int, split: int, vocab_size: int, mask_id: int,
                mask_prob: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """tokens (n, T) int64 and the global index of each row -> (inputs, labels), both (n, T) int64."""
    inputs, labels = tokens.copy(), np.full_like(tokens, IGNORE)
    T = tokens.shape[1]
    for r, idx in enumerate(np.asarray(sample_ids).tolist()):
        rng = np.random.default_rng([seed, split, idx])  # one stream per sample, independent of batching
        u, how = rng.random(T), rng.random(T)
        rand_tok = rng.integers(0, vocab_size, size=T)
        sel = u < mask_prob
        labels[r, sel] = tokens[r, sel]
        inputs[r, sel & (how < 0.8)] = mask_id
        swap = sel & (how >= 0.8) & (how < 0.9)
        inputs[r, swap] = rand_tok[swap]
    return inputs, labels


def examples(batch: np.ndarray, first_index: int, causal: bool, seed: int, vocab_size: int,
             mask_id: int | None, mask_prob: float, split: int) -> tuple[np.ndarray, np.ndarray]:
    """A rank's (n, T + 1) windows, whose first row is global sample `first_index` -> (inputs, targets):
    causal: shifted by one; mlm: the first T tokens, masked."""
    if causal:
        return batch[:, :-1], batch[:, 1:]
    ids = np.arange(first_index, first_index + len(batch))
    return mask_tokens(batch[:, :-1], ids, seed, split, vocab_size, mask_id, mask_prob)
