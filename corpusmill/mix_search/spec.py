"""search.yaml, validated before any work: `corpus mix search search.yaml`."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from corpusmill.common.config import ConfigError, Strict, load_yaml, resolve_path, validate
from corpusmill.mixtures.spec import ValidationSpec
from corpusmill.trainer.config import ModelSpec


class SearchSource(Strict):
    name: str = Field(description="Name in the proposed mixture.yaml.")
    path: str = Field(description="As in mixture.yaml: a `corpus build` output, a folder of Parquet parts, or a "
                                   "`corpus tokenizer encode` output.")
    max_epochs: float | None = Field(None, gt=0, description="At most this many passes over the source at "
                                     "target.total_tokens: caps the weights sampled and proposed; null: no cap.")


class ProxySpec(Strict):
    runs: int = Field(16, ge=2, description="Proxy models to train (the budget); raise it and re-run to add more.")
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(n_layer=2, n_head=2, d_model=64),
                             description="The proxy's shape (a preset or dims), as in train.yaml.")
    train_tokens: int = Field(1_000_000, gt=0, description="Training tokens per proxy (its mixture's total_tokens).")
    global_batch_tokens: int = Field(8192, gt=0, description="Tokens per optimizer step.")
    micro_batch_size: int = Field(8, ge=1, description="Sequences per forward pass.")
    lr: float = Field(3e-3, gt=0, description="Peak learning rate (warmup a tenth of the steps, then cosine).")
    eval_batches: int = Field(8, ge=1, description="Micro batches of each evaluation source's validation windows.")
    device: Literal["cpu", "cuda"] = Field("cpu", description="cpu: one proxy per CPU; cuda: one proxy per GPU "
                                          "(Ray gives each its own).")


class TargetSpec(Strict):
    total_tokens: int = Field(gt=0, description="Tokens of the mixture you will train on: max_epochs are counted "
                              "against it, and the written mixture.yaml asks for it.")
    output: str = Field("mixture", description="The written mixture.yaml's output folder (relative to the search folder).")


class SearchConfig(Strict):
    tokenizer: str = Field(description="tokenizer.model (or its folder) from `corpus tokenizer train`.")
    output: str = Field(description="Search folder: encoded/, proxies/NNN/, results.jsonl, fit.json, fit.html, "
                        "mixture.yaml.")
    sources: list[SearchSource] = Field(min_length=2, description="The sources to weigh; unique names.")
    target: TargetSpec = Field(description="The full-size run the proposed weights are for.")
    proxy: ProxySpec = Field(default_factory=ProxySpec, description="The tiny models trained on sampled weights.")
    evaluate: list[str] | None = Field(None, description="Sources whose validation split is the held-out set "
                                       "(mean bits per byte over them); default: all sources.")
    evaluate_files: list[str] = Field(default_factory=list, description="Plain UTF-8 text files as (part of) the "
                                      "held-out set, scored on each proxy's final model; with them, `evaluate` "
                                      "defaults to none of the sources.")
    evaluate_tokens: int = Field(200_000, gt=0, description="At most this many tokens of evaluate_files are scored.")
    prior: dict[str, float] | None = Field(None, description="Centre of the Dirichlet the weights are drawn from "
                                           "(default: uniform); scaled to sum to 1.")
    concentration: float | None = Field(None, gt=0, description="Dirichlet alpha = concentration x prior; small: "
                                        "spread over the simplex (default: number of sources, alpha 1 for uniform).")
    fit: str = Field("auto", pattern="^(auto|linear|quadratic)$", description="Regression of bpb on the weights: "
                     "linear, quadratic (pairwise terms) or auto (the better leave-one-out R²).")
    seq_len: int = Field(128, gt=0, description="Proxy sequence length (also the written mixture's).")
    seed: int = Field(0, description="Seeds the weights sampled, the proxies and the validation hold-out.")
    validation: ValidationSpec = Field(default_factory=lambda: ValidationSpec(fraction=0.02),
                                       description="Held out per source, as in mixture.yaml.")

    @model_validator(mode="after")
    def _names(self) -> "SearchConfig":
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique: {names}")
        for key, given in (("evaluate", self.evaluate or []), ("prior", list(self.prior or {}))):
            unknown = sorted(set(given) - set(names))
            if unknown:
                raise ValueError(f"{key}: {unknown} are not sources (sources: {names})")
        if self.prior is not None:
            if set(self.prior) != set(names) or any(w <= 0 for w in self.prior.values()):
                raise ValueError(f"prior: give every source a weight > 0 (sources: {names})")
        if self.evaluate == [] and not self.evaluate_files:
            raise ValueError("evaluate: [] leaves no held-out set; name sources or give evaluate_files")
        if self.proxy.runs < len(names) + 2:  # the smallest fit (linear) needs two runs more than its terms
            raise ValueError(f"proxy.runs: {self.proxy.runs} proxies cannot fit the weights of {len(names)} "
                             f"sources; give at least {len(names) + 2} (RegMix-style searches use tens to hundreds)")
        if self.proxy.train_tokens < self.proxy.global_batch_tokens:
            raise ValueError("proxy.train_tokens is less than one step of proxy.global_batch_tokens")
        return self

    @property
    def eval_sources(self) -> list[str]:
        if self.evaluate is not None:
            return self.evaluate
        return [] if self.evaluate_files else [s.name for s in self.sources]

    def prior_weights(self) -> dict[str, float]:
        p = self.prior or {s.name: 1.0 for s in self.sources}
        total = sum(p.values())
        return {s.name: p[s.name] / total for s in self.sources}


def load_search_config(path: str | Path) -> SearchConfig:
    path = Path(path)
    cfg = validate(SearchConfig, load_yaml(path, "search"), path)
    base = path.parent.resolve()
    cfg.output = resolve_path(cfg.output, base)
    cfg.tokenizer = resolve_path(cfg.tokenizer, base)
    cfg.evaluate_files = [resolve_path(f, base) for f in cfg.evaluate_files]
    for f in cfg.evaluate_files:
        if not Path(f).is_file():
            raise ConfigError(f"{path}: evaluate_files: {f} is not a file")
    for s in cfg.sources:
        s.path = resolve_path(s.path, base)
        if "://" not in s.path and not Path(s.path).exists():
            raise ConfigError(f"{path}: sources.{s.name}.path: {s.path} does not exist")
    return cfg
