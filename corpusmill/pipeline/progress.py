"""A rich progress bar over parts (stderr), or nothing when quiet or not a terminal."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def part_progress(disabled: bool = False) -> Iterator[Callable[[int, int, dict], None]]:
    console = Console(stderr=True)
    if disabled or not console.is_terminal:
        yield lambda done, total, result: None
        return
    docs = {"n": 0}
    with Progress(TextColumn("[bold]build"), BarColumn(), MofNCompleteColumn(), TextColumn("parts"),
                  TextColumn("{task.fields[docs]} docs"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("build", total=None, docs=0)

        def update(done: int, total: int, result: dict) -> None:
            docs["n"] += result.get("documents_in", 0)
            bar.update(task, completed=done, total=total, docs=docs["n"])

        yield update
