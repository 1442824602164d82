"""Processes a test starts, found again by an environment tag or by files they hold open under
a folder of the test's (Ray's agents rewrite their environment, not their log files), so a test
that SIGKILLs a driver or starts a Ray cluster can stop exactly what it started."""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path


def tagged_env(**extra: str) -> tuple[dict, str]:
    tag = uuid.uuid4().hex
    env = {**os.environ, "CORPUSMILL_TEST_TAG": tag, "RAY_USAGE_STATS_ENABLED": "0", **extra}
    return env, tag


def _holds_file_under(proc: Path, dirs: tuple[str, ...]) -> bool:
    try:
        fds = list((proc / "fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd).startswith(dirs):
                return True
        except OSError:
            continue
    return False


def started_pids(tag: str, dirs: list[str] = ()) -> list[int]:
    needle = f"CORPUSMILL_TEST_TAG={tag}".encode()
    prefixes = tuple(str(d).rstrip("/") + "/" for d in dirs)
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            tagged = needle in (d / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if tagged or (prefixes and _holds_file_under(d, prefixes)):
            found.append(int(d.name))
    return found


def kill_started(tag: str, dirs: list[str] = (), timeout: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in started_pids(tag, dirs):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + timeout / 2
        while time.time() < deadline and started_pids(tag, dirs):
            time.sleep(0.2)
