"""An embedded, quiet Ray (own temp dir, always shut down) or a connection to a cluster."""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from contextlib import ExitStack, contextmanager
from typing import Iterator

import ray

from corpusmill.common.config import ConfigError


def _quiet() -> dict:
    return {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[int]:
    """Yields the number of CPUs this job may use. Reuses a Ray the caller already started."""
    if ray.is_initialized():
        yield _cpus(num_cpus)
        return
    with ExitStack() as stack:
        yield from _session(stack, address, num_cpus)


def _session(stack: ExitStack, address: str | None, num_cpus: int | None) -> Iterator[int]:
    address = cluster_address(address)
    temp_dir = None
    if address:
        # A cluster on this host (ray start --node-ip-address 127.0.0.1): Ray would turn 127.0.0.1 into
        # the host's outward address (unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is set in our process)
        # and find neither the GCS nor a node of its own there. Keep the driver on loopback instead.
        if _host(address) in LOOPBACK:
            stack.enter_context(_on_loopback())
        _connect(address)
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


LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CONNECT_TIMEOUT_S = 10


def _host(address: str) -> str:
    return address.split("://")[-1].rsplit(":", 1)[0].strip("[]")


def cluster_address(address: str | None) -> str | None:
    """The cluster to use (the option, else RAY_ADDRESS), checked reachable: an address with nothing
    behind it fails in seconds with a message naming it, not after Ray's own minute of retries."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not address or address == "auto" or address.startswith("ray://"):
        return address
    host, _, port = address.split("://")[-1].rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected HOST:PORT (the head's GCS port, 6379 by default)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise ConfigError(f"no Ray cluster at {address} ({e.strerror or e}): start one with `ray start --head "
                          f"--port {port}`, or leave out --ray-address (and RAY_ADDRESS) for an embedded Ray") from None
    return address


@contextmanager
def _on_loopback() -> Iterator[None]:
    """What RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 does, for this process only and for this session: Ray
    reads the variable once at import, into a private constant its address helpers consult."""
    try:
        from ray._private import ray_constants
    except ImportError:  # another Ray layout: the variable is the documented way
        yield
        return
    old = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = old


def _connect(address: str) -> None:
    """`ray start` turns on token auth when a token exists (~/.ray/auth_token), but ray.init with an
    explicit address does not, and fails with a bare ConnectionError. A token sent to a cluster
    without auth is no better: it connects, then no actor starts. So: without, then with the token."""
    try:
        ray.init(address=address, **_quiet())
        return
    except ConnectionError:
        if "RAY_AUTH_MODE" in os.environ or not _use_token_auth_if_available():
            raise
    ray.shutdown()
    ray.init(address=address, **_quiet())


def _use_token_auth_if_available() -> bool:
    """Ray's own switch (it also refreshes Ray's cached config), without the warning Ray prints
    on the user's terminal when it flips it; private, so guarded."""
    try:
        from ray._private.authentication import authentication_token_setup as auth

        if not auth.AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True):
            return False
        auth._enable_token_auth()
        return True
    except (ImportError, AttributeError):
        return False


def _cpus(requested: int | None) -> int:
    available = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(requested, available) if requested else available)
