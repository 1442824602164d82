"""The shared floor on its own: one writer per output, artifact manifests, config basics."""
import json
import logging
import multiprocessing as mp
import os
import time

import pytest

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError, diff_keys, resolve_path
from corpusmill.common.files import atomic_path, remove_temp_files
from corpusmill.common.lock import LOCK_FILE, LockedError, exclusive


def _contend(folder, barrier, results):
    barrier.wait()  # both ask at the same moment
    try:
        with exclusive(folder):
            results.put(("won", os.getpid()))
            time.sleep(0.3)
    except LockedError as e:
        results.put(("refused", str(e)))


def test_two_writers_at_once_exactly_one_wins_20_times(tmp_path):
    ctx = mp.get_context("fork")
    for rep in range(20):
        folder = tmp_path / f"out{rep}"
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_contend, args=(folder, barrier, results)) for _ in range(2)]
        for p in procs:
            p.start()
        got = sorted(results.get(timeout=30) for _ in procs)
        for p in procs:
            p.join(timeout=30)
        assert [g[0] for g in got] == ["refused", "won"], got
        winner = got[1][1]
        assert f"being written by pid {winner} on " in got[0][1]
        assert (folder / LOCK_FILE).read_text() == ""  # released cleanly


def test_a_dead_holders_lock_is_taken_over_with_a_warning(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 999_999_999, "host": "h", "since": "then", "command": "x"}))
    seen = []
    handler = logging.Handler()
    handler.emit = lambda r: seen.append(r.getMessage())
    logging.getLogger("corpusmill").addHandler(handler)
    try:
        with exclusive(tmp_path):
            held = json.loads((tmp_path / LOCK_FILE).read_text())
    finally:
        logging.getLogger("corpusmill").removeHandler(handler)
    assert held["pid"] == os.getpid()
    assert any("taking over the lock of pid 999999999" in m for m in seen), seen


def test_an_unwritable_output_is_a_message(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write the output folder"):
        with exclusive(tmp_path / "file" / "out"):
            pass


def test_require_says_what_is_wrong_and_what_to_run(tmp_path):
    with pytest.raises(artifact.ArtifactError, match="does not exist"):
        artifact.require(tmp_path / "nope", "build", "mix")
    (tmp_path / "b").mkdir()
    with pytest.raises(artifact.ArtifactError, match="not a finished build .*re-run `corpus build`"):
        artifact.require(tmp_path / "b", "build", "mix")
    artifact.write(tmp_path / "b", "build", config={}, fingerprint="f", status=artifact.INCOMPLETE,
                   details={"unfinished": "dedup did not run", "command": "corpus build /x/b.yaml"})
    with pytest.raises(artifact.ArtifactError, match=r"unfinished build \(dedup did not run\); finish it with "
                                                      r"`corpus build /x/b.yaml`"):
        artifact.require(tmp_path / "b", "build", "mix")
    artifact.write(tmp_path / "b", "mixture", config={}, fingerprint="f")
    with pytest.raises(artifact.ArtifactError, match="is a mixture output, not a build"):
        artifact.require(tmp_path / "b", "build", "mix")
    artifact.write(tmp_path / "b", "build", config={"a": 1}, fingerprint="f")
    m = artifact.require(tmp_path / "b", "build", "mix")
    assert m["config_sha256"] == artifact.sha256_json({"a": 1}) and m["status"] == "complete"


def test_fingerprint_is_cheap_and_content_shaped(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"12345")
    fp = artifact.files_fingerprint(tmp_path, [tmp_path / "a.parquet"])
    time.sleep(0.01)
    (tmp_path / "a.parquet").write_bytes(b"12345")  # rewritten by a resume: same bytes, new mtime
    assert artifact.files_fingerprint(tmp_path, [tmp_path / "a.parquet"]) == fp
    (tmp_path / "a.parquet").write_bytes(b"123456")
    assert artifact.files_fingerprint(tmp_path, [tmp_path / "a.parquet"]) != fp


def test_atomic_path_and_config_basics(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temp
    with atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"whole")
    assert (tmp_path / "x.bin").read_bytes() == b"whole"
    (tmp_path / "y.bin.tmp-0123abcd").write_bytes(b"left by a kill")
    assert remove_temp_files(tmp_path) == 1 and (tmp_path / "x.bin").exists()
    assert resolve_path("./out/", "/base") == "/base/out" == resolve_path("out", "/base")
    assert resolve_path("s3://b/k", "/base") == "s3://b/k"
    assert diff_keys({"a": {"b": 1, "c": [1, 2]}}, {"a": {"b": 2, "c": [1, 3]}, "d": 0}) == ["a.b", "a.c[1]", "d"]


def test_a_plain_parquet_folder_given_by_a_relative_path(tmp_path, monkeypatch):
    """`corpus tokenizer encode --input web` (relative) failed: the fingerprint joined the path twice."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "web").mkdir()
    pq.write_table(pa.table({"text": ["a", "b"]}), tmp_path / "web" / "part-0.parquet")
    monkeypatch.chdir(tmp_path)
    folder, ref = artifact.build_documents("web", "encode")
    assert ref["kind"] == "files" and ref["path"] == str(tmp_path / "web")
    assert ref["fingerprint"] == artifact.build_documents(str(tmp_path / "web"), "encode")[1]["fingerprint"]
