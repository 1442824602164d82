"""SIGINT / SIGTERM during training (Ctrl-C, a preempted job on a shared cluster): the step in
flight finishes, a checkpoint is written, and the run leaves; the same command resumes it. Under
torchrun every rank must stop at the same step (the checkpoint is collective), so ranks agree
through a one-element all-reduce per step."""
from __future__ import annotations

import signal
import threading

import torch
import torch.distributed as dist


class StopSignals:
    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():  # handlers live on the main thread only
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:  # a second Ctrl-C: leave now
            raise KeyboardInterrupt
        self.signum = signum

    def __exit__(self, *exc) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)

    def requested(self, world: int, device: torch.device) -> int | None:
        """The signal to stop on, agreed by every rank, or None."""
        if world <= 1:
            return self.signum
        flag = torch.tensor([self.signum or 0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None


def leave(signum: int) -> None:
    """After the checkpoint: Ctrl-C leaves as an interrupt (the CLI says how to resume, exit 130),
    SIGTERM with its conventional status 143."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)
