"""The `dedup` stage: kernels against datasketch, normalisation, connected components against
scipy, decisions on small corpora and the real cs336 fixture, workers, resume after a crash in
each phase; slow: larger than the object store, SIGKILL midway, a `ray start` cluster."""
import dataclasses
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from datasketch import MinHash

from conftest import shared
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline import global_stages
from corpusmill.pipeline.runner import run_build
from corpusmill.stages.dedup import cc, minhash, text
from corpusmill.stages.dedup.options import DedupOptions, MinHashOptions
from fixtures import write_jsonl

SAMPLES = ["The quick brown fox jumps over the lazy dog; the dog sleeps.", "Héllo, WÖRLD!! Page 12 of 3.5",
           "我爱北京天安门，天安门上太阳升。", "สวัสดีครับ ภาษาไทย", "one two", "", "!!! ???",
           "Ünïcödé ﬁne — “quotes” and İstanbul, ΣΊΣΥΦΟΣ ǅ 한국어 문장 𠀀𝔸😀 ١٢٣ done"]


def normalise(texts):
    col = pa.array(texts, pa.string())
    data = np.frombuffer(col.buffers()[2], np.uint8)
    off = np.frombuffer(col.buffers()[1], np.int32)[:len(col) + 1].astype(np.int64)
    return text.normalize_column(data, off)


def corpus_texts():
    out = list(SAMPLES)
    try:
        udhr = shared("langid", "udhr")
    except pytest.skip.Exception:
        return out
    for f in sorted(udhr.glob("*.jsonl"))[:1]:
        for line in f.read_text().splitlines()[::7]:
            out.append(" ".join(json.loads(line)["paragraphs"][:3]))
    return out


def test_normaliser_matches_reference_and_examples():
    texts = corpus_texts()
    buf, off, digits = normalise(texts)
    for i, t in enumerate(texts):
        assert buf[off[i]:off[i + 1]].tobytes().decode() == text.normalize_py(t), t[:60]
        assert int(digits[i]) == text.digit_hash_py(t)
    assert text.normalize_py("Héllo, WÖRLD!! Page 12 of 3.5") == "hello world page 0 of 0 0"
    assert text.normalize_py("我爱北京abc") == "我 爱 北 京 abc"
    assert text.digit_hash_py("page 12") != text.digit_hash_py("page 13") != text.digit_hash_py("page 1 2")
    assert text.normalize_url("HTTPS://www.Example.com:443/a/?b=2&a=1&utm_source=x#top") == "example.com/a?a=1&b=2"
    assert text.normalize_url("http://example.com/a") == text.normalize_url("https://example.com/a/")
    assert text.normalize_url("http://example.com/A") != text.normalize_url("http://example.com/a")


@pytest.mark.parametrize("num_perm,seed,n", [(112, 1, 5), (64, 7, 3), (128, 42, 1)])
def test_signatures_identical_to_datasketch(num_perm, seed, n):
    texts = corpus_texts()
    buf, off, _ = normalise(texts)
    a, b = minhash.permutations(num_perm, seed)
    ref = []
    for i in range(len(texts)):
        m = MinHash(num_perm=num_perm, seed=seed)
        m.update_batch(minhash.shingles(buf[off[i]:off[i + 1]].tobytes(), n))
        ref.append(m.hashvalues)
    kernels = ["numpy"] + (["numba"] if minhash.numba else []) + (["numba-openssl"] if minhash.HAVE_OPENSSL else [])
    for k in kernels:
        assert (minhash.signatures(buf, off, n, a, b, kernel=k) == np.array(ref)).all(), k


def test_options_shapes():
    o = DedupOptions.model_validate({"exact": True, "url": True, "minhash": {"ngram": 5, "bands": 14, "rows": 8}})
    assert (o.minhash.bands, o.minhash.rows, o.minhash.num_perm, o.minhash.threshold) == (14, 8, 112, None)
    t = MinHashOptions(threshold=0.8)
    assert t.bands * t.rows <= t.num_perm == 128 and t.s_curve(0.8) >= 0.97
    assert DedupOptions.model_validate({"minhash": None}).minhash is None
    with pytest.raises(ValueError):
        DedupOptions.model_validate({"minhash": {"bands": 14}})
    with pytest.raises(ValueError):
        DedupOptions.model_validate({"exactt": True})


def test_components_match_scipy():
    pytest.importorskip("scipy")
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(2, 2000))
        a, b = rng.integers(0, n, n), rng.integers(0, n, n)
        if trial % 4 == 0:  # a long chain, in shuffled order: the worst case for label propagation
            a = rng.permutation(n)[:-1]
            b = np.roll(a, -1)[:len(a)]
        gid = np.arange(n, dtype=np.int64) * 5 + (np.int64(trial) << 32)
        got = cc.components_local(np.maximum(gid[a], gid[b]), np.minimum(gid[a], gid[b]), int(rng.integers(1, 5)))
        _, comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
        first = {}
        for i, c in enumerate(comp):
            first.setdefault(c, int(gid[i]))
        sizes = np.bincount(comp)
        assert got == {int(gid[i]): first[comp[i]] for i in range(n) if sizes[comp[i]] > 1}


# ---- builds on the session's Ray ---------------------------------------------------------------

WORDS = ("river bridge market farmer baker lantern square music spring stone town road field "
         "harvest winter summer mill wheel grain bread cart horse valley hill forest").split()


def doc(seed: int, n: int = 300) -> str:
    rnd = random.Random(seed)
    return " ".join(rnd.choice(WORDS) + str(rnd.randrange(1000)) for _ in range(n))


def small_corpus(tmp_path):
    rows = [{"id": f"d{i}", "text": doc(i), "url": f"https://site.test/p{i}"} for i in range(40)]
    edited = doc(3).split()
    edited[150] = "changed"  # one word of 300: Jaccard of 5-grams ~0.97
    rows += [
        {"id": "exact3", "text": doc(3).upper().replace(" ", "  ,"), "url": None},  # case/punctuation only
        {"id": "url5", "text": doc(1005), "url": "http://www.site.test/p5/#comments"},
        {"id": "near3", "text": " ".join(edited), "url": None},
        {"id": "far7", "text": " ".join(doc(7).split()[:150] + doc(1007).split()[:150]), "url": None},
    ]
    write_jsonl(tmp_path / "a.jsonl", rows[:40])  # the originals come first in input order: kept
    write_jsonl(tmp_path / "b.jsonl", rows[40:])
    return rows


def build(tmp_path, out, dedup, **kw):
    cfg = BuildConfig.model_validate({"inputs": [{"name": "js", "path": str(tmp_path / "*.jsonl")}],
                                      "output": str(tmp_path / out), "stages": [{"normalize": {}}, {"dedup": dedup}]})
    return run_build(cfg, **kw)


def rows_of(path):
    return sorted(ds.dataset(str(path), format="parquet").to_table().to_pylist(), key=lambda r: r["id"]) \
        if path.exists() else []


@pytest.mark.usefixtures("ray_local")
def test_decisions_accounting_and_workers(tmp_path):
    small_corpus(tmp_path)
    stats = build(tmp_path, "one", {"minhash": {"threshold": 0.8}}, num_cpus=1)
    removed = {r["id"]: r for r in rows_of(tmp_path / "one" / "removed" / "dedup")}
    assert {k: (v["reason"], v["duplicate_of"]) for k, v in removed.items()} == {
        "exact3": ("exact_duplicate", "d3"), "near3": ("near_duplicate", "d3"), "url5": ("url_duplicate", "d5")}
    assert all(r["stage"] == "dedup" and r["dedup.cluster"] is not None for r in removed.values())
    kept = {r["id"]: r for r in rows_of(tmp_path / "one" / "documents")}
    assert len(kept) == 41 and "far7" in kept and kept["d3"]["dedup.cluster"] == removed["near3"]["dedup.cluster"]
    assert kept["d1"]["dedup.cluster"] is None
    d = stats["stages"]["dedup"]
    assert (d["in"], d["kept"], d["removed"]) == (44, 41, 3) and stats["accounting_ok"]
    assert d["clusters"]["count"] == 2 and d["clusters"]["sizes"] == {"2": 1, "3-4": 1}
    assert stats["sources"]["js"]["stages"]["dedup"]["removed"] == 3
    assert stats["totals"]["documents_in"] == stats["totals"]["kept"] + stats["totals"]["removed"]
    # two workers: the same documents, decisions and clusters
    build(tmp_path, "two", {"minhash": {"threshold": 0.8}}, num_cpus=2)
    for folder in ("documents", "removed/dedup"):
        assert rows_of(tmp_path / "two" / folder) == rows_of(tmp_path / "one" / folder)
    # FineWeb's shape (14 x 8, no verification) takes the same decisions here; scope: source too
    build(tmp_path, "fw", {"exact": True, "url": True, "minhash": {"ngram": 5, "bands": 14, "rows": 8}})
    assert {r["id"] for r in rows_of(tmp_path / "fw" / "removed" / "dedup")} == set(removed)
    assert not list((tmp_path / "fw" / "_state" / "dedup").rglob("*.arrow"))  # bulky state removed
    stats = build(tmp_path, "nomh", {"minhash": None, "scope": "source"})
    assert {r["id"] for r in rows_of(tmp_path / "nomh" / "removed" / "dedup")} == {"exact3", "url5"}
    assert stats["stages"]["dedup"]["minhash"]["documents"] == 0


@pytest.mark.usefixtures("ray_local")
def test_cs336_fuzzy_duplicate_fixture(tmp_path):
    """Their test's expected output: of the three licences two survive, the PyTorch one and
    exactly one of the two MIT licences (Jaccard 0.92 on our 5-grams); with their parameters."""
    folder = shared("neardup", "cs336_fixtures", "documents_with_fuzzy_duplicates")
    cfg = BuildConfig.model_validate({
        "inputs": [{"name": "lic", "path": str(folder / "*.txt"), "format": "text"}], "output": str(tmp_path / "o"),
        "stages": [{"dedup": {"minhash": {"ngram": 5, "num_perm": 500, "bands": 50, "rows": 10, "threshold": 0.8}}}]})
    stats = run_build(cfg)
    kept = {r["id"].split("#")[0] for r in rows_of(tmp_path / "o" / "documents")}
    assert kept == {"lic/pytorch_license.txt", "lic/rails_mit_license.txt"}
    (r,) = rows_of(tmp_path / "o" / "removed" / "dedup")
    assert (r["id"], r["reason"], r["duplicate_of"]) == ("lic/react_mit_license.txt#0", "near_duplicate",
                                                          "lic/rails_mit_license.txt#0")
    assert stats["stages"]["dedup"]["removed"] == 1


def _state_files(out):
    return {p: p.stat().st_mtime_ns for p in (out / "_state" / "dedup").rglob("*") if p.is_file()
            and p.name != "plan.json"}


@pytest.mark.usefixtures("ray_local")
def test_crash_in_each_phase_then_resume(tmp_path, monkeypatch):
    """A crash halfway through each phase in turn (the phase's runner raises after half its
    units); every re-run skips what finished and the end result equals an uninterrupted run."""
    small_corpus(tmp_path)
    opts = {"minhash": {"threshold": 0.8}, "keep_state": True}
    build(tmp_path, "ref", opts)
    real = global_stages.run_phase
    crash = {"at": None}

    def crashing(stage_name, phase, num_workers):
        if phase.fn.__name__ == crash["at"]:
            real(stage_name, dataclasses.replace(phase, units=phase.units[:max(1, len(phase.units) // 2)]), num_workers)
            raise RuntimeError(f"simulated crash in {phase.fn.__name__}")
        return real(stage_name, phase, num_workers)

    monkeypatch.setattr(global_stages, "run_phase", crashing)
    out, before = tmp_path / "crash", {}
    for unit in ("sig_unit", "bucket_unit", "cc_unit", "labels_unit", "final_unit"):
        crash["at"] = unit
        with pytest.raises(RuntimeError, match="simulated crash"):
            build(tmp_path, "crash", opts)
        now = _state_files(out)
        assert all(now[p] == t for p, t in before.items() if p in now), f"recomputed before {unit}"
        assert len(now) > len(before)
        before = now
    crash["at"] = None
    stats = build(tmp_path, "crash", opts)
    assert all(_state_files(out)[p] == t for p, t in before.items() if "final" not in p.parts)
    for folder in ("documents", "removed/dedup"):
        assert rows_of(out / folder) == rows_of(tmp_path / "ref" / folder)
    assert stats["stages"]["dedup"]["removed"] == 3 and stats["accounting_ok"]
    # a crash after a part's documents were replaced but before its marker: not filtered twice
    marker = next((out / "_state" / "dedup" / "final").glob("*[0-9a-f].json"))
    marker.unlink()
    (out / "_state" / "dedup" / "done.json").unlink()
    build(tmp_path, "crash", opts)
    assert rows_of(out / "documents") == rows_of(tmp_path / "ref" / "documents")


# ---- slow: a real object store limit, SIGKILL, a `ray start` cluster -----------------------------

SCRIPT = """
import json, logging, sys
import ray
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.runner import run_build
# Spilling off: a pipeline that moved documents through the object store would fail here.
ray.init(num_cpus=2, object_store_memory=80 << 20, include_dashboard=False, log_to_driver=False,
         logging_level=logging.ERROR, _temp_dir=sys.argv[2], _node_ip_address="127.0.0.1",
         _system_config={"automatic_object_spilling_enabled": False})
cfg = BuildConfig.model_validate(json.loads(sys.argv[1]))
print(json.dumps(run_build(cfg)["stages"]["dedup"]))
"""


def big_corpus(folder, files: int, per_file: int, words: int, dups: int = 50):
    """Unique random documents plus `dups` exact and `dups` near copies of the first ones."""
    rng = np.random.default_rng(0)
    vocab = np.array([w + str(i) for i in range(200) for w in WORDS[:5]])
    k = 0
    for f in range(files):
        rows = [{"id": f"f{f}-{i}", "text": " ".join(rng.choice(vocab, words))} for i in range(per_file)]
        if f == files - 1:
            first = [json.loads(line)["text"] for line in (folder / "f000.jsonl").read_text().splitlines()[:dups]]
            rows += [{"id": f"x{i}", "text": t.upper()} for i, t in enumerate(first)]
            rows += [{"id": f"n{i}", "text": t.replace(t.split()[words // 2], "edited", 1)} for i, t in enumerate(first)]
        write_jsonl(folder / f"f{f:03d}.jsonl", rows)
        k += len(rows)
    return k


def _run(cmd, env, **kw):
    import subprocess

    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, **kw)


@pytest.mark.slow
def test_more_data_than_the_object_store(tmp_path):
    """~150 MB of documents through a Ray whose object store holds 80 MB and may not spill:
    only paths and small dicts travel between tasks; documents, keys and edges go through files."""
    import os
    import sys

    from procs import kill_started, tagged_env

    n = big_corpus(tmp_path, files=6, per_file=3000, words=1000)
    assert sum(p.stat().st_size for p in tmp_path.glob("*.jsonl")) > 140 << 20
    cfg = {"inputs": [{"name": "big", "path": str(tmp_path / "*.jsonl")}], "output": str(tmp_path / "out"),
           "stages": [{"dedup": {"minhash": {"threshold": 0.8}}}]}
    temp = f"/tmp/cm-os-{os.getpid()}"
    env, tag = tagged_env()
    try:
        r = _run([sys.executable, "-c", SCRIPT, json.dumps(cfg), temp], env)
    finally:
        kill_started(tag, [temp])
        _run(["rm", "-rf", temp], env)
    assert r.returncode == 0, r.stderr[-3000:]
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["in"] == n and d["removed_by_reason"] == {"exact_duplicate": 50, "near_duplicate": 50}


def _sorted_rows(out):
    return [(r["id"], r.get("duplicate_of"), r.get("reason")) for r in rows_of(out / "documents")] + \
        [(r["id"], r["duplicate_of"], r["reason"]) for r in rows_of(out / "removed" / "dedup")]


@pytest.mark.slow
def test_sigkill_in_dedup_then_resume_and_ray_cluster(tmp_path):
    """`corpus build` killed (SIGKILL) while dedup runs, then resumed: finished units are not
    redone and the result equals an uninterrupted run's, which a loopback `ray start` cluster
    reproduces too."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import yaml

    from procs import kill_started, started_pids, tagged_env

    data = tmp_path / "in"
    data.mkdir()
    big_corpus(data, files=12, per_file=150, words=400, dups=20)
    corpus = str(Path(sys.executable).parent / "corpus")

    def cfg(name):
        y = tmp_path / f"{name}.yaml"
        y.write_text(yaml.safe_dump({"inputs": [{"name": "w", "path": str(data / "*.jsonl")}],
                                     "output": str(tmp_path / name), "stages": [{"dedup": {}}]}))
        return str(y)

    ray_tmp = Path(f"/tmp/cm-dk-{os.getpid()}")
    ray_tmp.mkdir(exist_ok=True)
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(ray_tmp))
    try:
        assert _run([corpus, "build", cfg("ref"), "--quiet"], env).returncode == 0
        proc = subprocess.Popen([corpus, "build", cfg("kill"), "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sig = tmp_path / "kill" / "_state" / "dedup" / "sig"
        deadline = time.time() + 300
        while time.time() < deadline and not (sig.exists() and list(sig.glob("*.json"))):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kill_started(tag, [ray_tmp])
        assert not (tmp_path / "kill" / "_state" / "dedup" / "done.json").exists(), "the kill must land in dedup"
        finished = {p: p.stat().st_mtime_ns for p in sig.glob("*.json")}
        r = _run([corpus, "build", cfg("kill"), "--quiet"], env)
        assert r.returncode == 0, r.stderr[-3000:]
        assert {p: p.stat().st_mtime_ns for p in finished} == finished
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        temp = f"/tmp/cm-dc-{os.getpid()}"
        started = _run([str(Path(sys.executable).parent / "ray"), "start", "--head", "--port", str(port),
                        "--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--include-dashboard=false",
                        "--disable-usage-stats", "--temp-dir", temp], env)
        assert started.returncode == 0, started.stderr[-2000:]
        r = _run([corpus, "build", cfg("cluster"), "--quiet", "--ray-address", f"127.0.0.1:{port}"], env)
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        kill_started(tag, [ray_tmp, f"/tmp/cm-dc-{os.getpid()}"])
        subprocess.run(["rm", "-rf", str(ray_tmp), f"/tmp/cm-dc-{os.getpid()}"])
    assert not started_pids(tag, [str(ray_tmp)])
    ref = _sorted_rows(tmp_path / "ref")
    assert len([r for r in ref if r[2]]) == 40
    assert _sorted_rows(tmp_path / "kill") == ref == _sorted_rows(tmp_path / "cluster")
    assert not list((tmp_path / "kill").rglob("*.tmp-*"))
