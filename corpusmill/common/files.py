"""Atomic files: written under a temp name (NAME.tmp-XXXXXXXX) and renamed into place, so a
reader never sees half a file and a killed run leaves only temp names, removed at the next run."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TMP_MARK = ".tmp-"


def temp_path(path: str | Path, hidden: bool = False) -> Path:
    """A sibling temp name of path; hidden adds a leading dot (so globs like step-*.pt skip it)."""
    path = Path(path)
    return path.with_name(f"{'.' if hidden else ''}{path.name}{TMP_MARK}{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_path(path: str | Path, hidden: bool = False, fsync: bool = True) -> Iterator[Path]:
    """Yields a temp path to write; on success it is renamed to path, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, hidden)
    try:
        yield tmp
        if fsync and tmp.is_file():  # the bytes reach the disk before the name points at them
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def remove_temp_files(folder: str | Path, name: str = "*", recursive: bool = True) -> int:
    """Delete the temp files (NAME.tmp-XXXXXXXX) a killed run left under folder; returns how many."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = [p for p in (folder.rglob if recursive else folder.glob)(f"{name}{TMP_MARK}*") if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)
