"""Checkpoints: one file per step, written atomically (temp + rename), the last K kept.
Everything is plain tensors/ints/lists so loading works with weights_only=True."""
from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from corpusmill.faults import kill_point
from corpusmill.common.files import atomic_path, remove_temp_files

_NAME = re.compile(r"step-(\d+)\.pt$")


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "python": random.getstate()}


def set_rng_state(s: dict) -> None:
    # generators take CPU byte tensors; a checkpoint loaded with map_location=cuda holds GPU copies
    torch.set_rng_state(s["torch"].cpu())
    if s.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([t.cpu() for t in s["cuda"]])
    n = s["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    py = s["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def list_checkpoints(folder: str | Path) -> list[Path]:
    found = [(int(m.group(1)), p) for p in Path(folder).glob("step-*.pt") if (m := _NAME.search(p.name))]
    return [p for _, p in sorted(found)]


def latest(folder: str | Path) -> Path | None:
    cks = list_checkpoints(folder)
    return cks[-1] if cks else None


def save(folder: str | Path, step: int, state: dict, keep_last: int) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step-{step:08d}.pt"
    with atomic_path(path, hidden=True) as tmp:  # hidden: step-*.pt never matches a temp
        torch.save(state, tmp)
        kill_point("checkpoint.tmp")
    for old in list_checkpoints(folder)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def remove_stale_temps(folder: str | Path) -> int:
    """Half-written checkpoints a killed run left behind (never picked up: the name lacks .pt at the end)."""
    return remove_temp_files(folder, ".step-*.pt", recursive=False)


class CheckpointError(ValueError):
    pass


def load(path: str | Path, map_location="cpu") -> dict:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (OSError, EOFError) as e:
        raise CheckpointError(f"{path}: cannot read it ({e})") from e
    except Exception as e:  # torch.load fails in many ways on a file that is not one of ours
        raise CheckpointError(f"{path}: not a corpusmill checkpoint ({type(e).__name__}: {e})") from e


def resolve(run_or_ckpt: str | Path) -> Path:
    """A checkpoint file, or a run folder (its latest checkpoint)."""
    p = Path(run_or_ckpt)
    if p.is_file():
        return p
    for folder in (p / "checkpoints", p):
        if (c := latest(folder)) is not None:
            return c
    raise FileNotFoundError(f"no checkpoint under {p}")
