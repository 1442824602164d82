"""Small helpers shared by the benchmarks: where the shared data lives, JSON-line output."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """../shared/data beside the repo, or $CORPUSMILL_SHARED_DATA."""
    env = os.environ.get("CORPUSMILL_SHARED_DATA")
    return Path(env) if env else (REPO / ".." / "shared" / "data").resolve()


def emit(obj: dict) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def process_tree(root: int) -> dict[int, tuple[int, float]]:
    """root and all its descendants (an embedded Ray's GCS, raylet and workers among them), each with
    its resident bytes and CPU seconds so far (user + system), from one pass over /proc."""
    kids: dict[int, list[int]] = {}
    facts: dict[int, tuple[int, float]] = {}
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(d))
            facts[int(d)] = (int(fields[21]) * page, (int(fields[11]) + int(fields[12])) / tick)
        except (OSError, ValueError, IndexError):  # a process that exited meanwhile
            continue
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        out[pid] = facts.get(pid, (0, 0.0))
        todo += kids.get(pid, [])
    return out


def skip(bench: str, reason: str) -> None:
    """Say why the benchmark cannot run and exit 0 (data is optional, e.g. outside CI)."""
    emit({"bench": bench, "skipped": reason})
    sys.exit(0)
