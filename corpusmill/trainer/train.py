"""The pretraining loop. One entry for one process and for torchrun (DDP or FSDP2: gloo on CPU,
NCCL on GPU).
State that makes a resume exact: model, optimizer, step, samples consumed, LR scale, RNG per rank
and the spike detector's window. `python -m corpusmill.trainer.train train.yaml` runs it."""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import ExitStack, nullcontext
from pathlib import Path

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
from corpusmill.trainer.lineage import check_resume, mixture_ref
from corpusmill.trainer.memory import check_fits
from corpusmill.trainer.stop import StopSignals, leave
from corpusmill.trainer.metrics import MetricsLog, peak_flops
from corpusmill.trainer.mlm import IGNORE, TRAIN, VALIDATION, examples
from corpusmill.trainer.model import GPT, build_config
from corpusmill.trainer.parallel import full_state, grad_sync, load_full_state, shard, sharded, wrap_ddp
from corpusmill.trainer.tb import summary_writer_class


def lr_at(step: int, spec: TrainSpec) -> float:
    """Linear warmup to lr, then cosine to min_lr at the last step."""
    min_lr = spec.lr / 10 if spec.min_lr is None else spec.min_lr
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
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


def _distributed(device_opt: str) -> tuple[int, int, torch.device]:
    world, rank = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("RANK", 0))
    cuda = torch.cuda.is_available() and device_opt != "cpu"
    if device_opt == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda asked for, but no CUDA device is present")
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


def make_optimizer(model: GPT, spec: TrainSpec, device: torch.device) -> torch.optim.AdamW:
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
        return _train(cfg, stop_after=stop_after, batch_hook=batch_hook)


def _train(cfg: TrainConfig, *, stop_after: int | None = None, batch_hook=None) -> dict:
    spec = cfg.train
    rank, world, device = _distributed(spec.device)
    master = rank == 0
    data = MixtureData(cfg.data, spec.seq_len, spec.seed)
    T, micro = data.seq_len, spec.micro_batch_size
    global_batch = max(1, spec.global_batch_tokens // T)
    per_rank = global_batch // world
    if global_batch % world or per_rank % micro:
        raise ConfigError(f"train.global_batch_tokens: {spec.global_batch_tokens} tokens / seq_len {T} = "
                          f"{global_batch} samples per step, which do not split into {world} rank(s) x micro "
                          f"batches of {micro} (train.micro_batch_size); choose global_batch_tokens = "
                          f"{T} x {world} x {micro} x k")
    if spec.seq_len and spec.seq_len != int(data.manifest.get("seq_len", spec.seq_len)):
        console.warning("train.seq_len %d differs from the mixture's seq_len %s (%s): windows are cut at %d "
                        "tokens, which works, but the mixture was planned for its own", spec.seq_len,
                        data.manifest.get("seq_len"), cfg.data, spec.seq_len)
    accum = per_rank // micro
    m = cfg.model
    mconf = build_config(data.vocab_size, T, m.preset, n_layer=m.n_layer, n_head=m.n_head, d_model=m.d_model,
                         ffn_mult=m.ffn_mult, dropout=spec.dropout, tie_embeddings=m.tie_embeddings,
                         objective=m.objective)
    if device.type == "cpu" and spec.cpu_threads:
        torch.set_num_threads(spec.cpu_threads)
    if device.type == "cpu":  # bit-exact resume is promised on CPU
        torch.use_deterministic_algorithms(True, warn_only=True)
    fsdp = sharded(spec.parallel, world)
    with torch.device("meta"):  # count before allocating: refuse what cannot fit, with the numbers
        check_fits(mconf, GPT(mconf).num_params(False), micro, world, fsdp, device)
    torch.manual_seed(spec.seed)  # the same init on every rank
    raw = GPT(mconf).to(device)
    if fsdp:
        shard(raw)  # before the optimizer, which must hold the sharded parameters
    opt = make_optimizer(raw, spec, device)
    torch.manual_seed(spec.seed * 1000 + 1 + rank)  # dropout streams differ per rank
    out, ckdir = Path(cfg.output), Path(cfg.output) / "checkpoints"
    st = {"step": 0, "consumed": 0, "lr_scale": 1.0, "recoveries": 0, "history": []}

    def state_dict() -> dict:
        rngs = [None] * world
        if world > 1:
            dist.all_gather_object(rngs, ckpt.rng_state())
        else:
            rngs = [ckpt.rng_state()]
        model_sd, opt_sd = full_state(raw, opt, fsdp)
        return {**st, "model": model_sd, "optimizer": opt_sd, "rng": rngs, "world_size": world,
                "model_config": mconf.to_dict(), "tokenizer": data.manifest.get("tokenizer", {}),
                "data": str(cfg.data), "data_fingerprint": data.fingerprint}

    def save() -> None:
        s = state_dict()
        if master:
            ckpt.save(ckdir, st["step"], s, spec.keep_last)
        if world > 1:
            dist.barrier()  # no rank may roll back to a file still being written

    def restore(path: Path) -> None:
        s = ckpt.load(path, map_location="cpu" if fsdp else device)  # FSDP: full weights stay off the GPU
        check_resume(s, data, mconf.vocab_size, path, str(out))
        load_full_state(raw, opt, s["model"], s["optimizer"], fsdp)
        st.update({k: s[k] for k in ("step", "consumed", "lr_scale", "recoveries", "history")})
        if s["world_size"] == world:  # another world size: data stays exact, dropout RNG cannot
            ckpt.set_rng_state(s["rng"][rank])

    if master and (n := ckpt.remove_stale_temps(ckdir)):
        console.info("train: removed %d half-written checkpoint(s) a killed run left in %s", n, ckdir)
    if (found := ckpt.latest(ckdir)) is not None:
        restore(found)  # refused (ResumeError) when the checkpoint was made on other data
    else:
        save()  # step 0: spike recovery always has somewhere to go back to
    if master:  # the run is an artifact: unfinished until the last step, its data named from the start
        _write_run_artifact(cfg, data, artifact.INCOMPLETE)
    log = MetricsLog(out / "metrics.jsonl", enabled=master, tb_dir=out / "tb" if spec.tensorboard else None,
                     purge_step=st["step"] + 1 if found else None)
    if master:
        log.write(kind="start", step=st["step"], consumed=st["consumed"], world_size=world, device=str(device),
                  params=raw.num_params(False), global_batch=global_batch, accum=accum, seq_len=T,
                  parallel="fsdp" if fsdp else "ddp" if world > 1 else "none", objective=mconf.objective)
        console.info("train: %s params (%s, %s), %s x%d; %d steps of %s tokens; %s -> %s",
                     f"{raw.num_params(False):,}", mconf.objective, "fsdp" if fsdp else "ddp" if world > 1 else
                     "one process", device, world, spec.steps, f"{global_batch * T:,}",
                     f"resuming at step {st['step']} ({found.name})" if found else "from scratch", out)
    model = torch.compile(raw) if m.compile else raw
    if world > 1 and not fsdp:
        model = wrap_ddp(model, device)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else nullcontext
    detector = SpikeDetector(cfg.spike, st["history"])
    peak, fpt = peak_flops(device), raw.flops_per_token()
    masking = (mconf.causal, spec.seed, mconf.vocab_size, mconf.mask_id, m.mask_prob)
    tokens_per_step = global_batch * T
    bars = ExitStack()  # a progress bar on rank 0 at a terminal (console.task draws nothing elsewhere)
    advance = bars.enter_context(task("train", total=spec.steps, unit="steps")) if master and spec.progress else None
    if advance:
        advance(completed=st["step"])
    first = last = None
    t_total, steps_run, val = 0.0, 0, None
    stop = bars.enter_context(StopSignals())
    try:
        while st["step"] < spec.steps and (stop_after is None or st["step"] < stop_after):
            t0 = time.perf_counter()
            lr = lr_at(st["step"], spec) * st["lr_scale"]
            for g in opt.param_groups:
                g["lr"] = lr
            batch = data.train_batch(st["consumed"], global_batch, rank, world)
            if batch_hook is not None:
                batch = batch_hook(st["consumed"], batch)
            inp, tgt = (torch.from_numpy(a).to(device, non_blocking=True)
                        for a in examples(batch, st["consumed"] + rank * per_rank, *masking, TRAIN))
            # the loss is a mean over every predicted token of the global batch (mlm: the count varies
            # per micro batch and rank), so sums are scaled by world / count (DDP averages over ranks)
            # causal: every position is a target, no need to count (an all-reduce and a host sync)
            count = tokens_per_step if mconf.causal else _all_sum((tgt != IGNORE).sum(), world).item()
            scale = world / max(1, count)
            loss_sum = torch.zeros((), device=device)
            for i in range(accum):
                sl = slice(i * micro, (i + 1) * micro)
                with grad_sync(model, raw, fsdp, world, last=i == accum - 1):
                    with autocast():
                        _, loss = model(inp[sl], tgt[sl], reduction="sum")
                    loss = loss * scale
                    loss.backward()
                loss_sum += loss.detach()
            loss_v = _all_mean(loss_sum, world).item()
            gn = torch.nn.utils.clip_grad_norm_(raw.parameters(), spec.grad_clip if spec.grad_clip > 0 else float("inf"))
            gn_v = (gn.full_tensor() if hasattr(gn, "full_tensor") else gn).item()  # FSDP: a DTensor
            reason = detector.check(loss_v, gn_v)
            if reason is not None:
                opt.zero_grad(set_to_none=True)
                _recover(st, cfg.spike, ckdir, restore, global_batch, log, reason, loss_v)
                detector.history = list(st["history"])
                continue
            opt.step()
            opt.zero_grad(set_to_none=True)
            detector.add(loss_v)
            st["history"] = detector.history
            st["step"] += 1
            st["consumed"] += global_batch
            if device.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            t_total, steps_run = t_total + dt, steps_run + 1
            first = loss_v if first is None else first
            last = loss_v
            tps = tokens_per_step / dt
            row = dict(kind="train", step=st["step"], loss=loss_v, grad_norm=gn_v, lr=lr, tokens_per_s=round(tps, 1),
                       consumed=st["consumed"], tokens=st["consumed"] * T)
            if peak:
                row["mfu"] = round(fpt * tps / world / peak, 4)
            if device.type == "cuda":
                row["peak_mem_gb"] = round(torch.cuda.max_memory_allocated(device) / 1e9, 3)
            log.write(**row)
            if spec.eval_every and (st["step"] % spec.eval_every == 0 or st["step"] == spec.steps):
                val = _validate(raw, data, spec, (rank, world, device, autocast, masking), log, st["step"])
                if val is not None and master:
                    console.info("step %d: train loss %.4f, validation loss %.4f (ppl %.2f)", st["step"], loss_v,
                                 val, math.exp(min(val, 50)))
            if spec.ckpt_every and st["step"] % spec.ckpt_every == 0 or st["step"] == spec.steps:
                save()
            if advance:
                advance(completed=st["step"], note=f"loss {loss_v:.3f}")
            kill_point("train.step")
            if (signum := stop.requested(world, device)) is not None:
                save()
                log.write(kind="event", event="stopped", signal=signum, step=st["step"])
                if master:
                    console.warning("train: stopped by signal %d after step %d; checkpoint written to %s: re-run the "
                                    "same command to resume", signum, st["step"], ckdir)
                log.close()
                leave(signum)
    finally:
        bars.close()
    log.close()
    if master and st["step"] >= spec.steps:
        _write_run_artifact(cfg, data, artifact.COMPLETE, step=st["step"])
    if master:
        console.info("train: step %d; checkpoints in %s, metrics.jsonl%s in %s", st["step"], ckdir,
                     " and tb/" if spec.tensorboard else "", out)
    if world > 1 and dist.is_initialized():
        _shutdown_distributed()
    return {"step": st["step"], "first_loss": first, "last_loss": last, "val_loss": val,
            "recoveries": st["recoveries"], "lr_scale": st["lr_scale"],
            "tokens_per_s": tokens_per_step * steps_run / t_total if t_total else None}


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


def _recover(st, spec: SpikeSpec, ckdir: Path, restore, global_batch: int, log, reason: str, loss: float) -> None:
    """Roll back to the last checkpoint, skip every batch from it up to the offending one, cut the LR."""
    if st["recoveries"] >= spec.max_recoveries:
        raise RuntimeError(f"loss spike at step {st['step']} ({reason}) after {st['recoveries']} recoveries: giving up")
    at_step, skip_to = st["step"], st["consumed"] + global_batch
    recoveries, lr_scale = st["recoveries"] + 1, st["lr_scale"] * spec.lr_factor
    path = ckpt.latest(ckdir)
    restore(path)
    skipped = skip_to - st["consumed"]
    st.update(consumed=skip_to, recoveries=recoveries, lr_scale=lr_scale)
    log.write(kind="event", event="spike_recovery", reason=reason, loss=loss, at_step=at_step + 1,
              rolled_back_to=st["step"], checkpoint=path.name, skipped_samples=skipped, lr_scale=lr_scale)
    if log.enabled:  # rank 0
        console.warning("loss spike at step %d (%s, loss %.4f): rolled back to step %d, skipped %d samples, "
                        "LR x%.3g", at_step + 1, reason, loss, st["step"], skipped, lr_scale)


def _validate(model: GPT, data: MixtureData, spec: TrainSpec, ctx: tuple, log, step: int) -> float | None:
    """Validation loss over the whole split (kind `val`), then each source's (kind `val_source`), with
    perplexity and, for a causal model when the mixture recorded text bytes, bits per byte:
    loss / ln 2 x validation tokens per byte, which compares across tokenizers."""
    causal = ctx[-1][0]  # masking = (causal, seed, vocab, mask id, mask prob)
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
def evaluate(model: GPT, data: MixtureData, spec: TrainSpec, rank, world, device, autocast, masking,
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
                    for a in examples(b, (i * world + rank) * micro, *masking, VALIDATION))
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
