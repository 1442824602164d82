"""dedup `against:` earlier builds: build A, then B over A's inputs plus new ones against A; B keeps
exactly what a joint dedup of A+B keeps that is not in A, removals naming A's documents and A itself,
and A is read, never written."""
import hashlib

import pytest

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.runner import run_build
from fixtures import write_jsonl
from test_dedup import doc, rows_of

pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]


def build(tmp_path, out, inputs, **dedup):
    cfg = BuildConfig.model_validate({
        "inputs": [{"name": n, "path": str(tmp_path / n / "*.jsonl")} for n in inputs],
        "output": str(tmp_path / out), "stages": [{"dedup": {"minhash": {"threshold": 0.8}, **dedup}}]})
    return run_build(cfg)


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dedup_against_an_earlier_build_equals_a_joint_dedup(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    old = [{"id": f"d{i}", "text": doc(i), "url": f"https://site.test/p{i}"} for i in range(30)]
    write_jsonl(tmp_path / "a" / "a.jsonl", old + [{"id": "a_exact2", "text": doc(2).upper(), "url": None}])
    near = doc(8).split()
    near[100] = "changed"
    fresh = [{"id": f"n_fresh{k}", "text": doc(500 + k), "url": None} for k in range(5)]
    write_jsonl(tmp_path / "b" / "b.jsonl", fresh + [
        {"id": "n_exact4", "text": doc(4).replace(" ", " , "), "url": None},
        {"id": "n_url6", "text": doc(606), "url": "http://www.site.test/p6?utm_source=x"},
        {"id": "n_near8", "text": " ".join(near), "url": None},
        {"id": "n_fresh_dup", "text": doc(500), "url": None}])
    build(tmp_path, "A", ["a"])
    a_kept = {r["id"] for r in rows_of(tmp_path / "A" / "documents")}
    assert len(a_kept) == 30
    before = digest(tmp_path / "A")

    stats = build(tmp_path, "B", ["a", "b"], against=[str(tmp_path / "A")])
    joint = build(tmp_path, "J", ["a", "b"])
    b_kept = {r["id"] for r in rows_of(tmp_path / "B" / "documents")}
    j_kept = {r["id"] for r in rows_of(tmp_path / "J" / "documents")}
    assert b_kept == j_kept - a_kept == {f"n_fresh{k}" for k in range(5)}
    removed = {r["id"]: r for r in rows_of(tmp_path / "B" / "removed" / "dedup")}
    a_root = str((tmp_path / "A").resolve())
    assert {k: (removed[k]["reason"], removed[k]["duplicate_of"], removed[k]["duplicate_in"])
            for k in ("n_exact4", "n_url6", "n_near8", "n_fresh_dup", "a_exact2")} == {
        "n_exact4": ("exact_duplicate", "d4", a_root), "n_url6": ("url_duplicate", "d6", a_root),
        "n_near8": ("near_duplicate", "d8", a_root), "n_fresh_dup": ("exact_duplicate", "n_fresh0", None),
        "a_exact2": ("exact_duplicate", "d2", a_root)}
    assert all(removed[f"d{i}"]["duplicate_in"] == a_root for i in range(30))  # A's own inputs again
    d = stats["stages"]["dedup"]
    assert d["against"] == {"documents": 30, "removed": 34, "builds": {a_root: {
        "fingerprint": artifact.read(a_root)["fingerprint"], "documents": 30, "removed": 34,
        "signatures": {"computed": 1, "cached": 0, "state": 0}}}} and stats["accounting_ok"]
    assert (d["in"], d["kept"]) == (40, 5) and joint["stages"]["dedup"]["kept"] == 35
    assert digest(tmp_path / "A") == before  # read, never written

    with pytest.raises(ConfigError, match=r"dedup.against: .*b.* is not a finished build"):
        build(tmp_path, "C", ["b"], against=[str(tmp_path / "b")])
