"""dedup `against:` earlier builds: build A, then B over A's inputs plus new ones against A; B keeps
exactly what a joint dedup of A+B keeps that is not in A, removals naming A's documents and A itself,
and A is read, never written."""
import hashlib
import json
import os
import re

import pytest
from click.testing import CliRunner

from corpusmill.cli import main
from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.runner import run_build
from corpusmill.stages.dedup import against
from corpusmill.stages.dedup.stage import Dedup
from corpusmill.stages.dedup.options import DedupOptions
from corpusmill.report import write_report
from fixtures import write_jsonl
from test_dedup import doc, rows_of

pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]


def build(tmp_path, out, inputs, **dedup):
    cfg = BuildConfig.model_validate({
        "inputs": [{"name": n, "path": str(tmp_path / n / "*.jsonl")} for n in inputs],
        "output": str(tmp_path / out), "stages": [{"dedup": {"minhash": {"threshold": 0.8}, **dedup}}]})
    return run_build(cfg)


def stamps(folder):
    """Each file's content hash and mtime: what `read, never written` must leave as it was."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_inputs(tmp_path):
    """A's 31 documents (one an exact duplicate of another) and B's new ones: 5 fresh, one each
    an exact, URL and near duplicate of A's, one a duplicate of a fresh one."""
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


def removals(out):
    return {r["id"]: (r["reason"], r["duplicate_of"], r["duplicate_in"]) for r in rows_of(out / "removed" / "dedup")}


def expected_removals(a_root):
    return {"n_exact4": ("exact_duplicate", "d4", a_root), "n_url6": ("url_duplicate", "d6", a_root),
            "n_near8": ("near_duplicate", "d8", a_root), "n_fresh_dup": ("exact_duplicate", "n_fresh0", None),
            "a_exact2": ("exact_duplicate", "d2", a_root)}


def test_dedup_against_an_earlier_build_equals_a_joint_dedup(tmp_path):
    write_inputs(tmp_path)
    build(tmp_path, "A", ["a"])
    a_kept = {r["id"] for r in rows_of(tmp_path / "A" / "documents")}
    assert len(a_kept) == 30
    before = stamps(tmp_path / "A")

    stats = build(tmp_path, "B", ["a", "b"], against=[str(tmp_path / "A")])
    joint = build(tmp_path, "J", ["a", "b"])
    b_kept = {r["id"] for r in rows_of(tmp_path / "B" / "documents")}
    j_kept = {r["id"] for r in rows_of(tmp_path / "J" / "documents")}
    assert b_kept == j_kept - a_kept == {f"n_fresh{k}" for k in range(5)}
    removed = removals(tmp_path / "B")
    a_root = str((tmp_path / "A").resolve())
    assert {k: removed[k] for k in expected_removals(a_root)} == expected_removals(a_root)
    assert all(removed[f"d{i}"] == ("exact_duplicate", f"d{i}", a_root) for i in range(30))  # A's own inputs
    d = stats["stages"]["dedup"]
    assert d["against"] == {"documents": 30, "removed": 34, "builds": {a_root: {
        "fingerprint": artifact.read(a_root)["fingerprint"], "documents": 30, "removed": 34,
        "signatures": {"computed": 1, "cached": 0, "state": 0}}}} and stats["accounting_ok"]
    assert (d["in"], d["kept"]) == (40, 5) and joint["stages"]["dedup"]["kept"] == 35
    assert stamps(tmp_path / "A") == before  # read, never written
    assert [i for i in artifact.read(tmp_path / "B")["inputs"] if i["kind"] == "build"] == [  # lineage
        {"kind": "build", "name": "dedup.against", "path": a_root, "fingerprint": artifact.read(a_root)["fingerprint"]}]
    tree = CliRunner().invoke(main, ["lineage", str(tmp_path / "B")]).output
    assert f"build [dedup.against] {a_root} complete fingerprint " in tree and tree.count("(current)") == 2
    html = write_report(tmp_path / "B").read_text()  # the report: documents removed per earlier build
    section = html[html.index("<h2>Dedup against earlier builds</h2>"):]
    assert re.search(rf"<td>{re.escape(a_root)}</td><td class=\"n\">30</td><td class=\"n\">34</td>"
                     r"<td>[0-9a-f]{12}</td><td>computed 1</td>", section[:section.index("</section>")])

    with pytest.raises(ConfigError, match=r"dedup.against: .*b.* is not a finished build"):
        build(tmp_path, "C", ["b"], against=[str(tmp_path / "b")])


def signatures(stats):
    """How this run had each earlier build's signatures, {build: {computed, cached, state}}."""
    return {b: v["signatures"] for b, v in stats["stages"]["dedup"]["against"]["builds"].items()}


def test_earlier_signatures_reused_from_its_state_then_cached_and_a_changed_build_computed_again(tmp_path, caplog):
    write_inputs(tmp_path)
    A, B = tmp_path / "A", tmp_path / "B"
    a_root = str(A.resolve())
    build(tmp_path, "A", ["a"], keep_state=True)
    before = stamps(A)
    # 1. A kept its dedup state: its signatures come from there (A's removed a_exact2 dropped), and
    #    B's decisions are those of signatures computed from A's documents (the test above)
    stats = build(tmp_path, "B", ["a", "b"], against=[a_root])
    assert signatures(stats) == {a_root: {"computed": 0, "cached": 0, "state": 1}}
    assert {r["id"] for r in rows_of(B / "documents")} == {f"n_fresh{k}" for k in range(5)}
    assert {k: removals(B)[k] for k in expected_removals(a_root)} == expected_removals(a_root)
    cache = B / "_state" / "dedup-against"
    assert len(list(cache.iterdir())) == 1
    older = {**json.loads((B / "_state" / "dedup" / "plan.json").read_text())["older"][0], "cache": "probe/x"}
    same = DedupOptions.model_validate({"minhash": {"threshold": 0.8}}).model_dump(mode="json")
    other = DedupOptions.model_validate({"minhash": {"threshold": 0.7}}).model_dump(mode="json")
    assert against.from_kept_state(against.Cached(tmp_path, older), same, verify=True)
    assert not against.from_kept_state(against.Cached(tmp_path / "o", older), other, verify=True)
    assert not (tmp_path / "o").exists()  # A's state made with other options: nothing taken from it
    # 2. new input for B: its dedup runs again over all parts, A's signatures read from the cache
    write_jsonl(tmp_path / "b" / "c.jsonl", [{"id": "c_new", "text": doc(900), "url": None},
                                             {"id": "c_dup10", "text": doc(10), "url": None}])
    stats = build(tmp_path, "B", ["a", "b"], against=[a_root])
    assert signatures(stats) == {a_root: {"computed": 0, "cached": 1, "state": 0}}
    assert removals(B)["c_dup10"] == ("exact_duplicate", "d10", a_root) and "c_new" not in removals(B)
    assert stamps(A) == before  # read, never written
    # 3. A rebuilt with a new file: another fingerprint, so another cache folder (the old one goes)
    write_jsonl(tmp_path / "a" / "a2.jsonl", [{"id": "a2_new", "text": doc(700), "url": None}])
    build(tmp_path, "A", ["a"], keep_state=True)
    caplog.clear()
    Dedup({"against": [a_root]}).check(str(B))  # what a re-run of B says first: B's removals follow the old A
    assert f"dedup.against: {a_root} was rebuilt since this build's dedup ran against it" in caplog.text
    stats = build(tmp_path, "B", ["a", "b"], against=[a_root])
    assert signatures(stats) == {a_root: {"computed": 0, "cached": 0, "state": 2}}
    assert len(list(cache.iterdir())) == 1 and stats["stages"]["dedup"]["against"]["documents"] == 31
    assert removals(B)["a2_new"] == ("exact_duplicate", "a2_new", a_root)
    # 4. A's documents file changed in place (same fingerprint, another mtime): not served from the cache
    part = sorted((A / "documents").glob("*.parquet"))[0]
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 10**9))
    write_jsonl(tmp_path / "b" / "d.jsonl", [{"id": "d_new", "text": doc(901), "url": None}])
    stats = build(tmp_path, "B", ["a", "b"], against=[a_root])
    assert signatures(stats) == {a_root: {"computed": 0, "cached": 1, "state": 1}}


def test_an_unfinished_earlier_build_is_refused_before_any_work(tmp_path):
    write_inputs(tmp_path)
    build(tmp_path, "A", ["a"])
    m = artifact.read(tmp_path / "A")
    artifact.write(tmp_path / "A", "build", config={}, fingerprint=m["fingerprint"], status=artifact.INCOMPLETE,
                   details={**m["details"], "unfinished": "dedup did not run"})
    with pytest.raises(ConfigError, match=r"dedup.against: .*A is an unfinished build \(dedup did not run\); "
                                          r"re-run `corpus build`"):
        build(tmp_path, "B", ["b"], against=[str(tmp_path / "A")])
    assert not (tmp_path / "B").exists()  # refused before anything was written
    # an annotate build's documents/ holds what its thresholds would remove: refused, saying what to do
    artifact.write(tmp_path / "A", "build", config={}, fingerprint=m["fingerprint"],
                   details={**m["details"], "mode": "annotate"})
    with pytest.raises(ConfigError, match=r"A is an annotate build .*run `corpus select`"):
        build(tmp_path, "B", ["b"], against=[str(tmp_path / "A")])
    assert not (tmp_path / "B").exists()
