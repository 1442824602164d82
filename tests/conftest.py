import logging
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test saying what is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} is absent (set CORPUSMILL_SHARED_DATA)")
    return p


@pytest.fixture(scope="session")
def ray_local():
    """One quiet Ray for every in-process build test; run_build reuses it."""
    import shutil

    import ray

    short = Path("/tmp") / f"cm-test-ray-{os.getpid()}"  # Ray's socket paths must stay short
    short.mkdir(exist_ok=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             _temp_dir=str(short), _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()
    shutil.rmtree(short, ignore_errors=True)
