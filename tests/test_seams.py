"""Between commands: each consumer reads its input through the artifact manifest, so nothing stale,
partial or removed reaches training (issue 12, one test per case it names), and one writer per output."""
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pytest

from corpusmill.common import artifact
from corpusmill.common.artifact import ArtifactError, build_documents
from corpusmill.common.config import ConfigError
from corpusmill.pipeline.config import load_build_config
from corpusmill.pipeline.runner import run_build
from fixtures import pages, write_jsonl, write_warc
from procs import kill_started, tagged_env

pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]
CORPUS = str(Path(sys.executable).parent / "corpus")
WORDS = ("river bridge market farmer baker music lantern square spring stone town story harbour field "
         "winter summer letter window garden teacher station engine valley forest island mountain").split()


def jsonl(path: Path, docs: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_jsonl(path, [{"text": t} for t in docs])


def texts(n: int, seed: int, words: int = 60) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), size=words)) + f". Note {seed}-{i}."
            for i in range(n)]


def write_build(tmp: Path, name: str, inputs: str, output: str, min_chars: int = 50, dedup: bool = True) -> Path:
    stages = [{"normalize": {}}, {"length": {"min_chars": min_chars, "min_words": 5}}]
    if dedup:
        stages.append({"dedup": {"exact": True, "url": False, "minhash": None}})
    cfg = {"inputs": [{"name": "web", "path": inputs, "format": "jsonl"}], "output": output, "stages": stages}
    (tmp / name).write_text(json.dumps(cfg))
    return tmp / name


def build(yaml_path: Path, **kw) -> dict:
    return run_build(load_build_config(yaml_path), config_path=str(yaml_path), **kw)


def rows(out: Path, folder: str) -> list[tuple]:
    if not (out / folder).exists():
        return []
    t = ds.dataset(str(out / folder), format="parquet").to_table()
    cols = [c for c in ("id", "text", "reason", "duplicate_of") if c in t.column_names]
    return sorted(zip(*(t.column(c).to_pylist() for c in cols)))


def same_build(a: Path, b: Path) -> None:
    assert rows(a, "documents") == rows(b, "documents")
    assert rows(a, "removed") == rows(b, "removed")
    sa, sb = (json.loads((p / "stats.json").read_text()) for p in (a, b))
    for key in ("totals", "sources", "files", "accounting_ok"):
        assert sa[key] == sb[key], key
    assert sa["stages"]["dedup"]["removed_by_reason"] == sb["stages"]["dedup"]["removed_by_reason"]


def test_adding_and_removing_input_files_equals_a_fresh_build(tmp_path):
    """Case 4: a file added under the glob used to be built but not deduplicated (44 kept instead of
    22); a file gone kept its documents. Now dedup runs again over all parts, and the result and
    stats.json equal a fresh build's, per file included."""
    a = texts(20, seed=1)
    jsonl(tmp_path / "in" / "b.jsonl", a + a[:3])  # 3 copies inside b
    inc = write_build(tmp_path, "inc.yaml", "in/*.jsonl", "inc")
    s1 = build(inc)
    assert s1["totals"]["kept"] == 20 and s1["stages"]["dedup"]["removed"] == 3
    # a new file that sorts first: in a fresh build its copies are the ones kept, b's are removed
    jsonl(tmp_path / "in" / "a-new.jsonl", a[5:10] + texts(10, seed=2))
    s2 = build(inc)
    ref = build(write_build(tmp_path, "ref.yaml", "in/*.jsonl", "ref"))
    assert s2["totals"]["kept"] == 30 and s2["totals"]["documents_in"] == 38
    same_build(tmp_path / "inc", tmp_path / "ref")
    files = s2["files"]
    assert sum(f["kept"] for f in files.values()) == s2["totals"]["kept"]
    assert sum(f["kept"] + sum(f["removed"].values()) for f in files.values()) == s2["totals"]["documents_in"]
    assert ref["totals"] == s2["totals"]
    (tmp_path / "in" / "b.jsonl").unlink()  # gone: its documents go, dedup runs again
    s3 = build(inc)
    ref2 = build(write_build(tmp_path, "ref2.yaml", "in/*.jsonl", "ref2"))
    assert s3["totals"] == ref2["totals"] and s3["totals"]["documents_in"] == 15
    same_build(tmp_path / "inc", tmp_path / "ref2")
    assert artifact.read(tmp_path / "inc")["status"] == "complete"


def test_zero_kept_and_unfinished_builds_are_refused_by_every_consumer(tmp_path):
    """Cases 2, 3, 7: a build that kept nothing has no documents/, and consumers used to read
    removed/ as training text; an unfinished build was accepted; quality train read stats.json."""
    from corpusmill.stages.classifier.train import read_texts
    from corpusmill.tokenizer.inputs import list_parts

    jsonl(tmp_path / "in" / "a.jsonl", texts(30, seed=3))
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("corpusmill").addHandler(handler)
    try:
        build(write_build(tmp_path, "empty.yaml", "in/*.jsonl", "empty", min_chars=100_000))
    finally:
        logging.getLogger("corpusmill").removeHandler(handler)
    assert any("source web kept 0 of 30 documents" in m for m in seen), seen
    empty = tmp_path / "empty"
    assert not (empty / "documents").exists() and (empty / "removed").exists()
    for consumer in (lambda: list_parts([empty]), lambda: build_documents(empty, "mix"),
                     lambda: list(read_texts(str(empty)))):
        with pytest.raises(ArtifactError, match="kept 0 documents"):
            consumer()
    with pytest.raises(ArtifactError, match="not in its documents/: only kept documents"):
        list_parts([empty / "removed" / "length"])

    # killed during dedup (a real SIGKILL at a kill point): refused, then finished by a re-run
    y = write_build(tmp_path, "full.yaml", "in/*.jsonl", "full")
    tmp_ray = Path(f"/tmp/cm-seams-{tmp_path.name[-8:]}")
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(tmp_ray), CORPUSMILL_KILL_AT="dedup.final:1")
    tmp_ray.mkdir(exist_ok=True)
    try:
        r = subprocess.run([CORPUS, "build", str(y), "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        kill_started(tag, [tmp_ray])
        subprocess.run(["rm", "-rf", str(tmp_ray)])
    assert r.returncode == -9, r.stderr[-2000:]
    full = tmp_path / "full"
    assert (full / "documents").is_dir()  # the per-part phase finished: documents exist, not deduplicated
    for consumer in (lambda: list_parts([full]), lambda: list_parts([full / "documents"]),
                     lambda: build_documents(full, "mix"), lambda: list(read_texts(str(full)))):
        with pytest.raises(ArtifactError, match="not a finished build"):
            consumer()
    build(y)
    folder, ref = build_documents(full, "mix")
    assert folder == full / "documents" and ref["kind"] == "build"
    got = list(read_texts(str(full), min_chars=1))  # case 7: documents only, no stats.json, no removed/
    assert len(got) == 30 == json.loads((full / "stats.json").read_text())["totals"]["kept"]


def test_config_fingerprint_ignores_what_cannot_change_the_output(tmp_path):
    from corpusmill.pipeline.registry import build_stages
    from corpusmill.pipeline.runner import config_fingerprint

    def fp(**over):
        cfg = {"inputs": [{"name": "web", "path": "./in/*.jsonl"}], "output": "out",
               "stages": [{"length": {}}, {"dedup": None}], **over}
        (tmp_path / "c.yaml").write_text(json.dumps(cfg))
        c = load_build_config(tmp_path / "c.yaml")
        return config_fingerprint(c, build_stages(c.stages))

    base = fp()
    assert fp(batch_size=7, ray={"num_cpus": 1}) == base
    assert fp(stages=[{"length": {"min_chars": 0, "max_chars": None}}, {"dedup": {"exact": True}}]) == base
    assert fp(inputs=[{"name": "web", "path": "in//./*.jsonl"}]) == base
    assert fp(stages=[{"length": {"min_chars": 201}}, {"dedup": None}]) != base


def test_rebuilt_source_is_encoded_again_and_mix_refuses_another_config(tmp_path):
    """Cases 1 and 8: the encoded cache was keyed by source name + tokenizer, so a rebuilt source was
    served stale; a mix into an existing output with another config overwrote it silently."""
    import sentencepiece as spm

    from corpusmill.mixtures.build import build_mixture
    from corpusmill.mixtures.spec import load_mixture_config
    from mixture_fixtures import shard_bytes

    long, short = texts(60, seed=5, words=120), texts(60, seed=6, words=20)
    jsonl(tmp_path / "in" / "a.jsonl", long + short)
    y = write_build(tmp_path, "b.yaml", "in/*.jsonl", "out", min_chars=50)
    build(y)
    (tmp_path / "sample.txt").write_text("\n".join(long + short))
    (tmp_path / "tok").mkdir()
    spm.SentencePieceTrainer.train(input=str(tmp_path / "sample.txt"), model_prefix=str(tmp_path / "tok" / "tokenizer"),
                                   vocab_size=300, model_type="bpe", bos_id=1, eos_id=2, pad_id=3, minloglevel=2)

    def mix_yaml(name, output, total=20_000):
        cfg = {"tokenizer": "tok", "output": output, "total_tokens": total, "seq_len": 64,
               "validation": {"fraction": 0.05}, "sources": [{"name": "web", "path": "out", "weight": 1.0}]}
        (tmp_path / name).write_text(json.dumps(cfg))
        return load_mixture_config(tmp_path / name)

    first = build_mixture(mix_yaml("m.yaml", "mix"))
    # re-threshold: long documents only; same mixture config, same output
    y.write_text(y.read_text().replace('"min_chars": 50', '"min_chars": 400'))
    build(y, fresh=True)
    again = build_mixture(mix_yaml("m.yaml", "mix"))
    fresh = build_mixture(mix_yaml("f.yaml", "mix-fresh"))
    assert again["sources"]["web"]["available_train_tokens"] == fresh["sources"]["web"]["available_train_tokens"]
    assert again["sources"]["web"]["available_train_tokens"] < first["sources"]["web"]["available_train_tokens"]
    assert shard_bytes(tmp_path / "mix") == shard_bytes(tmp_path / "mix-fresh")
    assert len(list((tmp_path / "mix" / "_state" / "encoded").glob("web-*"))) == 1  # the stale one is gone
    with pytest.raises(ConfigError, match="another configuration .*total_tokens"):
        build_mixture(mix_yaml("m2.yaml", "mix", total=10_000))
    assert shard_bytes(tmp_path / "mix") == shard_bytes(tmp_path / "mix-fresh")  # untouched
    out = build_mixture(mix_yaml("m2.yaml", "mix", total=10_000), fresh=True)
    assert out["sources"]["web"]["train"]["tokens"] == 10_000
    assert artifact.require(tmp_path / "mix", "mixture", "test")["inputs"][1]["kind"] == "build"


def test_resume_is_refused_on_another_tokenizer_vocab_or_changed_mixture(tmp_path):
    """Case 6: a different vocab gave a raw size-mismatch traceback; another tokenizer with the same
    vocab gave false spike recoveries; a rebuilt mixture resumed silently on another order."""
    from corpusmill.trainer.lineage import ResumeError
    from corpusmill.trainer.train import train
    from trainer_fixtures import make_mixture, tiny_cfg

    cfg = tiny_cfg(tmp_path, steps=4, ckpt_every=2, eval_every=0)
    train(cfg)
    manifest_path = tmp_path / "mix" / "manifest.json"
    original = manifest_path.read_text()
    m = json.loads(original)
    m["tokenizer"]["tokenizer_sha256"] = "cd" * 32
    manifest_path.write_text(json.dumps(m))
    longer = cfg.model_copy(update={"train": cfg.train.model_copy(update={"steps": 6})})
    with pytest.raises(ResumeError, match="trained with tokenizer abababababab"):
        train(longer)
    manifest_path.write_text(original)
    make_mixture(tmp_path / "mix", n_docs=300, seed=9)  # re-mixed: same tokenizer, other documents
    with pytest.raises(ResumeError, match="has changed since"):
        train(longer)
    m = json.loads(manifest_path.read_text())
    m["tokenizer"]["vocab_size"] = 300  # another vocabulary (its sha256 unknown)
    m["tokenizer"].pop("tokenizer_sha256")
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(ResumeError, match="vocabulary of 256"):
        train(longer)
    assert artifact.read(tmp_path / "run")["status"] == "complete"  # the finished 4-step run is intact


def test_lineage_from_a_run_back_to_the_warc_build(tmp_path):
    """The chain a checkpoint came from: run -> mixture -> tokenizer and build -> WARC files."""
    from click.testing import CliRunner

    from corpusmill.cli import main
    from corpusmill.common.lineage import trace
    from corpusmill.mixtures.build import build_mixture
    from corpusmill.mixtures.spec import load_mixture_config
    from corpusmill.tokenizer.sample import SampleSpec
    from corpusmill.tokenizer.settings import SpmSettings
    from corpusmill.tokenizer.train import train_tokenizer
    from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec
    from corpusmill.trainer.train import train

    (tmp_path / "dump").mkdir()
    write_warc(tmp_path / "dump" / "a.warc.gz", pages(40))
    cfg = {"inputs": [{"name": "web", "path": "dump/*.warc.gz"}], "output": "out",
           "stages": [{"extract": {}}, {"dedup": {"minhash": None}}]}
    (tmp_path / "b.yaml").write_text(json.dumps(cfg))
    build(tmp_path / "b.yaml")
    train_tokenizer([str(tmp_path / "out")], tmp_path / "tok", SpmSettings(vocab_size=400), SampleSpec(sample_bytes=10 << 20),
                    fertility=False)
    mix = {"tokenizer": "tok", "output": "mix", "total_tokens": 5_000, "seq_len": 32,
           "validation": {"fraction": 0.1}, "sources": [{"name": "web", "path": "out", "weight": 1.0}]}
    (tmp_path / "m.yaml").write_text(json.dumps(mix))
    build_mixture(load_mixture_config(tmp_path / "m.yaml"))
    train(TrainConfig(data=str(tmp_path / "mix"), output=str(tmp_path / "run"),
                      model=ModelSpec(n_layer=1, n_head=2, d_model=32),
                      train=TrainSpec(steps=2, global_batch_tokens=128, micro_batch_size=4, eval_every=0,
                                      progress=False, tensorboard=False, cpu_threads=1)))
    tree = trace(tmp_path / "run" / "checkpoints")
    assert tree["kind"] == "run" and tree["status"] == "complete"
    (mixture,) = tree["inputs"]
    assert mixture["kind"] == "mixture" and mixture["state"] == "current"
    kinds = sorted(n["kind"] for n in mixture["inputs"])
    assert kinds == ["build", "tokenizer"]
    tok = next(n for n in mixture["inputs"] if n["kind"] == "tokenizer")
    assert tok["inputs"][0]["kind"] == "build" and tok["inputs"][0]["files"]["shown"] == [str(tmp_path / "dump" / "a.warc.gz")]
    r = CliRunner().invoke(main, ["lineage", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    assert "run " in r.output and "a.warc.gz" in r.output and r.output.count("build ") == 2
    # the build changes under the mixture: lineage says so
    cfg["stages"] = [{"extract": {}}]
    (tmp_path / "b.yaml").write_text(json.dumps(cfg))
    build(tmp_path / "b.yaml", fresh=True)
    r = CliRunner().invoke(main, ["lineage", str(tmp_path / "run")])
    assert "changed since it was used" in r.output


def test_two_builds_on_one_output_exactly_one_runs(tmp_path):
    """Case 5: no lock, two builds on one output both exited 0 over a corrupt output."""
    jsonl(tmp_path / "in" / "a.jsonl", texts(3000, seed=7, words=200))
    y = write_build(tmp_path, "b.yaml", "in/*.jsonl", "out")
    tmp_ray = Path(f"/tmp/cm-lock-{tmp_path.name[-8:]}")
    tmp_ray.mkdir(exist_ok=True)
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(tmp_ray))
    try:
        first = subprocess.Popen([CORPUS, "build", str(y), "--quiet"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        lock = tmp_path / "out" / ".corpusmill.lock"
        deadline = time.time() + 60
        while time.time() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.05)
        t0 = time.time()
        second = subprocess.run([CORPUS, "build", str(y), "--quiet"], env=env, capture_output=True, text=True,
                                timeout=120)
        waited = time.time() - t0
        out, err = first.communicate(timeout=300)
    finally:
        kill_started(tag, [tmp_ray])
        subprocess.run(["rm", "-rf", str(tmp_ray)])
    assert first.returncode == 0, err[-2000:]
    assert second.returncode != 0 and f"being written by pid {first.pid}" in second.stderr, second.stderr
    assert waited < 20  # at once: it did not wait for the lock or start Ray
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["accounting_ok"] and stats["totals"]["kept"] == 3000
    assert len(rows(tmp_path / "out", "documents")) == 3000 and artifact.read(tmp_path / "out")["status"] == "complete"


def test_a_refused_rebuild_leaves_the_finished_build_usable(tmp_path):
    """A config change is refused without --fresh; the refusal must not unmake the earlier build."""
    jsonl(tmp_path / "in" / "a.jsonl", texts(10, seed=11))
    y = write_build(tmp_path, "b.yaml", "in/*.jsonl", "out", dedup=False)
    build(y)
    y.write_text(y.read_text().replace('"min_chars": 50', '"min_chars": 60'))
    with pytest.raises(ConfigError, match=r"differs in: config.stages\[1\].length.min_chars"):
        build(y)
    assert build_documents(tmp_path / "out", "mix")[1]["kind"] == "build"
