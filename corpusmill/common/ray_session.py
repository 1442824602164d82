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
        _use_token_auth_if_available()
        ray.init(address=address, **_quiet())
    else:
        # Ray's socket paths must stay short: a temp dir under /tmp, not under the output.
        # CORPUSMILL_RAY_TMP lets a caller (tests) find and clean up what Ray started.
        temp_dir = tempfile.mkdtemp(prefix="cm-ray-", dir=os.environ.get("CORPUSMILL_RAY_TMP", "/tmp"))
        # Loopback only: an embedded Ray has no reason to listen on the machine's outward address.
        ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, _temp_dir=temp_dir,
                 _node_ip_address="127.0.0.1", **_quiet())
    try:
        yield _cpus(num_cpus)
    finally:
        ray.shutdown()
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def _use_token_auth_if_available() -> None:
    """`ray start` turns on token auth when a token exists (~/.ray/auth_token), but ray.init
    with an explicit address does not, and fails with a bare ConnectionError. A token also
    works against a cluster without auth, so use it when there is one and RAY_AUTH_MODE is unset."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    try:  # Ray's own switch (it also refreshes Ray's cached config); private, so guarded
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _cpus(requested: int | None) -> int:
    available = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(requested, available) if requested else available)
