"""The one way work runs on Ray: a list of units (plain arguments), each submitted as a task or to
a free actor, at most `window` in flight; results yielded in unit order (what the driver writes
stays the same run after run) or as they finish. A unit that finished in an earlier run (its
`finished` record exists) is read back, not rerun; each collected unit advances the progress bar
and passes a kill point; when the caller stops early or a unit fails, what is in flight is cancelled.

Users: the build's parts (actors: stage models load once per worker), the phases of global stages
(dedup), the tokenizer's sampling and encoding, and through encoding the mixture.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import ray

from corpusmill.console import log, task
from corpusmill.faults import kill_point


class Tasks:
    """Submits fn(*shared, *unit) as a one-CPU Ray task (num_gpus: also that many GPUs, which Ray
    assigns through CUDA_VISIBLE_DEVICES); shared values go to the object store once."""

    def __init__(self, fn: Callable, shared: tuple = (), force_cancel: bool = False, num_gpus: int = 0):
        self.remote = ray.remote(num_cpus=1, num_gpus=num_gpus)(fn)
        self.shared = tuple(ray.put(v) if _shareable(v) else v for v in shared)
        self.force_cancel = force_cancel  # kill a cancelled unit's worker (units that only write files)

    def __call__(self, unit: tuple) -> Any:
        return self.remote.remote(*self.shared, *unit)

    def release(self, ref: Any) -> None:
        pass


class Actors:
    """Submits actor.METHOD(*unit) to a free actor (each holds loaded models); one unit per actor."""

    def __init__(self, actors: list, method: str):
        self.free, self.busy, self.method = list(actors), {}, method

    def __call__(self, unit: tuple) -> Any:
        actor = self.free.pop()
        ref = getattr(actor, self.method).remote(*unit)
        self.busy[ref] = actor
        return ref

    def release(self, ref: Any) -> None:
        self.free.append(self.busy.pop(ref))

    @property
    def size(self) -> int:
        return len(self.free) + len(self.busy)


def run_units(units: Iterable[tuple], submit: Tasks | Actors, *, window: int, label: str, ordered: bool = False,
              finished: Callable[..., dict | None] | None = None, kill: str | None = None,
              note: Callable[[Any], str | None] | None = None, unit_name: str = "units",
              done_before: int = 0) -> Iterator[tuple[tuple, Any]]:
    """Yields (unit, result): in unit order when `ordered`, else as they finish (units an earlier run
    finished first). `done_before`: units finished earlier that the caller left out of `units` (they
    count on the progress bar); `note(result)` adds text to it."""
    if ordered and finished:
        raise ValueError("run_units: ordered results and finished units do not mix")
    units = list(units)
    earlier: list[tuple[tuple, Any]] = []
    todo: list[tuple] = []
    for u in units:
        record = finished(*u) if finished else None
        if record is not None:
            earlier.append((u, record))
        else:
            todo.append(u)
    if earlier and todo:  # say where a resumed run picks up
        log.info("%s: resuming at unit %d of %d (%d finished earlier)", label, units.index(todo[0]) + 1,
                 len(units), len(earlier))
    window = max(1, min(window, getattr(submit, "size", window)))
    with task(label, total=len(units) + done_before, unit=unit_name) as advance:
        advance(completed=done_before + len(earlier))
        yield from earlier
        for unit, result in _run(todo, submit, window, ordered):
            advance(note=note(result) if note else None)
            if kill:
                kill_point(kill)
            yield unit, result


def _run(units: list[tuple], submit, window: int, ordered: bool) -> Iterator[tuple[tuple, Any]]:
    pending: dict[Any, int] = {}
    turn = 0  # ordered: the unit to yield next (units are submitted in order)
    queue = iter(range(len(units)))
    try:
        for k in queue:
            pending[submit(units[k])] = k
            if len(pending) >= window:
                break
        while pending:
            if ordered:  # wait for the unit whose turn it is; later ones finish meanwhile
                ref = next(r for r, k in pending.items() if k == turn)
                ray.wait([ref], num_returns=1)
            else:
                ref = ray.wait(list(pending), num_returns=1)[0][0]
            k = pending.pop(ref)
            try:
                result = ray.get(ref)
            finally:
                submit.release(ref)
            nxt = next(queue, None)
            if nxt is not None:
                pending[submit(units[nxt])] = nxt
            turn += 1
            yield units[k], result
    finally:
        for ref in pending:  # the caller stopped early or a unit failed: the rest is redone next run
            ray.cancel(ref, force=getattr(submit, "force_cancel", False))


def _shareable(value: Any) -> bool:
    """Worth one copy in the object store rather than one pickle per task."""
    return not isinstance(value, (str, int, float, bool, type(None)))
