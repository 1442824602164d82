"""One writer per output: an exclusive lock on OUT/.corpusmill.lock, taken before anything in OUT
is touched and held until the command ends. The kernel drops the lock when its process dies
(flock; also across hosts on NFS, where Linux maps it to a POSIX lock), so a dead holder never
blocks the next run; the file keeps the holder's pid, host, command and start time, for the message
a second writer gets, and for the warning when a dead holder's lock is taken over."""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from corpusmill.common.config import ConfigError

LOCK_FILE = ".corpusmill.lock"


class LockedError(ConfigError):
    """Another process is writing the same output."""


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def _describe(h: dict) -> str:
    if not h:
        return "another process"
    return (f"pid {h.get('pid')} on {h.get('host')} since {h.get('since')} "
            f"(`{h.get('command', '?')}`)")


@contextmanager
def exclusive(folder: str | Path, what: str = "output") -> Iterator[None]:
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_FILE
        fh = open(path, "a+")
    except OSError as e:
        raise ConfigError(f"cannot write the {what} folder {folder}: {e.strerror or e}; "
                          "choose a folder you can write to") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            for _ in range(20):  # the holder writes its name just after taking the lock
                if holder:
                    break
                time.sleep(0.05)
                holder = _holder(path)
            raise LockedError(f"{folder} is being written by {_describe(holder)}; wait for it to "
                              f"finish (or stop it), then re-run. One writer per {what}.") from None
        earlier = _holder(path)
        if earlier:  # the file survives its holder; the lock did not, so that holder is gone
            from corpusmill.console import log

            log.warning("%s: taking over the lock of %s, which is no longer running (it was interrupted)",
                        folder, _describe(earlier))
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300]}
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps(me))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()  # an empty file: released cleanly (a non-empty one marks an interrupted holder)
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()
