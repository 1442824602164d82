"""Data parallelism over ranks: DDP (a full replica per rank) or FSDP2 (torch's fully_shard: each
Block, then the root, sharded over ranks, for models whose weights and Adam state do not fit).

Checkpoints are the same one file either way: a full, unsharded model state dict and an optimizer
state dict keyed by parameter index, as `optimizer.state_dict()` writes. Under FSDP the full state
is gathered to rank 0's CPU with torch.distributed.checkpoint's state_dict helpers, so a run saved
under FSDP resumes under DDP or one process, and the other way round."""
from __future__ import annotations

import os
from contextlib import nullcontext

import torch
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_model_state_dict,
                                                     set_optimizer_state_dict)

_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


def sharded(parallel: str, world: int, launched: bool = False) -> bool:
    """FSDP over the ranks. One process has nothing to shard over, so it runs the plain model, unless
    it was launched as a process group (torchrun --nproc_per_node 1, or MASTER_ADDR/PORT, RANK and WORLD_SIZE set):
    then a one-rank mesh, which measures what FSDP2's hooks and DTensors cost on one GPU."""
    return parallel == "fsdp" and (world > 1 or launched)


def launched() -> bool:
    """Started by torchrun (or with its rendezvous variables set by hand). RANK and WORLD_SIZE too: some
    cluster wrappers export MASTER_ADDR/PORT to every job, and a group cannot start without them."""
    return all(k in os.environ for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"))


def shard(raw: torch.nn.Module) -> None:
    """In place: parameters become DTensors sharded on dim 0; build the optimizer after this."""
    from torch.distributed.fsdp import fully_shard
    for b in [*raw.blocks, *getattr(raw, "dec_blocks", [])]:  # one all-gather per Block (span: and decoder Block)
        fully_shard(b)
    fully_shard(raw)  # embedding, final norm, head (tied weights stay in one group)


def wrap_ddp(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def grad_sync(model: torch.nn.Module, raw: torch.nn.Module, fsdp: bool, world: int, last: bool):
    """Context for one micro batch's backward: gradients are reduced over ranks only on the last."""
    if world == 1:
        return nullcontext()
    if fsdp:
        raw.set_requires_gradient_sync(last)  # FSDP2 has no no_sync(); the flag persists
        return nullcontext()
    return nullcontext() if last else model.no_sync()


def _names(raw: torch.nn.Module, opt: torch.optim.Optimizer) -> list[str]:
    """The optimizer's parameters in its own order (the index keys of optimizer.state_dict())."""
    name = {id(p): n for n, p in raw.named_parameters()}
    return [name[id(p)] for g in opt.param_groups for p in g["params"]]


def full_state(raw: torch.nn.Module, opt: torch.optim.Optimizer, fsdp: bool) -> tuple[dict, dict]:
    """(model, optimizer) state dicts in the one-file format; a collective under FSDP, whose
    ranks other than 0 get empty dicts."""
    if not fsdp:
        return raw.state_dict(), opt.state_dict()
    model = get_model_state_dict(raw, options=_FULL)
    if not opt.state:  # before the first step; the helper would take a zero step to make state
        return model, opt.state_dict()  # (Adam's step count +1: the run would drift from DDP's)
    by_name = get_optimizer_state_dict(raw, opt, options=_FULL)
    if not by_name:
        return model, {}
    index = {n: i for i, n in enumerate(_names(raw, opt))}
    groups = [{**g, "params": [index[n] for n in g["params"]]} for g in by_name["param_groups"]]
    return model, {"state": {index[n]: s for n, s in by_name["state"].items()}, "param_groups": groups}


def load_full_state(raw: torch.nn.Module, opt: torch.optim.Optimizer, model: dict, optim: dict, fsdp: bool) -> None:
    """Every rank passes the whole checkpoint; under FSDP each keeps its own shard."""
    if not fsdp:
        raw.load_state_dict(model)
        opt.load_state_dict(optim)
        return
    set_model_state_dict(raw, model, options=StateDictOptions(full_state_dict=True))
    if not optim["state"]:  # saved before the first step: only hyperparameters (see full_state)
        opt.load_state_dict(optim)
        return
    names = _names(raw, opt)
    groups = [{**g, "params": [names[i] for i in g["params"]]} for g in optim["param_groups"]]
    by_name = {"state": {names[i]: s for i, s in optim["state"].items()}, "param_groups": groups}
    set_optimizer_state_dict(raw, opt, by_name, options=StateDictOptions(full_state_dict=True))
