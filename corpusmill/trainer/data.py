"""The trainer's only door to data: the mixture's manifest and the mixtures sampler."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpusmill.common.artifact import sha256_json
from corpusmill.common.config import ConfigError
from corpusmill.mixtures.sampler import PackedSampler, PhasedSampler, TokenStream


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise ConfigError(f"data: {folder} is not a finished mixture (no manifest.json: `corpus mix` did not "
                          "finish there); run `corpus mix` on its mixture.yaml")
    return json.loads(path.read_text())


def _paths(folder: Path, split: dict) -> list[Path]:
    return [folder / s["file"] for s in split.get("shards", [])]


class MixtureData:
    """Train batches by samples consumed (the whole data state) and a fixed validation set.
    align "bos": train windows start at document starts (mixtures/align.py); validation keeps the
    plain windows, so its loss compares across runs with and without."""

    def __init__(self, folder: str | Path, seq_len: int | None, seed: int, align: str = "none"):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.fingerprint = sha256_json(self.manifest)  # = the mixture artifact's fingerprint
        self.seq_len = int(seq_len or self.manifest["seq_len"])
        self.align = align
        phases = self.manifest.get("phases")
        shards = self.manifest["train"]["shards"]
        groups = [[s for s in shards if s.get("phase") == k] for k in range(len(phases))] if phases else [shards]
        samplers = []
        for k, group in enumerate(groups):
            stream = TokenStream([self.folder / s["file"] for s in group])
            if stream.total < self.seq_len + 1:
                raise ConfigError(f"seq_len {self.seq_len}: {self.folder} holds {stream.total:,} training tokens"
                                  f"{f' in phase {k}' if phases else ''}, fewer than one window of seq_len + 1; "
                                  "lower train.seq_len or mix more tokens")
            samplers.append(PackedSampler(stream, self.seq_len, seed=seed + 7919 * k, align=align))
        self.meta = stream.meta
        trained = sum(s.layout.trained for s in samplers)
        # target tokens per epoch that two windows share (align bos: heads of cut documents read again)
        self.repeated_share = sum(s.layout.repeated for s in samplers) / trained if trained else 0.0
        self.vocab_size = int(self.manifest.get("tokenizer", {}).get("vocab_size") or stream.meta.vocab_size)
        # a curriculum serves phase k's samples during phase k's steps
        self.train = PhasedSampler(samplers) if phases else samplers[0]
        self.val = None
        val_split = self.manifest.get("validation", {})
        vpaths = _paths(self.folder, val_split)
        if vpaths:
            vs = TokenStream(vpaths)
            if vs.total >= self.seq_len + 1:  # too small a split cannot give one window
                # a fixed set of windows spread over the whole split (which is written source by source)
                self.val = PackedSampler(vs, self.seq_len, seed=seed, shuffle=True)
        self.val_sources = {}  # each source's own validation shards (older mixtures: none)
        for name in dict.fromkeys(s["source"] for s in val_split.get("shards", []) if "source" in s):
            vs = TokenStream([self.folder / s["file"] for s in val_split["shards"] if s.get("source") == name])
            if vs.total >= self.seq_len + 1:
                self.val_sources[name] = PackedSampler(vs, self.seq_len, seed=seed, shuffle=False)
        counts = val_split.get("sources", {})
        self._val_counts = {n: (c.get("tokens", 0), c.get("text_bytes", 0)) for n, c in counts.items()}

    def train_batch(self, consumed: int, global_batch: int, rank: int, world: int) -> np.ndarray:
        return self.train.batch(consumed, global_batch, rank, world)

    def val_batches(self, n: int, micro: int, rank: int, world: int, source: str | None = None):
        """The same n micro batches every time (of the whole split, or of one source's)."""
        sampler = self.val if source is None else self.val_sources[source]
        if sampler is None:
            return
        for i in range(n):
            yield sampler.batch(i * micro * world, micro * world, rank, world)

    def tokens_per_byte(self, source: str | None = None) -> float | None:
        """Validation tokens per byte of their text (of one source, or of all): turns a loss per token
        into bits per byte. None when the mixture did not record the bytes (made before they were)."""
        if source is None:
            pairs = list(self._val_counts.values())
        else:
            pairs = [self._val_counts[source]] if source in self._val_counts else []
        tokens, nbytes = sum(t for t, _ in pairs), sum(b for _, b in pairs)
        if not nbytes or any(not b for _, b in pairs):
            return None
        return tokens / nbytes
