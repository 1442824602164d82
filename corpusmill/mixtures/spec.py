"""mixture.yaml, validated before any work: `corpus mix mixture.yaml`."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from corpusmill.common.config import ConfigError, Strict, load_yaml, resolve_path, validate


class SourceSpec(Strict):
    name: str = Field(description="Name in the manifest and the shards' `source` column.")
    path: str = Field(description="A `corpus build` output (its documents/), a folder of Parquet parts, "
                                   "or a `corpus tokenizer encode` output (pre-tokenized).")
    weight: float | None = Field(None, gt=0, description="Share of the mixture's tokens (required without `phases`; "
                                 "with phases each phase gives its own weights).")
    max_epochs: float | None = Field(None, gt=0, description="At most this many passes over the source; null: no cap.")


class PhaseSpec(Strict):
    until: float = Field(gt=0, le=1, description="Where the phase ends, as a fraction of total_tokens (increasing; "
                         "the last phase ends at 1).")
    weights: dict[str, float] = Field(min_length=1, description="Share of the phase's tokens per source (names "
                                      "of `sources`), summing to 1 unless normalize.")


class ValidationSpec(Strict):
    fraction: float | None = Field(None, ge=0, lt=1, description="Share of each source's documents held out.")
    tokens: int | None = Field(None, ge=0, description="About this many tokens held out per source.")

    @model_validator(mode="after")
    def _one(self) -> "ValidationSpec":
        if (self.fraction is None) == (self.tokens is None):
            raise ValueError("set exactly one of fraction, tokens")
        return self


class MixtureConfig(Strict):
    tokenizer: str = Field(description="tokenizer.model (or its folder) from `corpus tokenizer train`.")
    output: str = Field(description="Mixture folder: train-*.arrow, val-*.arrow, manifest.json, _state/.")
    total_tokens: int = Field(gt=0, description="Training tokens to write, over all sources.")
    seq_len: int = Field(2048, gt=0, description="Training sequence length (recorded for the loader).")
    seed: int = Field(0, description="Seeds the validation hold-out and the downsampling sample.")
    sources: list[SourceSpec] = Field(min_length=1, description="The sources to mix; unique names, weights "
                                                                "summing to 1 unless normalize.")
    normalize: bool = Field(False, description="Scale weights to sum to 1 instead of failing when they do not.")
    on_cap: Literal["fail", "renormalize"] = Field(
        "renormalize", description="When a source's max_epochs binds: fail, or give its share to the others.")
    validation: ValidationSpec = Field(default_factory=lambda: ValidationSpec(fraction=0.005),
                                       description="Held out per source: exactly one of fraction or tokens.")
    shard_tokens: int = Field(100_000_000, gt=0, description="Target tokens per shard file.")
    phases: list[PhaseSpec] | None = Field(
        None, description="A curriculum: weights that change over training, e.g. [{until: 0.9, weights: {web: 0.7, "
        "books: 0.3}}, {until: 1.0, weights: {books: 0.6, wiki: 0.4}}]. Each phase is planned like a mixture "
        "(epochs counted across phases) and the trainer reads phase k's samples during phase k's steps.")
    shuffle_window: int = Field(4096, ge=1, description="Train documents per source held for the seeded shuffle "
                                "of the written order (memory: about this many documents per source).")

    @model_validator(mode="after")
    def _weights(self) -> "MixtureConfig":
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique: {names}")
        if self.phases is None:
            missing = [s.name for s in self.sources if s.weight is None]
            if missing:
                raise ValueError(f"sources {missing}: `weight` is required (or give `phases` with weights per phase)")
            scaled = self._sum_to_one({s.name: s.weight for s in self.sources}, "weights")
            for s in self.sources:
                s.weight = scaled[s.name]
            return self
        given = [s.name for s in self.sources if s.weight is not None]
        if given:
            raise ValueError(f"sources {given}: with `phases`, weights are given per phase; remove `weight`")
        untils = [p.until for p in self.phases]
        if any(b <= a for a, b in zip(untils, untils[1:])) or untils[-1] != 1:
            raise ValueError(f"phases: `until` must increase and the last must be 1, got {untils}")
        for k, p in enumerate(self.phases):
            unknown = sorted(set(p.weights) - set(names))
            if unknown:
                raise ValueError(f"phases[{k}].weights: {unknown} are not sources (sources: {names})")
            if any(w <= 0 for w in p.weights.values()):
                raise ValueError(f"phases[{k}].weights must be > 0 (leave a source out instead)")
            p.weights = self._sum_to_one(p.weights, f"phases[{k}].weights")
        return self

    def _sum_to_one(self, weights: dict[str, float], what: str) -> dict[str, float]:
        total = sum(weights.values())
        if abs(total - 1.0) <= 1e-6:
            return dict(weights)
        if not self.normalize:
            raise ValueError(f"{what} sum to {total:g}, not 1 (set normalize: true to scale them)")
        return {n: w / total for n, w in weights.items()}


def load_mixture_config(path: str | Path) -> MixtureConfig:
    path = Path(path)
    cfg = validate(MixtureConfig, load_yaml(path, "mixture"), path)
    base = path.parent.resolve()
    cfg.output = resolve_path(cfg.output, base)
    cfg.tokenizer = resolve_path(cfg.tokenizer, base)
    for s in cfg.sources:
        s.path = resolve_path(s.path, base)
        if "://" not in s.path and not Path(s.path).exists():
            raise ConfigError(f"{path}: sources.{s.name}.path: {s.path} does not exist")
    return cfg
