"""The trainer's only door to data: the mixture's manifest and the mixtures sampler."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from corpusmill.common.artifact import sha256_json
from corpusmill.common.config import ConfigError
from corpusmill.mixtures.sampler import PackedSampler, TokenStream


def read_manifest(folder: str | Path) -> dict:
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        raise ConfigError(f"data: {folder} is not a finished mixture (no manifest.json: `corpus mix` did not "
                          "finish there); run `corpus mix` on its mixture.yaml")
    return json.loads(path.read_text())


def _paths(folder: Path, split: dict) -> list[Path]:
    return [folder / s["file"] for s in split.get("shards", [])]


class MixtureData:
    """Train batches by samples consumed (the whole data state) and a fixed validation set."""

    def __init__(self, folder: str | Path, seq_len: int | None, seed: int):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self.fingerprint = sha256_json(self.manifest)  # = the mixture artifact's fingerprint
        self.seq_len = int(seq_len or self.manifest["seq_len"])
        stream = TokenStream(_paths(self.folder, self.manifest["train"]))
        if stream.total < self.seq_len + 1:
            raise ConfigError(f"seq_len {self.seq_len}: {self.folder} holds {stream.total:,} training tokens, fewer "
                              f"than one window of seq_len + 1; lower train.seq_len or mix more tokens")
        self.meta = stream.meta
        self.vocab_size = int(self.manifest.get("tokenizer", {}).get("vocab_size") or stream.meta.vocab_size)
        self.train = PackedSampler(stream, self.seq_len, seed=seed)
        self.val = None
        vpaths = _paths(self.folder, self.manifest.get("validation", {}))
        if vpaths:
            vs = TokenStream(vpaths)
            if vs.total >= self.seq_len + 1:  # too small a split cannot give one window
                self.val = PackedSampler(vs, self.seq_len, seed=seed, shuffle=False)

    def train_batch(self, consumed: int, global_batch: int, rank: int, world: int) -> np.ndarray:
        return self.train.batch(consumed, global_batch, rank, world)

    def val_batches(self, n: int, micro: int, rank: int, world: int):
        """The same n micro batches every time: the first windows of the split, wrapped if short."""
        if self.val is None:
            return
        for i in range(n):
            yield self.val.batch(i * micro * world, micro * world, rank, world)
