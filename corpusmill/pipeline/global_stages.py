"""Runs a global stage (dedup): its phases one after another, each phase's units on the build's
Ray workers through the shared unit runner (finished units skipped, progress, kill points). The
stage itself only says what its phases are; it knows nothing of Ray."""
from __future__ import annotations

import time

from corpusmill.common.units import Tasks, run_units
from corpusmill.pipeline.stage import GlobalStage, Phase


def run_global(stage: GlobalStage, out_root: str, part_ids: list[str], num_workers: int) -> dict:
    phases = stage.phases(out_root, part_ids, num_workers)
    seconds: dict[str, float] = {}
    results: list[dict] | None = None
    while True:
        try:
            phase = phases.send(results)
        except StopIteration as end:
            stats = end.value
            break
        t0 = time.perf_counter()
        results = run_phase(stage.name, phase, num_workers)
        seconds[phase.name] = round(seconds.get(phase.name, 0) + time.perf_counter() - t0, 3)
    stats["stage"]["seconds"] = seconds
    return stats


def run_phase(stage_name: str, phase: Phase, num_workers: int) -> list[dict]:
    """The phase's results in unit order."""
    # a cancelled unit only ever wrote temp files: its worker can be killed outright
    submit = Tasks(phase.fn, phase.shared, force_cancel=True)
    got = dict(run_units(phase.units, submit, window=num_workers, label=f"{stage_name} {phase.name}",
                         finished=phase.finished, kill=f"{stage_name}.{phase.name}"))
    return [got[u] for u in phase.units]
