"""An embedded, quiet Ray (own temp dir, always shut down) or a connection to a cluster."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator

import ray


def _quiet() -> dict:
    return {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[int]:
    """Yields the number of CPUs this job may use. Reuses a Ray the caller already started."""
    if ray.is_initialized():
        yield _cpus(num_cpus)
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    temp_dir = None
    if address:
        ray.init(address=address, **_quiet())
    else:
        # Ray's socket paths must stay short: a temp dir under /tmp, not under the output.
        # CORPUSMILL_RAY_TMP lets a caller (tests) find and clean up what Ray started.
        temp_dir = tempfile.mkdtemp(prefix="cm-ray-", dir=os.environ.get("CORPUSMILL_RAY_TMP", "/tmp"))
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _temp_dir=temp_dir,
                 **_quiet())
    try:
        yield _cpus(num_cpus)
    finally:
        ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _cpus(requested: int | None) -> int:
    available = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(requested, available) if requested else available)
