"""train.yaml: what to train on, which model, how, and where to write. Relative paths are relative
to the YAML file, so a config can be run from any working directory."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, model_validator

from corpusmill.common.config import ConfigError, Strict as _Strict, load_yaml, resolve_path, validate
from corpusmill.trainer.model import PRESETS

__all__ = ["ConfigError", "TrainConfig", "load_train_config"]


class ModelSpec(_Strict):
    preset: Optional[str] = Field(None, description=f"One of {sorted(PRESETS)}; explicit dims override it.")
    n_layer: Optional[int] = Field(None, ge=1, description="Transformer blocks.")
    n_head: Optional[int] = Field(None, ge=1, description="Attention heads.")
    d_model: Optional[int] = Field(None, ge=8, description="Residual width.")
    ffn_mult: Optional[float] = Field(None, gt=0, description="SwiGLU hidden size / d_model (default 8/3).")
    tie_embeddings: bool = Field(True, description="Share the input embedding with the output head.")
    compile: Optional[bool] = Field(None, description="torch.compile the model; default (null): on CUDA yes, on CPU no (compiling costs more than it saves in short CPU runs).")
    objective: Literal["causal", "mlm", "span"] = Field("causal", description="causal: next-token GPT; mlm: BERT-style masked-token encoder (bidirectional attention); span: T5 span corruption in an encoder-decoder (n_layer encoder and n_layer decoder Blocks).")
    mask_prob: float = Field(0.15, gt=0, lt=1, description="mlm: share of positions selected (of those 80% [MASK], 10% random, 10% kept).")
    noise_density: float = Field(0.15, gt=0, lt=1, description="span: share of each window's tokens corrupted (T5: 0.15).")
    mean_span_length: float = Field(3.0, ge=1, description="span: mean length of a corrupted span; a window has round(noise / this) spans (T5: 3).")
    qk_norm: bool = Field(False, description="RMSNorm on each head's queries and keys before RoPE (the GPT-2 speedrun's).")
    mlp: Literal["swiglu", "relu2"] = Field("swiglu", description="swiglu (gated, LLaMA) or relu2: down(relu(up x)^2), the speedrun's; relu2's ffn_mult default is 4.")
    vocab_multiple: int = Field(1, ge=1, description="Pad the embedding and head rows to a multiple of this (64 or 128 suit GPU matmuls); padded ids get no logit; export drops them.")
    zero_init: bool = Field(False, description="Start the attention and MLP output projections at zero (each Block the identity).")

    @model_validator(mode="after")
    def _known(self):
        if self.preset and self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; known: {sorted(PRESETS)}")
        if not self.preset and not (self.n_layer and self.n_head and self.d_model):
            raise ValueError("give a preset or all of n_layer, n_head, d_model")
        return self


class SpikeSpec(_Strict):
    enabled: bool = Field(True, description="Detect loss spikes and recover automatically.")
    window: int = Field(50, ge=2, description="Recent losses the z-score / running mean is taken over.")
    min_history: int = Field(10, ge=3, description="Losses seen before spikes are looked for.")
    zscore: Optional[float] = Field(6.0, description="Spike when the rise over the last loss, as a z-score of recent step-to-step changes, exceeds this; null: off.")
    ratio: Optional[float] = Field(None, description="Spike when loss > ratio * running mean; null: off.")
    lr_factor: float = Field(0.5, gt=0, le=1, description="LR multiplier applied on each recovery.")
    max_recoveries: int = Field(10, ge=0, description="Give up (raise) after this many recoveries.")
    skip_zscore: Optional[float] = Field(None, gt=0, description="Skip-step guard, before any rollback: drop a step's update when its loss or grad norm is more than this many standard deviations above the mean of the last skip_window steps (OLMo-core: 6); null: off.")
    skip_window: int = Field(128, ge=2, description="Steps the skip guard's mean and std are taken over.")
    skip_min_history: int = Field(20, ge=2, description="Steps seen before the skip guard acts.")
    max_consecutive_skips: int = Field(3, ge=1, description="After this many skips in a row the next one rolls back instead (what skipping does not cure).")


class TrainSpec(_Strict):
    steps: int = Field(1000, ge=1, description="Optimizer steps.")
    global_batch_tokens: int = Field(524_288, ge=1, description="Tokens per optimizer step over all ranks.")
    micro_batch_size: int = Field(8, ge=1, description="Sequences per forward pass per rank.")
    lr: float = Field(6e-4, gt=0, description="Peak learning rate.")
    min_lr: Optional[float] = Field(None, ge=0, description="Floor of the decay (default lr / 10).")
    warmup_steps: int = Field(100, ge=0, description="Linear warmup steps.")
    schedule: Literal["cosine", "wsd"] = Field("wsd", description="After warmup: cosine to min_lr, or wsd (warmup-stable-decay): lr held, then linear to min_lr over the last decay_frac of the steps.")
    decay_frac: float = Field(0.2, gt=0, le=1, description="wsd: share of the steps spent decaying.")
    decay_from_phase: Optional[int] = Field(
        None, ge=1, description="wsd with a curriculum mixture (`phases`): start the decay at the first step of this "
        "phase (e.g. 1: anneal on the second phase's data) instead of the last decay_frac of the steps.")
    optimizer: Literal["adamw", "muon"] = Field("muon", description="adamw on everything, or muon: Muon (Newton-Schulz orthogonalised momentum) on the Blocks' matrices, AdamW on embedding, head and norms; one lr for both (Muon's update scaled to AdamW's RMS).")
    z_loss: float = Field(0.0, ge=0, description="Weight of the z-loss, logsumexp(logits)^2 per token (PaLM: 1e-4); 0: off. The logged train loss includes it; validation does not.")
    weight_decay: float = Field(0.1, ge=0, description="AdamW decay on matrices (not norms, embeddings).")
    betas: tuple[float, float] = Field((0.9, 0.95), description="AdamW betas.")
    grad_clip: float = Field(1.0, ge=0, description="Global grad-norm clip; 0 disables.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout probability.")
    seed: int = Field(0, ge=0, description="Seeds init, dropout and the data order.")
    eval_every: int = Field(100, ge=0, description="Validation every N steps (0: never).")
    eval_batches: int = Field(10, ge=1, description="Micro batches per rank per validation.")
    ckpt_every: int = Field(100, ge=0, description="Checkpoint every N steps (0: only at the end).")
    keep_last: int = Field(3, ge=1, description="Checkpoints kept.")
    seq_len: Optional[int] = Field(None, ge=8, description="Context length (default: the mixture's).")
    align: Literal["none", "bos"] = Field("none", description="Where train windows start: none: every seq_len tokens across documents (nanoGPT's packing); bos: at a document start (the GPT-2 speedrun's), a long document going on in the next windows and the document a window's end cuts restarted in the next (its head read twice, nothing dropped). Validation windows stay plain.")
    device: str = Field("auto", description="auto (cuda when present), cpu or cuda.")
    cpu_threads: Optional[int] = Field(None, ge=1, description="torch threads on CPU (default: torch's); 1 wins on a busy machine.")
    progress: bool = Field(True, description="Show a progress bar (rank 0, a terminal).")
    parallel: Literal["ddp", "fsdp"] = Field("ddp", description="Under torchrun: ddp (a replica per rank) or fsdp (FSDP2: weights, grads and Adam state sharded per Block).")
    tensorboard: bool = Field(True, description="Mirror metrics.jsonl to TensorBoard event files in OUTPUT/tb/ (rank 0); needs the tensorboard package.")


class TrainConfig(_Strict):
    data: str = Field(description="A mixture folder holding manifest.json.")
    model: ModelSpec = Field(default_factory=lambda: ModelSpec(preset="tiny"), description="Model shape and objective.")
    train: TrainSpec = Field(default_factory=TrainSpec, description="Optimisation, batch, schedule, evaluation, checkpoints.")
    spike: SpikeSpec = Field(default_factory=SpikeSpec, description="Loss-spike detection and automatic recovery.")
    output: str = Field(description="Run folder: metrics.jsonl, checkpoints/, config.")

    def resolved(self, base: Path) -> "TrainConfig":
        return self.model_copy(update={"data": resolve_path(self.data, base), "output": resolve_path(self.output, base)})


def load_train_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    return validate(TrainConfig, load_yaml(path, "train config"), path).resolved(path.resolve().parent)
