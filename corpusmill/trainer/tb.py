"""Mirror of metrics.jsonl into TensorBoard event files (OUTPUT/tb/): every numeric field of a row
becomes a scalar tagged `<kind>/<field>` (train/loss, val/ppl, event/spike_recovery/loss ...); a
source's validation row goes under val/<source>/ (val/web/loss, val/web/bpb)."""
from __future__ import annotations

import json
from pathlib import Path

MISSING = ("train.tensorboard is true but the `tensorboard` package is not installed: "
           "pip install tensorboard==2.21.0, or set train.tensorboard: false")


def summary_writer_class():
    """torch's SummaryWriter, or a clear error naming the fix (torch imports tensorboard lazily)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:
        raise RuntimeError(f"{MISSING} ({e})") from None
    return SummaryWriter


class TensorBoardLog:
    def __init__(self, folder: str | Path, purge_step: int | None = None):
        # purge_step: on resume, TensorBoard drops the killed run's events from this step on, so the
        # re-run steps replace them (as metrics.loss_by_step does for the JSONL)
        self._w = summary_writer_class()(str(folder), purge_step=purge_step, flush_secs=10)

    def write(self, row: dict) -> None:
        kind = row.get("kind")
        if kind == "start":
            self._w.add_text("run/start", json.dumps(row), row.get("step", 0))
            return
        if kind == "event":
            step, prefix = int(row.get("at_step", row.get("step", 0))), f"event/{row.get('event', 'other')}"
            if "reason" in row:
                self._w.add_text(prefix, str(row["reason"]), step)
        elif kind == "val_source":  # val/<source>/loss, beside val/loss
            step, prefix = int(row.get("step", 0)), f"val/{row.get('source')}"
        else:
            step, prefix = int(row.get("step", 0)), str(kind)
        for k, v in row.items():
            if k in ("kind", "step", "at_step", "time") or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            self._w.add_scalar(f"{prefix}/{k}", v, step)

    def close(self) -> None:
        self._w.close()


def read_scalars(folder: str | Path, tag: str) -> dict[int, float]:
    """step -> value for one tag (after TensorBoard's own purge of resumed steps); for tests and tools."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})  # 0: keep every point
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars(tag)}
