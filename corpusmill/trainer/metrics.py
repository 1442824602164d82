"""Per-step metrics to runs/x/metrics.jsonl (flushed each line, so a killed run keeps its log),
mirrored to TensorBoard under runs/x/tb/ when asked."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

# Dense bf16 peak FLOP/s by device name substring; unknown devices (and CPU) get no MFU.
PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_FLOPS.items() if k in name), None)


class MetricsLog:
    def __init__(self, path: str | Path, enabled: bool = True, tb_dir: str | Path | None = None,
                 purge_step: int | None = None):
        self.enabled = enabled
        self.path = Path(path)
        self._f = self._tb = None
        if enabled:
            if tb_dir is not None:  # first: a missing package fails before the log is opened
                from corpusmill.trainer.tb import TensorBoardLog
                self._tb = TensorBoardLog(tb_dir, purge_step)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a")

    def write(self, **row) -> None:
        if self._f:
            self._f.write(json.dumps({"time": round(time.time(), 3), **row}) + "\n")
            self._f.flush()
        if self._tb:
            self._tb.write(row)

    def close(self) -> None:
        if self._f:
            self._f.close()
            self._f = None
        if self._tb:
            self._tb.close()
            self._tb = None


def read_metrics(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def loss_by_step(path: str | Path) -> dict[int, float]:
    """The train loss per step; after a resume the re-run steps replace the killed run's."""
    out: dict[int, float] = {}
    for r in read_metrics(path):
        if r.get("kind") == "train":
            out[r["step"]] = r["loss"]
    return out
