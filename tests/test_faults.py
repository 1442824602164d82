"""Fault injection: `corpus build` and `corpus mix` SIGKILLed at named points (corpusmill/faults.py),
one after another on the same output, each kill resumed by the next run; the final output must
equal an uninterrupted run's. Chaining the kills also tests resuming from a resumed state."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from fixtures import pages, write_build_yaml, write_warc
from procs import kill_started, tagged_env

pytestmark = pytest.mark.slow
CORPUS = str(Path(sys.executable).parent / "corpus")


def run_chain(args_for: callable, points: list[str]) -> None:
    """A reference run (output `ref`), then runs on output `out`: one killed at each point in turn,
    then one to completion."""
    ray_tmp = Path(f"/tmp/cm-faults-{os.getpid()}")  # embedded Ray's sockets need a short path
    ray_tmp.mkdir(exist_ok=True)
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(ray_tmp))
    try:
        for name, point in [("ref", None), *[("out", p) for p in points], ("out", None)]:
            run_env = {**env, "CORPUSMILL_KILL_AT": point} if point else env
            r = subprocess.run([CORPUS, *args_for(name), "--quiet"], env=run_env, capture_output=True, text=True,
                               timeout=300)
            kill_started(tag, [ray_tmp])  # a killed driver leaves its Ray processes behind
            if point:
                assert r.returncode == -signal.SIGKILL, f"{point}: the run was not killed there: {r.stderr[-2000:]}"
            else:
                assert r.returncode == 0, r.stderr[-3000:]
    finally:
        kill_started(tag, [ray_tmp])
        subprocess.run(["rm", "-rf", str(ray_tmp)])


def documents(out: Path, folder: str) -> list[tuple]:
    t = ds.dataset(str(out / folder), format="parquet").to_table()
    cols = [c for c in ("id", "text", "duplicate_of", "reason") if c in t.column_names]
    return sorted(zip(*(t.column(c).to_pylist() for c in cols)))


def test_build_killed_at_each_point_resumes_to_the_same_output(tmp_path):
    for f in range(8):  # every third page repeats an earlier one, so dedup has work
        write_warc(tmp_path / f"w{f}.warc.gz", pages(30, start=f * 20))
    stages = [{"extract": {}}, {"normalize": {}}, {"length": {"min_chars": 100}}, {"dedup": {}}]

    def args(name):
        y = write_build_yaml(tmp_path / f"{name}.yaml", [{"name": "web", "path": str(tmp_path / "*.warc.gz")}],
                             tmp_path / name, stages)
        return ["build", str(y)]

    # after 3 parts; mid signatures; mid rewrite of the parts; between the last marker and stats.json
    run_chain(args, ["build.part:3", "dedup.sig:3", "dedup.final:4", "build.stats"])
    ref, got = tmp_path / "ref", tmp_path / "out"
    assert documents(got, "documents") == documents(ref, "documents")
    assert documents(got, "removed") == documents(ref, "removed")
    stats, ref_stats = (json.loads((p / "stats.json").read_text()) for p in (got, ref))
    assert stats["accounting_ok"] and stats["totals"] == ref_stats["totals"]
    assert stats["totals"]["documents_in"] == 240 and stats["stages"]["dedup"]["removed"] > 0
    assert not list(got.rglob("*.tmp-*"))


def test_mix_killed_at_each_point_resumes_to_identical_shards(tmp_path):
    import sentencepiece as spm

    from conftest import shared
    from mixture_fixtures import chunks, shard_bytes, write_docs, write_yaml

    d = tmp_path
    books = "".join(p.read_text(encoding="utf-8", errors="replace")
                    for p in sorted(shared("text", "en", "gutenberg").glob("*.txt"))[:2])
    news = [n for n in shared("text", "en", "lee_news_background.cor").read_text().splitlines() if n.strip()]
    zh = shared("text", "zh", "hongloumeng.txt").read_text(encoding="utf-8")[:100_000]
    write_docs(d / "books", "books", chunks(books, 3000)[:200])
    write_docs(d / "news", "news", news[:120])
    write_docs(d / "zh", "zh", chunks(zh, 1000)[:100])
    (d / "tok").mkdir()
    (d / "sample.txt").write_text(books[:200_000] + "\n" + zh[:50_000] + "\n" + "\n".join(news[:100]))
    spm.SentencePieceTrainer.train(input=str(d / "sample.txt"), model_prefix=str(d / "tok" / "tokenizer"),
                                   vocab_size=2000, model_type="bpe", byte_fallback=True, character_coverage=0.98,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, minloglevel=2)

    def args(name):
        return ["mix", str(write_yaml(d, name, total_tokens=200_000, shard_tokens=60_000))]

    # mid-encoding of the first source; after it; after the first train shard; before the manifest
    run_chain(args, ["encode.unit:1", "mix.encoded:1", "mix.train_shard:1", "mix.manifest"])
    assert shard_bytes(d / "out") == shard_bytes(d / "ref") and len(shard_bytes(d / "ref")) >= 4
    got, ref = (json.loads((d / n / "manifest.json").read_text()) for n in ("out", "ref"))
    assert got["sources"] == ref["sources"] and got["train"] == ref["train"]
    assert not list((d / "out").rglob("*.tmp*"))  # the killed runs' temp shards are gone


def test_train_killed_at_each_point_resumes_bit_identical(tmp_path):
    import torch

    from corpusmill.trainer.metrics import loss_by_step
    from trainer_fixtures import tiny_cfg

    def args(name):
        cfg = tiny_cfg(tmp_path, name, steps=24, dropout=0.1, ckpt_every=5, keep_last=2)
        y = tmp_path / f"{name}.yaml"
        y.write_text(json.dumps(cfg.model_dump(mode="json")))  # JSON is YAML
        return ["train", str(y)]

    # between checkpoints (resumes from step 5); inside the 2nd checkpoint write of the resumed run
    # (step 15: the temp file is written, the rename is not); right after a resume
    run_chain(args, ["train.step:7", "checkpoint.tmp:2", "train.step:1"])
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert loss_by_step(out / "metrics.jsonl") == loss_by_step(ref / "metrics.jsonl")
    assert len(loss_by_step(ref / "metrics.jsonl")) == 24
    a, b = (torch.load(p / "checkpoints" / "step-00000024.pt", weights_only=True) for p in (ref, out))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert not list((out / "checkpoints").glob(".*tmp*"))
