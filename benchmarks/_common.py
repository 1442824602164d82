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


def skip(bench: str, reason: str) -> None:
    """Say why the benchmark cannot run and exit 0 (data is optional, e.g. outside CI)."""
    emit({"bench": bench, "skipped": reason})
    sys.exit(0)
