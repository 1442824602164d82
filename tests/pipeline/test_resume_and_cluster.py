"""`corpus build` as a user runs it: SIGKILL midway then resume, and a real Ray cluster on
loopback started with `ray start`; both must give the documents of an uninterrupted embedded run."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from fixtures import pages, write_build_yaml, write_warc
from procs import kill_started, started_pids, tagged_env

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def rows(out: Path, folder: str) -> list[tuple]:
    d = out / folder
    if not d.exists():
        return []
    t = ds.dataset(str(d), format="parquet").to_table()
    return sorted(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))


def make_input(tmp_path: Path, files: int = 12, per_file: int = 40) -> None:
    for f in range(files):
        write_warc(tmp_path / f"w{f:02d}.warc.gz", pages(per_file, start=f * 100))


def corpus(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "corpus"), *args], env=env, capture_output=True, text=True, timeout=300, **kw)


def test_sigkill_midway_then_resume_equals_uninterrupted(tmp_path):
    make_input(tmp_path)
    ref_yaml = write_build_yaml(tmp_path / "ref.yaml", [{"name": "web", "path": "*.warc.gz"}], tmp_path / "ref")
    kill_yaml = write_build_yaml(tmp_path / "kill.yaml", [{"name": "web", "path": "*.warc.gz"}], tmp_path / "killed")
    ray_tmp = Path(f"/tmp/cm-kill-{os.getpid()}")  # embedded Ray's temp dirs go here: short socket paths
    ray_tmp.mkdir(exist_ok=True)
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(ray_tmp))
    try:
        assert corpus(["build", str(ref_yaml), "--quiet"], env).returncode == 0
        proc = subprocess.Popen([str(BIN / "corpus"), "build", str(kill_yaml), "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        parts = tmp_path / "killed" / "_state" / "parts"
        deadline = time.time() + 120
        # a finished part's record, not a temp file being written (a worker outliving the killed
        # driver removes its temp on the way out: counting it made this test flaky under load)
        finished = lambda: [p for p in parts.iterdir() if ".tmp-" not in p.name] if parts.exists() else []
        while time.time() < deadline and not finished():
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kill_started(tag, [ray_tmp])  # the killed driver's Ray processes
        done_at_kill = len(finished())
        assert 1 <= done_at_kill < 12, "the kill must land midway"
        resumed = corpus(["build", str(kill_yaml), "--quiet"], env)
        assert resumed.returncode == 0, resumed.stderr
    finally:
        kill_started(tag, [ray_tmp])
        subprocess.run(["rm", "-rf", str(ray_tmp)])
    ref, got = rows(tmp_path / "ref", "documents"), rows(tmp_path / "killed", "documents")
    assert len(ref) == 480 and got == ref
    assert len({i for i, _ in got}) == len(got)
    assert not list((tmp_path / "killed").rglob("*.tmp-*"))
    import json

    stats = json.loads((tmp_path / "killed" / "stats.json").read_text())
    assert stats["accounting_ok"] and stats["totals"]["documents_in"] == 480


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_cluster_on_loopback_gives_the_same_documents(tmp_path):
    make_input(tmp_path, files=4, per_file=10)
    embedded = write_build_yaml(tmp_path / "a.yaml", [{"name": "web", "path": "*.warc.gz"}], tmp_path / "embedded")
    clustered = write_build_yaml(tmp_path / "b.yaml", [{"name": "web", "path": "*.warc.gz"}], tmp_path / "cluster")
    port = _free_port()
    temp = Path(f"/tmp/cm-cl-{os.getpid()}")
    # Keep every Ray address on loopback: otherwise Ray turns 127.0.0.1 into the host's outward IP.
    env, tag = tagged_env(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    try:
        started = subprocess.run(
            [str(BIN / "ray"), "start", "--head", "--port", str(port), "--node-ip-address", "127.0.0.1",
             "--num-cpus", "2", "--include-dashboard=false", "--disable-usage-stats", "--temp-dir", str(temp)],
            env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr[-2000:]
        assert started_pids(tag, [temp]), "ray start left no processes to stop"
        # the corpus command itself needs no Ray setting: it tells Ray it is on loopback
        plain = {k: v for k, v in env.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
        r = corpus(["build", str(clustered), "--quiet", "--ray-address", f"127.0.0.1:{port}"], plain)
        assert r.returncode == 0, r.stderr[-3000:]
        r = corpus(["build", str(embedded), "--quiet"], env)
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        kill_started(tag, [temp])
    assert not started_pids(tag, [temp])
    subprocess.run(["rm", "-rf", str(temp)])
    a, b = rows(tmp_path / "embedded", "documents"), rows(tmp_path / "cluster", "documents")
    assert len(a) == 40 and a == b
