"""What the user sees on stderr: log lines ("corpusmill" logger) and rich progress bars.

One setting for the whole process, chosen by the command's --quiet / --verbose: quiet shows only
warnings and errors (and the command's result on stdout), verbose adds debug lines. Bars show
only on a terminal; where stderr is a file or a pipe, the log lines say the same in fewer words.
Library code calls `log` and `task(...)` and never asks who is listening."""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import click

log = logging.getLogger("corpusmill")
QUIET, NORMAL, VERBOSE = -1, 0, 1
_state = {"level": None}


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure(level: int = NORMAL) -> None:
    """(Re)install the stderr handler for the current stderr, at this level."""
    from rich.console import Console
    from rich.logging import RichHandler

    console = Console(stderr=True)
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:  # a log file or a pipe: one unwrapped line per message
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(levelname)-7s %(message)s"))
    for old in list(log.handlers):
        log.removeHandler(old)
    log.addHandler(handler)
    log.propagate = False
    _state["level"] = level
    log.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}[level])


def quiet() -> bool:
    return _state["level"] == QUIET


@contextmanager
def task(label: str, total: int | None = None, unit: str = "parts") -> Iterator[Callable[..., None]]:
    """A progress bar for one piece of long work: yields advance(n=1, **fields). Nothing is drawn
    when quiet or when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if quiet() or _state["level"] is None:
        yield lambda n=1, **fields: None
        return
    if not console.is_terminal:  # a batch job's log: a line at a steady interval shows it alive
        progress = _LogProgress(label, total, unit)
        try:
            yield progress.advance
        finally:
            progress.stop()
        return
    with Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                  TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        t = bar.add_task(label, total=total, note="")

        def advance(n: int = 1, *, total: int | None = None, completed: int | None = None, note: str = "") -> None:
            kw = {"note": note} if note else {}
            if total is not None:
                kw["total"] = total
            if completed is not None:
                bar.update(t, completed=completed, **kw)
            else:
                bar.update(t, advance=n, **kw)

        yield advance


class _LogProgress:
    """Progress as log lines where no bar can be drawn: every CORPUSMILL_PROGRESS_SECONDS (30), from a
    timer thread (so a long unit still shows the job alive), what is done, the rate and the ETA."""

    def __init__(self, label: str, total: int | None, unit: str):
        import os
        import threading
        import time

        self.clock = time.monotonic
        self.label, self.total, self.unit, self.note = label, total, unit, ""
        self.every = float(os.environ.get("CORPUSMILL_PROGRESS_SECONDS", 30))
        self.start = self.clock()
        self.done = self.at_start = 0
        self.resumed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"progress {label}", daemon=True)
        self._thread.start()

    def advance(self, n: int = 1, *, total: int | None = None, completed: int | None = None, note: str = "") -> None:
        if total is not None:
            self.total = total
        if note:
            self.note = note
        if completed is not None:
            if not self.resumed:  # work finished by an earlier run is not counted in the rate
                self.at_start, self.resumed = completed, True
            self.done = completed
        else:
            self.done += n

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.line()

    def line(self) -> None:
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = (self.done - self.at_start) / elapsed
        of = f"/{self.total:,}" if self.total else ""
        eta = f", ETA {_duration((self.total - self.done) / rate)}" if self.total and rate > 0 else ""
        log.info("%s: %s%s %s after %s (%.3g %s/s%s)%s", self.label, f"{self.done:,}", of, self.unit,
                 _duration(elapsed), rate, self.unit, eta, f"; {self.note}" if self.note else "")

    def stop(self) -> None:
        self._stop.set()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _set(level: int):
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            configure(level)
        elif _state["level"] is None:  # a command invoked on its own, not through `corpus`
            configure(NORMAL)
    return callback


def quiet_option(f):
    return click.option("--quiet", "-q", is_flag=True, expose_value=False, is_eager=True, callback=_set(QUIET),
                        help="No progress bars or info lines: warnings, errors and the result only.")(f)


def verbosity_options(f):
    """--quiet / --verbose on a command; they act before the command body runs."""
    f = click.option("--verbose", "-v", is_flag=True, expose_value=False, is_eager=True, callback=_set(VERBOSE),
                     help="Also debug lines.")(f)
    return quiet_option(f)
