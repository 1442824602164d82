"""Training samples from token shards: documents packed into one stream, cut into windows of
seq_len + 1 tokens across document boundaries (nanoGPT's way), visited in a shuffled order that
is a pure function of (seed, global sample index), split across ranks by contiguous slices of
each global batch. The whole state is the number of samples consumed, so a run resumes exactly,
even on another world size at the same global batch. align="bos": windows start at document starts
instead (align.py), the same otherwise."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from corpusmill.mixtures.align import Layout, bos_layout
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
        self.starts_list = self.starts.tolist()  # Python ints: per-row arithmetic without numpy scalars
        self.total = int(self.starts[-1])

    def doc_starts(self) -> np.ndarray:
        """Where each document (a shard row) starts in the stream."""
        lengths = [lens for shard in self.shards for _, lens, _, _ in shard.batches()]
        lengths = np.concatenate(lengths).astype(np.int64) if lengths else np.zeros(0, np.int64)
        return np.cumsum(lengths) - lengths

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
    def __init__(self, stream: TokenStream, seq_len: int, seed: int = 0, shuffle: bool = True, align: str = "none"):
        if stream.total < seq_len + 1:
            raise ValueError(f"{stream.total} tokens: fewer than one sample of seq_len {seq_len} + 1")
        self.stream, self.seq_len, self.seed, self.shuffle = stream, seq_len, seed, shuffle
        self.align = align
        if align == "bos":  # explicit window starts, each at a document start
            self.layout = bos_layout(stream.doc_starts(), stream.total, seq_len)
            self._starts = self.layout.starts
        elif align == "none":  # window w starts at w * seq_len
            n = (stream.total - 1) // seq_len
            self.layout = Layout(np.zeros(0, np.int64), 0, n * seq_len)
            self._starts = None
        else:
            raise ValueError(f"align {align!r}: expected 'none' or 'bos'")
        self.samples_per_epoch = self.layout.trained // seq_len

    def start(self, windows: np.ndarray) -> np.ndarray:
        """The first stream token of each window."""
        return windows * self.seq_len if self._starts is None else self._starts[windows]

    def window(self, global_index: int) -> int:
        """Which window (of the epoch's) the sample at this global index reads."""
        epoch, i = divmod(global_index, self.samples_per_epoch)
        return int(permute(i, self.samples_per_epoch, self.seed, epoch)) if self.shuffle else i

    def sample(self, global_index: int) -> np.ndarray:
        start = int(self.start(np.int64(self.window(global_index))))
        return self.stream.slice(start, start + self.seq_len + 1)

    _BLOCK = 8192  # windows are computed this many at a time: the permutation's cost per call is fixed

    def windows(self, global_indices: np.ndarray) -> np.ndarray:
        """window() for many global indices; consecutive ranges come from a cached block."""
        g = np.asarray(global_indices, dtype=np.int64)
        if len(g) and g[-1] - g[0] == len(g) - 1:  # a consecutive range, as batches are
            lo = int(g[0]) // self._BLOCK * self._BLOCK
            cached = getattr(self, "_block", None)
            if cached is None or cached[0] != lo or g[-1] >= lo + len(cached[1]):
                size = max(self._BLOCK, int(g[-1]) - lo + 1)
                cached = self._block = (lo, self._compute_windows(np.arange(lo, lo + size)))
            return cached[1][g[0] - lo: g[-1] - lo + 1]
        return self._compute_windows(g)

    def _compute_windows(self, global_indices: np.ndarray) -> np.ndarray:
        """One permutation call per epoch present."""
        epochs, local = np.divmod(np.asarray(global_indices, dtype=np.int64), self.samples_per_epoch)
        if not self.shuffle:
            return local
        out = np.empty_like(local)
        for e in np.unique(epochs):
            sel = epochs == e
            out[sel] = permute(local[sel], self.samples_per_epoch, self.seed, int(e))
        return out

    def batch(self, consumed: int, global_batch: int, rank: int = 0, world_size: int = 1) -> np.ndarray:
        """This rank's share of the global batch that starts after `consumed` samples:
        (global_batch // world_size, seq_len + 1) int64. Inputs are [:, :-1], targets [:, 1:]."""
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} does not split over {world_size} ranks")
        per_rank = global_batch // world_size
        first = consumed + rank * per_rank
        return self.rows(np.arange(first, first + per_rank))

    def rows(self, global_indices: np.ndarray) -> np.ndarray:
        """The samples at these global indices: (len, seq_len + 1) int64."""
        starts = self.start(self.windows(global_indices))
        width = self.seq_len + 1
        out = np.empty((len(starts), width), dtype=np.int64)
        stream = self.stream
        piece_of = np.searchsorted(stream.starts, starts, side="right") - 1
        piece_starts, pieces = stream.starts_list, stream.pieces
        for r, (start, k) in enumerate(zip(starts.tolist(), piece_of.tolist())):
            lo = start - piece_starts[k]
            piece = pieces[k]
            if lo + width <= len(piece):  # the common case: one zero-copy view, one copy into the batch
                out[r] = piece[lo: lo + width]
            else:
                out[r] = stream.slice(start, start + width)
        return out


class PhasedSampler:
    """A curriculum's train samples: phase k's sampler serves global indices [bounds[k], bounds[k+1]);
    past the last bound the last phase goes on (its next epochs). Still a pure function of (seed,
    global index), so resume and any world size at the same global batch see the same samples."""

    def __init__(self, samplers: list[PackedSampler]):
        self.samplers = samplers
        self.bounds = np.cumsum([0] + [s.samples_per_epoch for s in samplers[:-1]])
        self.seq_len = samplers[0].seq_len

    def phase_of(self, global_index: int) -> int:
        return int(np.searchsorted(self.bounds, global_index, side="right") - 1)

    def batch(self, consumed: int, global_batch: int, rank: int = 0, world_size: int = 1) -> np.ndarray:
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} does not split over {world_size} ranks")
        per_rank = global_batch // world_size
        g = np.arange(consumed + rank * per_rank, consumed + (rank + 1) * per_rank)
        phase = np.searchsorted(self.bounds, g, side="right") - 1
        out = np.empty((per_rank, self.seq_len + 1), dtype=np.int64)
        for k in np.unique(phase):  # a batch may straddle a phase boundary
            sel = phase == k
            out[sel] = self.samplers[k].rows(g[sel] - self.bounds[k])
        return out
