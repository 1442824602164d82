"""Named points where a test can SIGKILL the running process, so resume is tested at exact places
instead of at whatever moment a timer fires.

CORPUSMILL_KILL_AT=NAME[:K] kills this process (SIGKILL: no cleanup, no finally) the K-th time
(default 1st) execution passes `kill_point(NAME)`. Unset, a kill point costs one dict lookup."""
from __future__ import annotations

import os
import signal

_ENV = "CORPUSMILL_KILL_AT"
_hits: dict[str, int] = {}


def kill_point(name: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
