"""The pretraining loop. One entry for one process and for torchrun (DDP or FSDP2: gloo on CPU,
NCCL on GPU).
`train()` runs a `Trainer`: built once, then `Trainer.train()` loops over `train_step`,
`maybe_validate`, `maybe_save`. State that makes a resume exact: model, optimizer, `TrainState`
(step, samples consumed, LR scale, the spike detector's and skip guard's windows), RNG per rank.
`python -m corpusmill.trainer.train train.yaml` runs it."""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.common.lock import exclusive
from corpusmill.console import log as console
from corpusmill.console import task
from corpusmill.faults import kill_point
from corpusmill.trainer import checkpoint as ckpt
from corpusmill.trainer.config import SpikeSpec, TrainConfig, TrainSpec, load_train_config
from corpusmill.trainer.data import MixtureData
from corpusmill.trainer.lineage import check_resume, check_same_model, mixture_ref
from corpusmill.trainer.memory import check_fits
from corpusmill.trainer.stop import StopSignals, leave
from corpusmill.trainer.metrics import MetricsLog, peak_flops
from corpusmill.trainer.mlm import IGNORE, TRAIN, VALIDATION, examples
from corpusmill.trainer.encdec import make_model
from corpusmill.trainer.model import GPT, build_config
from corpusmill.trainer.muon import MuonAdamW, muon_groups
from corpusmill.trainer.parallel import full_state, grad_sync, launched, load_full_state, shard, sharded, wrap_ddp
from corpusmill.trainer.span import corrupt
from corpusmill.trainer.tb import summary_writer_class


def lr_at(step: int, spec: TrainSpec, decay_start: int | None = None) -> float:
    """Linear warmup to lr, then cosine to min_lr at the last step, or (wsd) lr held until the last
    decay_frac of the steps (or until decay_start: a curriculum phase's first step) and a linear
    decay to min_lr from there."""
    min_lr = spec.lr / 10 if spec.min_lr is None else spec.min_lr
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    if spec.schedule == "wsd":
        start = spec.steps - max(1, round(spec.decay_frac * spec.steps)) if decay_start is None else decay_start
        decay = max(1, spec.steps - start)
        t = min(1.0, max(0.0, (step - start) / decay))
        return spec.lr + t * (min_lr - spec.lr)
    span = max(1, spec.steps - spec.warmup_steps)
    t = min(1.0, (step - spec.warmup_steps) / span)
    return min_lr + 0.5 * (1 + math.cos(math.pi * t)) * (spec.lr - min_lr)


class SpikeDetector:
    def __init__(self, spec: SpikeSpec, history: list[float] | None = None):
        self.spec, self.history = spec, list(history or [])

    def check(self, loss: float, grad_norm: float) -> str | None:
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            return "non-finite"
        s, h = self.spec, self.history[-self.spec.window:]
        if not s.enabled or len(h) < s.min_history:
            return None
        mean = sum(h) / len(h)
        # z-score of this step's rise against recent step-to-step changes: a falling curve's trend
        # does not hide a jump; std floored at 1% of the mean loss so a flat plateau is not jumpy
        diffs = [b - a for a, b in zip(h, h[1:])]
        dm = sum(diffs) / len(diffs)
        std = max(math.sqrt(sum((d - dm) ** 2 for d in diffs) / len(diffs)), 0.01 * mean)
        z = (loss - h[-1] - dm) / std
        if s.zscore is not None and z > s.zscore:
            return f"zscore {z:.1f} > {s.zscore}"
        if s.ratio is not None and loss > s.ratio * mean:
            return f"ratio {loss / mean:.2f} > {s.ratio}"
        return None

    def add(self, loss: float) -> None:
        self.history = (self.history + [loss])[-self.spec.window:]


class SkipGuard:
    """OLMo-core's skip-step rule: a step whose loss or grad norm lies more than `skip_zscore`
    standard deviations above the mean of the last `skip_window` steps (or is not finite) has its
    update dropped; the run moves on to the next batch. Cheaper than a rollback and it keeps the
    LR; after `max_consecutive_skips` in a row it defers to the rollback (skipping did not cure it)."""

    def __init__(self, spec: SpikeSpec, state: "TrainState"):
        self.spec, self.state = spec, state

    def check(self, loss: float, grad_norm: float) -> str | None:
        s, st = self.spec, self.state
        if s.skip_zscore is None or st.consecutive_skips >= s.max_consecutive_skips:
            return None
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            return "non-finite"
        for name, x, h in (("loss", loss, st.guard_losses), ("grad_norm", grad_norm, st.guard_norms)):
            if len(h) < s.skip_min_history:
                return None
            mean = sum(h) / len(h)
            std = max(math.sqrt(sum((v - mean) ** 2 for v in h) / len(h)), 1e-3 * abs(mean))  # flat: not jumpy
            if (z := (x - mean) / std) > s.skip_zscore:
                return f"{name} zscore {z:.1f} > {s.skip_zscore}"
        return None

    def add(self, loss: float, grad_norm: float) -> None:
        st, w = self.state, self.spec.skip_window
        st.guard_losses = (st.guard_losses + [loss])[-w:]
        st.guard_norms = (st.guard_norms + [grad_norm])[-w:]
        st.consecutive_skips = 0


def _distributed(device_opt: str, parallel: str) -> tuple[int, int, torch.device]:
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    cuda = torch.cuda.is_available() and device_opt != "cpu"
    if device_opt == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda asked for, but no CUDA device is present")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if (world > 1 or sharded(parallel, world, launched())) and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


def make_optimizer(model: GPT, spec: TrainSpec, device: torch.device) -> torch.optim.Optimizer:
    if spec.optimizer == "muon":
        return MuonAdamW(muon_groups(model, spec.weight_decay), lr=spec.lr, betas=spec.betas)
    # decay only matrices of the blocks/head: norms (1-D) and embeddings are left alone
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not name.startswith("embed.") else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": spec.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=spec.lr, betas=tuple(spec.betas), fused=device.type == "cuda")


def _all_sum(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def _all_mean(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)  # gloo has no AVG
        t /= world
    return t


def train(cfg: TrainConfig, *, stop_after: int | None = None, batch_hook=None) -> dict:
    """Train (resuming from the run's latest checkpoint). stop_after: leave after that many steps
    without a final checkpoint, as a killed run would; batch_hook(consumed, batch) -> batch lets
    tests poison data. One writer per run folder: rank 0 holds its lock."""
    master = int(os.environ.get("RANK", 0)) == 0
    if master and cfg.train.tensorboard:
        summary_writer_class()  # fail before any work, before the run folder exists
    with exclusive(cfg.output, "training run") if master else nullcontext():
        return Trainer(cfg, stop_after=stop_after, batch_hook=batch_hook).train()


@dataclass(frozen=True)
class Masking:
    """What turns a rank's windows into (inputs, targets): causal shift, the mlm mask's settings, or
    span: T5's corruption of the whole seq_len + 1 window (sentinels from first_sentinel, EOS closing
    inputs and targets)."""
    causal: bool
    seed: int
    vocab_size: int
    mask_id: int | None
    mask_prob: float
    span: bool = False
    eos_id: int | None = None
    noise_density: float = 0.15
    mean_span_length: float = 3.0

    def examples(self, batch, first_index: int, split: int):
        if self.span:
            ids = np.arange(first_index, first_index + len(batch))
            return corrupt(batch.astype(np.int64), ids, self.seed, split, self.vocab_size, self.eos_id,
                           self.noise_density, self.mean_span_length)
        return examples(batch, first_index, self.causal, self.seed, self.vocab_size, self.mask_id,
                        self.mask_prob, split)


def _masking(mconf, seed: int, mask_prob: float, data: MixtureData) -> Masking:
    eos = None
    if mconf.objective == "span":
        eos = (data.manifest.get("tokenizer") or {}).get("eos_id", data.meta.eos_id)
        if eos is None or int(eos) < 0:
            raise ConfigError(f"model.objective: span closes inputs and targets with EOS, but {data.folder}'s "
                              "tokenizer has none (manifest tokenizer.eos_id); use a tokenizer with an EOS piece")
    return Masking(mconf.causal, seed, mconf.vocab_size, mconf.mask_id, mask_prob, mconf.objective == "span",
                   None if eos is None else int(eos), mconf.noise_density, mconf.mean_span_length)


@dataclass
class TrainState:
    """The loop's own state (beside model, optimizer and RNG): all a resume needs to be exact."""
    step: int = 0
    consumed: int = 0  # samples; the sampler's whole state
    lr_scale: float = 1.0  # cut by each spike recovery
    recoveries: int = 0
    history: list = field(default_factory=list)  # the spike detector's window of losses
    guard_losses: list = field(default_factory=list)  # the skip guard's windows
    guard_norms: list = field(default_factory=list)
    consecutive_skips: int = 0
    skipped_steps: int = 0

    def state_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def load_state_dict(self, s: dict) -> None:
        for f in fields(self):
            if f.name in s:  # older checkpoints lack newer fields: they keep their defaults
                setattr(self, f.name, s[f.name])


class Trainer:
    """Everything built once (process group, data, model, optimizer, state, log), then `train()`."""

    def __init__(self, cfg: TrainConfig, *, stop_after: int | None = None, batch_hook=None):
        self.cfg, self.spec, self.stop_after, self.batch_hook = cfg, cfg.train, stop_after, batch_hook
        spec = self.spec
        self.rank, self.world, self.device = _distributed(spec.device, spec.parallel)
        self.master = self.rank == 0
        self.data = data = MixtureData(cfg.data, spec.seq_len, spec.seed, spec.align)
        T, micro, world = data.seq_len, spec.micro_batch_size, self.world
        self.global_batch = max(1, spec.global_batch_tokens // T)
        self.per_rank = self.global_batch // world
        if self.global_batch % world or self.per_rank % micro:
            raise ConfigError(f"train.global_batch_tokens: {spec.global_batch_tokens} tokens / seq_len {T} = "
                              f"{self.global_batch} samples per step, which do not split into {world} rank(s) x "
                              f"micro batches of {micro} (train.micro_batch_size); choose global_batch_tokens = "
                              f"{T} x {world} x {micro} x k")
        if spec.seq_len and spec.seq_len != int(data.manifest.get("seq_len", spec.seq_len)):
            console.warning("train.seq_len %d differs from the mixture's seq_len %s (%s): windows are cut at %d "
                            "tokens, which works, but the mixture was planned for its own", spec.seq_len,
                            data.manifest.get("seq_len"), cfg.data, spec.seq_len)
        self.accum = self.per_rank // micro
        self.tokens_per_step = self.global_batch * T
        self.decay_start = self._decay_start()
        m = cfg.model
        self.mconf = mconf = build_config(
            data.vocab_size, T, m.preset, n_layer=m.n_layer, n_head=m.n_head, d_model=m.d_model,
            ffn_mult=m.ffn_mult, dropout=spec.dropout, tie_embeddings=m.tie_embeddings, objective=m.objective,
            qk_norm=m.qk_norm, mlp=m.mlp, zero_init=m.zero_init, vocab_multiple=m.vocab_multiple,
            noise_density=m.noise_density, mean_span_length=m.mean_span_length)
        self.masking = _masking(mconf, spec.seed, m.mask_prob, data)  # span refuses a tokenizer without EOS here
        device = self.device
        if device.type == "cpu" and spec.cpu_threads:
            torch.set_num_threads(spec.cpu_threads)
        if device.type == "cpu":  # bit-exact resume is promised on CPU
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.fsdp = sharded(spec.parallel, world, launched())
        with torch.device("meta"):  # count before allocating: refuse what cannot fit, with the numbers
            check_fits(mconf, make_model(mconf).num_params(False), micro, world, self.fsdp, device)
        torch.manual_seed(spec.seed)  # the same init on every rank
        self.raw = make_model(mconf).to(device)
        if self.fsdp:
            shard(self.raw)  # before the optimizer, which must hold the sharded parameters
        self.opt = make_optimizer(self.raw, spec, device)
        torch.manual_seed(spec.seed * 1000 + 1 + self.rank)  # dropout streams differ per rank
        self.out = Path(cfg.output)
        self.ckdir = self.out / "checkpoints"
        self.state = TrainState()
        self.autocast = ((lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda"
                         else nullcontext)
        if self.master and (n := ckpt.remove_stale_temps(self.ckdir)):
            console.info("train: removed %d half-written checkpoint(s) a killed run left in %s", n, self.ckdir)
        self.resumed_from = ckpt.latest(self.ckdir)
        if self.resumed_from is not None:
            self.restore(self.resumed_from)  # refused (ResumeError) when the checkpoint was made on other data
        else:
            self.save()  # step 0: spike recovery always has somewhere to go back to
        self.detector = SpikeDetector(cfg.spike, self.state.history)
        self.guard = SkipGuard(cfg.spike, self.state)
        compile_ = m.compile if m.compile is not None else device.type == "cuda"
        self.model = torch.compile(self.raw) if compile_ else self.raw
        if world > 1 and not self.fsdp:
            self.model = wrap_ddp(self.model, device)
        self.log = None  # opened by train(): the run folder's artifact and metrics start there

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The one-file checkpoint (a collective under torchrun: every rank's RNG, FSDP's gather)."""
        rngs = [None] * self.world
        if self.world > 1:
            dist.all_gather_object(rngs, ckpt.rng_state())
        else:
            rngs = [ckpt.rng_state()]
        model_sd, opt_sd = full_state(self.raw, self.opt, self.fsdp)
        return {**self.state.state_dict(), "model": model_sd, "optimizer": opt_sd, "rng": rngs,
                "world_size": self.world, "model_config": self.mconf.to_dict(),
                "tokenizer": self.data.manifest.get("tokenizer", {}), "data": str(self.cfg.data),
                "data_fingerprint": self.data.fingerprint, "data_align": self.data.align}

    def save(self) -> None:
        s = self.state_dict()
        if self.master:
            ckpt.save(self.ckdir, self.state.step, s, self.spec.keep_last)
        if self.world > 1:
            dist.barrier()  # no rank may roll back to a file still being written

    def restore(self, path: Path) -> None:
        s = ckpt.load(path, map_location="cpu" if self.fsdp else self.device)  # FSDP: full weights stay off the GPU
        check_resume(s, self.data, self.mconf.vocab_size, path, str(self.out))
        check_same_model(s, self.mconf.to_dict(), self.spec.optimizer, path, str(self.out))
        load_full_state(self.raw, self.opt, s["model"], s["optimizer"], self.fsdp)
        self.state.load_state_dict(s)
        if s["world_size"] == self.world:  # another world size: data stays exact, dropout RNG cannot
            ckpt.set_rng_state(s["rng"][self.rank])

    # -- the loop --------------------------------------------------------------------------------
    def train(self) -> dict:
        st, spec = self.state, self.spec
        self.start_log()
        bars = ExitStack()  # a progress bar on rank 0 at a terminal (console.task draws nothing elsewhere)
        advance = (bars.enter_context(task("train", total=spec.steps, unit="steps"))
                   if self.master and spec.progress else None)
        if advance:
            advance(completed=st.step)
        stop = bars.enter_context(StopSignals())
        self.first = self.last = self.val = None
        self.t_total, self.steps_run = 0.0, 0
        try:
            while st.step < spec.steps and (self.stop_after is None or st.step < self.stop_after):
                loss = self.train_step()  # one optimizer step; None: a spike rolled the run back
                if loss is None:
                    continue
                self.maybe_validate(loss)  # every eval_every steps and at the last
                self.maybe_save()  # every ckpt_every steps and at the last
                if advance:
                    advance(completed=st.step, note=f"loss {loss:.3f}")
                kill_point("train.step")
                if (signum := stop.requested(self.world, self.device)) is not None:
                    self.stop_on(signum)  # checkpoint, then leave (SIGINT / SIGTERM)
        finally:
            bars.close()
        return self.finish()

    def _decay_start(self) -> int | None:
        """train.decay_from_phase: the step whose batch holds that phase's first sample."""
        k, spec = self.spec.decay_from_phase, self.spec
        if k is None:
            return None
        bounds = getattr(self.data.train, "bounds", None)
        if spec.schedule != "wsd" or bounds is None or k >= len(bounds):
            raise ConfigError(f"train.decay_from_phase: {k} needs schedule: wsd and a mixture with phases 0..{k} "
                              f"({self.cfg.data} has {len(bounds) if bounds is not None else 'no'} phases)")
        return int(bounds[k]) // self.global_batch

    def train_step(self) -> float | None:
        """Schedule, batch, forward/backward over micro batches, clip, spike check, optimizer step,
        metrics row. Returns the (global mean) loss, or None when the step was rolled back."""
        st, spec, raw, opt, world, device = self.state, self.spec, self.raw, self.opt, self.world, self.device
        t0 = time.perf_counter()
        # 1. learning rate of this step (warmup, cosine, cut by past recoveries)
        lr = lr_at(st.step, spec, self.decay_start) * st.lr_scale
        for g in opt.param_groups:
            g["lr"] = lr
        # 2. this rank's share of the global batch, by samples consumed (the data's whole state)
        batch = self.data.train_batch(st.consumed, self.global_batch, self.rank, world)
        if self.batch_hook is not None:
            batch = self.batch_hook(st.consumed, batch)
        inp, tgt = (torch.from_numpy(a).to(device, non_blocking=True)
                    for a in self.masking.examples(batch, st.consumed + self.rank * self.per_rank, TRAIN))
        # 3. forward/backward per micro batch. The loss is a mean over every predicted token of the
        # global batch (mlm: the count varies per micro batch and rank), so sums are scaled by
        # world / count (DDP averages over ranks); causal: every position is a target, no need to
        # count (an all-reduce and a host sync); span: every target is predicted, all rows as long
        if self.mconf.causal or self.masking.span:
            count = self.tokens_per_step if self.mconf.causal else self.global_batch * tgt.shape[1]
        else:
            count = _all_sum((tgt != IGNORE).sum(), world).item()
        scale = world / max(1, count)
        loss_sum = torch.zeros((), device=device)
        micro = spec.micro_batch_size
        for i in range(self.accum):
            sl = slice(i * micro, (i + 1) * micro)
            with grad_sync(self.model, raw, self.fsdp, world, last=i == self.accum - 1):
                with self.autocast():
                    _, loss = self.model(inp[sl], tgt[sl], reduction="sum", z_loss=spec.z_loss)
                loss = loss * scale
                loss.backward()
            loss_sum += loss.detach()
        loss_v = _all_mean(loss_sum, world).item()
        # 4. clip the global gradient norm
        gn = torch.nn.utils.clip_grad_norm_(raw.parameters(), spec.grad_clip if spec.grad_clip > 0 else float("inf"))
        gn_v = (gn.full_tensor() if hasattr(gn, "full_tensor") else gn).item()  # FSDP: a DTensor
        # 5. the skip guard drops an outlier's update (the batch is spent, the step counted); a spike
        # it does not catch drops the update and rolls back to the last checkpoint
        skipped = self.guard.check(loss_v, gn_v)
        if skipped is None and (reason := self.detector.check(loss_v, gn_v)) is not None:
            opt.zero_grad(set_to_none=True)
            self.recover(reason, loss_v)
            return None
        # 6. the update (unless skipped), then the state moves on
        if skipped is None:
            opt.step()
            self.detector.add(loss_v)
            self.guard.add(loss_v, gn_v)
            st.history = self.detector.history
        else:
            st.consecutive_skips, st.skipped_steps = st.consecutive_skips + 1, st.skipped_steps + 1
            self.log.write(kind="event", event="skipped_step", reason=skipped, loss=loss_v, grad_norm=gn_v,
                           step=st.step + 1)
            if self.master:
                console.warning("step %d skipped (%s, loss %.4f, grad norm %.3g)", st.step + 1, skipped, loss_v, gn_v)
        opt.zero_grad(set_to_none=True)
        st.step += 1
        st.consumed += self.global_batch
        # 7. one metrics row
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        self.t_total, self.steps_run = self.t_total + dt, self.steps_run + 1
        self.first = loss_v if self.first is None else self.first
        self.last = loss_v
        tps = self.tokens_per_step / dt
        row = dict(kind="train", step=st.step, loss=loss_v, grad_norm=gn_v, lr=lr, tokens_per_s=round(tps, 1),
                   consumed=st.consumed, tokens=st.consumed * self.data.seq_len)
        if self.peak:
            row["mfu"] = round(self.fpt * tps / world / self.peak, 4)
        if device.type == "cuda":
            row["peak_mem_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 3)
        self.log.write(**row)
        return loss_v

    def maybe_validate(self, loss: float) -> None:
        step, every = self.state.step, self.spec.eval_every
        if not every or (step % every and step != self.spec.steps):
            return
        self.val = _validate(self.raw, self.data, self.spec, (self.rank, self.world, self.device, self.autocast,
                                                               self.masking), self.log, step)
        if self.val is not None and self.master:
            console.info("step %d: train loss %.4f, validation loss %.4f (ppl %.2f)", step, loss, self.val,
                         math.exp(min(self.val, 50)))

    def maybe_save(self) -> None:
        step, every = self.state.step, self.spec.ckpt_every
        if every and step % every == 0 or step == self.spec.steps:
            self.save()

    def recover(self, reason: str, loss: float) -> None:
        """Roll back to the last checkpoint, skip every batch from it up to the offending one, cut the LR."""
        st, spec = self.state, self.cfg.spike
        if st.recoveries >= spec.max_recoveries:
            raise RuntimeError(f"loss spike at step {st.step} ({reason}) after {st.recoveries} recoveries: giving up")
        at_step, skip_to = st.step, st.consumed + self.global_batch
        recoveries, lr_scale = st.recoveries + 1, st.lr_scale * spec.lr_factor
        path = ckpt.latest(self.ckdir)
        self.restore(path)
        skipped = skip_to - st.consumed
        st.consumed, st.recoveries, st.lr_scale = skip_to, recoveries, lr_scale
        self.detector.history = list(st.history)
        self.log.write(kind="event", event="spike_recovery", reason=reason, loss=loss, at_step=at_step + 1,
                       rolled_back_to=st.step, checkpoint=path.name, skipped_samples=skipped, lr_scale=lr_scale)
        if self.master:
            console.warning("loss spike at step %d (%s, loss %.4f): rolled back to step %d, skipped %d samples, "
                            "LR x%.3g", at_step + 1, reason, loss, st.step, skipped, lr_scale)

    def stop_on(self, signum: int) -> None:
        self.save()
        self.log.write(kind="event", event="stopped", signal=signum, step=self.state.step)
        if self.master:
            console.warning("train: stopped by signal %d after step %d; checkpoint written to %s: re-run the "
                            "same command to resume", signum, self.state.step, self.ckdir)
        self.log.close()
        leave(signum)

    # -- start and end ---------------------------------------------------------------------------
    def start_log(self) -> None:
        """The run is an artifact (unfinished until the last step, its data named from the start);
        metrics.jsonl gets a `start` row."""
        cfg, st, world, raw, mconf = self.cfg, self.state, self.world, self.raw, self.mconf
        found = self.resumed_from
        if self.master:
            _write_run_artifact(cfg, self.data, artifact.INCOMPLETE)
        self.log = MetricsLog(self.out / "metrics.jsonl", enabled=self.master,
                              tb_dir=self.out / "tb" if self.spec.tensorboard else None,
                              purge_step=st.step + 1 if found else None)
        self.peak, self.fpt = peak_flops(self.device), raw.flops_per_token()
        if not self.master:
            return
        parallel = "fsdp" if self.fsdp else "ddp" if world > 1 else "none"
        self.log.write(kind="start", step=st.step, consumed=st.consumed, world_size=world, device=str(self.device),
                       params=raw.num_params(False), global_batch=self.global_batch, accum=self.accum,
                       seq_len=self.data.seq_len, parallel=parallel, objective=mconf.objective,
                       align=self.data.align, repeated_share=round(self.data.repeated_share, 4))
        console.info("train: %s params (%s, %s), %s x%d; %d steps of %s tokens; %s -> %s",
                     f"{raw.num_params(False):,}", mconf.objective, parallel if parallel != "none" else "one process",
                     self.device, world, self.spec.steps, f"{self.tokens_per_step:,}",
                     f"resuming at step {st.step} ({found.name})" if found else "from scratch", self.out)

    def finish(self) -> dict:
        st, spec = self.state, self.spec
        self.log.close()
        if self.master and st.step >= spec.steps:
            _write_run_artifact(self.cfg, self.data, artifact.COMPLETE, step=st.step)
        if self.master:
            console.info("train: step %d; checkpoints in %s, metrics.jsonl%s in %s", st.step, self.ckdir,
                         " and tb/" if spec.tensorboard else "", self.out)
        if (self.world > 1 or self.fsdp) and dist.is_initialized():
            _shutdown_distributed()
        return {"step": st.step, "first_loss": self.first, "last_loss": self.last, "val_loss": self.val,
                "recoveries": st.recoveries, "lr_scale": st.lr_scale, "skipped_steps": st.skipped_steps,
                "tokens_per_s": self.tokens_per_step * self.steps_run / self.t_total if self.t_total else None}


def _write_run_artifact(cfg: TrainConfig, data: MixtureData, status: str, step: int | None = None) -> None:
    ckpt_file = ckpt.latest(Path(cfg.output) / "checkpoints")
    artifact.write(cfg.output, "run", config=cfg.model_dump(mode="json", exclude={"output"}), status=status,
                   fingerprint=artifact.sha256_json([data.fingerprint, step, ckpt_file.name if ckpt_file else None]),
                   inputs=[mixture_ref(cfg.data, data.fingerprint)],
                   details={"steps": cfg.train.steps, "step": step, "unfinished": None if status == artifact.COMPLETE
                            else f"training stopped before step {cfg.train.steps}"})


def _shutdown_distributed() -> None:
    """Tear the process group down without a known gloo deadlock (pytorch#56297): the group's C++
    destructor, run when the DDP/FSDP wrappers are freed, joins gloo's worker threads while holding
    the GIL, and a worker still freeing the last collective's Python tensors needs the GIL. A barrier
    and a GIL-free pause let the workers finish that first (a torchrun run once hung at exit here)."""
    dist.barrier()
    time.sleep(0.2)
    dist.destroy_process_group()


def _validate(model: GPT, data: MixtureData, spec: TrainSpec, ctx: tuple, log, step: int) -> float | None:
    """Validation loss over the whole split (kind `val`), then each source's (kind `val_source`), with
    perplexity and, for a causal model when the mixture recorded text bytes, bits per byte:
    loss / ln 2 x validation tokens per byte, which compares across tokenizers."""
    causal = ctx[-1].causal  # ctx = (rank, world, device, autocast, masking)
    val = evaluate(model, data, spec, *ctx)
    if val is None:
        return None
    log.write(kind="val", step=step, loss=val, ppl=math.exp(min(val, 50)), **_bpb(val, data.tokens_per_byte(), causal))
    for name in data.val_sources:
        loss = evaluate(model, data, spec, *ctx, source=name)
        log.write(kind="val_source", source=name, step=step, loss=loss, ppl=math.exp(min(loss, 50)),
                  **_bpb(loss, data.tokens_per_byte(name), causal))
    return val


def _bpb(loss: float, tokens_per_byte: float | None, causal: bool) -> dict:
    """Bits per byte of text; none for mlm (its loss is over masked positions only, not a code length)."""
    return {"bpb": loss / math.log(2) * tokens_per_byte} if causal and tokens_per_byte else {}


@torch.no_grad()
def evaluate(model: GPT, data: MixtureData, spec: TrainSpec, rank, world, device, autocast, masking: Masking,
             source: str | None = None) -> float | None:
    """Mean loss per predicted token over the fixed validation windows, of the split or of one source
    (mlm: a fixed mask)."""
    if data.val is None and source is None:
        return None
    model.eval()
    total, n = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.long)
    micro = spec.micro_batch_size
    for i, b in enumerate(data.val_batches(spec.eval_batches, micro, rank, world, source)):
        inp, tgt = (torch.from_numpy(a).to(device)
                    for a in masking.examples(b, (i * world + rank) * micro, VALIDATION))
        with autocast():
            _, loss = model(inp, tgt, reduction="sum")
        total += loss.float()
        n += (tgt != IGNORE).sum()
    model.train()
    return (_all_sum(total, world) / _all_sum(n, world).clamp(min=1)).item()


if __name__ == "__main__":  # torchrun --nproc_per_node N -m corpusmill.trainer.train train.yaml
    import json

    from corpusmill.console import NORMAL, configure
    configure(NORMAL)
    out = train(load_train_config(sys.argv[1]))
    if int(os.environ.get("RANK", 0)) == 0:
        print(json.dumps(out))
