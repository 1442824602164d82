"""Training samples from token shards: documents packed into one stream, cut into windows of
seq_len + 1 tokens across document boundaries (nanoGPT's way), visited in a shuffled order that
is a pure function of (seed, global sample index), split across ranks by contiguous slices of
each global batch. The whole state is the number of samples consumed, so a run resumes exactly,
even on another world size at the same global batch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from corpusmill.mixtures.permutation import permute
from corpusmill.mixtures.shards import Shard


class TokenStream:
    """Shards' documents back to back, in the given order, as zero-copy pieces."""

    def __init__(self, shard_paths: list[str | Path]):
        self.shards = [Shard(p) for p in shard_paths]
        if not self.shards:
            raise ValueError("no shards")
        metas = {s.meta for s in self.shards}
        if len(metas) != 1:
            raise ValueError(f"shards disagree on tokenizer or vocabulary: {metas}")
        self.meta = self.shards[0].meta
        self.pieces = [p for s in self.shards for p in s.token_stream() if len(p)]
        self.starts = np.cumsum([0] + [len(p) for p in self.pieces])
        self.total = int(self.starts[-1])

    def slice(self, start: int, stop: int) -> np.ndarray:
        """tokens[start:stop] as int64 (a copy: training wants int64 anyway)."""
        out = np.empty(stop - start, dtype=np.int64)
        i = int(np.searchsorted(self.starts, start, side="right") - 1)
        filled = 0
        while filled < len(out):
            piece = self.pieces[i]
            lo = start + filled - int(self.starts[i])
            take = min(len(piece) - lo, len(out) - filled)
            out[filled: filled + take] = piece[lo: lo + take]
            filled += take
            i += 1
        return out


class PackedSampler:
    def __init__(self, stream: TokenStream, seq_len: int, seed: int = 0, shuffle: bool = True):
        if stream.total < seq_len + 1:
            raise ValueError(f"{stream.total} tokens: fewer than one sample of seq_len {seq_len} + 1")
        self.stream, self.seq_len, self.seed, self.shuffle = stream, seq_len, seed, shuffle
        self.samples_per_epoch = (stream.total - 1) // seq_len

    def window(self, global_index: int) -> int:
        """Which window (of the epoch's) the sample at this global index reads."""
        epoch, i = divmod(global_index, self.samples_per_epoch)
        return int(permute(i, self.samples_per_epoch, self.seed, epoch)) if self.shuffle else i

    def sample(self, global_index: int) -> np.ndarray:
        start = self.window(global_index) * self.seq_len
        return self.stream.slice(start, start + self.seq_len + 1)

    def batch(self, consumed: int, global_batch: int, rank: int = 0, world_size: int = 1) -> np.ndarray:
        """This rank's share of the global batch that starts after `consumed` samples:
        (global_batch // world_size, seq_len + 1) int64. Inputs are [:, :-1], targets [:, 1:]."""
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} does not split over {world_size} ranks")
        per_rank = global_batch // world_size
        first = consumed + rank * per_rank
        return np.stack([self.sample(g) for g in range(first, first + per_rank)])
