"""`corpus mix` on real text: three sources, realised shares, epochs, a disjoint validation
split, same bytes for the same config, and resume after losing the shards."""
import json

import numpy as np
import pytest

from conftest import shared
from mixture_fixtures import chunks, shard_bytes, write_docs, write_yaml
from corpusmill.mixtures.build import build_mixture
from corpusmill.mixtures.sampler import PackedSampler, TokenStream
from corpusmill.mixtures.spec import load_mixture_config
from corpusmill.pipeline.config import ConfigError

pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("mix")
    books = "".join(p.read_text(encoding="utf-8", errors="replace")
                    for p in sorted(shared("text", "en", "gutenberg").glob("*.txt"))[:3])
    news = shared("text", "en", "lee_news_background.cor").read_text().splitlines()
    zh = shared("text", "zh", "hongloumeng.txt").read_text(encoding="utf-8")[:200_000]
    write_docs(d / "books", "books", chunks(books, 3000)[:300])
    write_docs(d / "news", "news", [n for n in news if n.strip()][:120])
    write_docs(d / "zh", "zh", chunks(zh, 1000)[:150])
    (d / "tok").mkdir()
    sample = d / "sample.txt"
    sample.write_text(books[:300_000] + "\n" + zh[:100_000] + "\n" + "\n".join(news[:100]))
    spm.SentencePieceTrainer.train(input=str(sample), model_prefix=str(d / "tok" / "tokenizer"), vocab_size=4000,
                                   model_type="bpe", byte_fallback=True, character_coverage=0.98,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, minloglevel=2)
    return d


def test_mixture_shares_epochs_validation_determinism_and_resume(setup):
    d = setup
    m = build_mixture(load_mixture_config(write_yaml(d, "mixA")))
    for name, w in (("books", 0.5), ("news", 0.3), ("zh", 0.2)):
        s = m["sources"][name]
        assert abs(s["realised_share"] - w) < 0.005, (name, s)
        assert s["train"]["tokens"] == s["planned_tokens"], (name, s)  # quotas are met exactly
    assert m["sources"]["news"]["epochs"] > 1.5  # upsampled, and the manifest says so
    assert m["sources"]["books"]["epochs"] < 1.0  # downsampled
    assert len(m["train"]["shards"]) >= 2 and m["validation"]["shards"]
    # validation documents never appear in train
    stream_train = TokenStream([d / "mixA" / s["file"] for s in m["train"]["shards"]])
    from corpusmill.mixtures.shards import Shard

    train_docs = {Shard(d / "mixA" / s["file"]).document(i).tobytes()
                  for s in m["train"]["shards"] for i in range(Shard(d / "mixA" / s["file"]).num_documents)}
    val = [Shard(d / "mixA" / s["file"]) for s in m["validation"]["shards"]]
    assert all(v.document(i).tobytes() not in train_docs for v in val for i in range(len(v)))
    # the loader reads it
    sampler = PackedSampler(stream_train, seq_len=128, seed=0)
    assert sampler.batch(0, 4).shape == (4, 129)
    # same config, same bytes; resume after the shards are lost reuses the encoded cache
    first = shard_bytes(d / "mixA")
    for f in (d / "mixA").glob("*.arrow"):
        f.unlink()
    encoded = {p: p.stat().st_mtime_ns for p in (d / "mixA" / "_state" / "encoded").rglob("*.parquet")}
    build_mixture(load_mixture_config(write_yaml(d, "mixA")))
    assert shard_bytes(d / "mixA") == first
    assert {p: p.stat().st_mtime_ns for p in (d / "mixA" / "_state" / "encoded").rglob("*.parquet")} == encoded
    build_mixture(load_mixture_config(write_yaml(d, "mixB")))
    assert shard_bytes(d / "mixB") == first


def test_a_long_document_does_not_overshoot_the_quota(setup):
    """A downsampled source whose sample ends on a long page: the page is cut at the quota instead
    of adding its whole length (a 378k-character forum listing once made a mix 5x its size)."""
    d = setup
    news = shared("text", "en", "lee_news_background.cor").read_text().splitlines()
    write_docs(d / "long", "long", [" ".join(news[:200])] + [n for n in news[200:] if n.strip()])
    cfg = {"tokenizer": "tok", "output": "mixLong", "total_tokens": 3000, "seq_len": 128, "seed": 3,
           "validation": {"fraction": 0.01}, "sources": [{"name": "long", "path": "long", "weight": 1.0}]}
    (d / "mixLong.yaml").write_text(json.dumps(cfg))
    m = build_mixture(load_mixture_config(d / "mixLong.yaml"))
    assert m["train"]["sources"]["long"]["tokens"] == 3000
    assert sum(s["tokens"] for s in m["train"]["shards"]) == 3000


def test_sample_meets_every_quota_exactly_also_with_tied_keys():
    """Ids repeat across shards that number from 0, so sampling keys can tie: still exact."""
    from corpusmill.mixtures.encoded import EncodedSource

    src = object.__new__(EncodedSource)
    src.lengths = np.array([5, 7, 3, 10, 0, 4])
    src.is_val = np.array([False, False, False, False, False, True])
    src.order_key = np.array([10, 10, 30, 20, 20, 5], dtype=np.uint64)
    for quota in range(1, 26):
        take = src.sample(quota)
        assert take.sum() == quota and (take <= src.lengths).all() and take[5] == 0, (quota, take)
        assert ((take > 0) & (take < src.lengths)).sum() <= 1  # at most one document is cut


def test_cap_fail_and_dry_run(setup):
    d = setup
    y = write_yaml(d, "mixC", on_cap="fail", total_tokens=2_000_000)
    with pytest.raises(ConfigError, match="max_epochs"):
        build_mixture(load_mixture_config(y))
    plan = build_mixture(load_mixture_config(write_yaml(d, "mixD")), dry_run=True)
    assert plan["dry_run"] and not list((d / "mixD").glob("*.arrow"))
    assert sorted(plan["estimated"]) == ["books", "news", "zh"] and not (d / "mixD" / "_state" / "encoded").exists()
    exact = build_mixture(load_mixture_config(write_yaml(d, "mixC", total_tokens=400_000)), dry_run=True)
    assert exact["estimated"] == {}  # mixC's sources were encoded by the failed run: exact counts
    for est, ex in zip(plan["plan"], exact["plan"]):
        # off by the hold-out's draw: 5% of documents, not of tokens (news has 120 documents)
        assert abs(est["available_tokens"] / ex["available_tokens"] - 1) < 0.05, (est, ex)


def test_sigkill_during_mix_then_rerun_gives_identical_shards(setup):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from procs import kill_started, tagged_env

    d = setup
    ref = build_mixture(load_mixture_config(write_yaml(d, "mixRef")))
    y = write_yaml(d, "mixKill")
    ray_tmp = Path(f"/tmp/cm-mixkill-{os.getpid()}")
    ray_tmp.mkdir(exist_ok=True)
    env, tag = tagged_env(CORPUSMILL_RAY_TMP=str(ray_tmp))
    corpus = str(Path(sys.executable).parent / "corpus")
    try:
        proc = subprocess.Popen([corpus, "mix", str(y)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        encoded = d / "mixKill" / "_state" / "encoded"
        deadline = time.time() + 120
        while time.time() < deadline and not (encoded.exists() and any(encoded.glob("*/manifest.json"))):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kill_started(tag, [ray_tmp])
        assert any(encoded.glob("*/manifest.json")), "the kill must land after the first source was encoded"
        assert not (d / "mixKill" / "manifest.json").exists()
        again = subprocess.run([corpus, "mix", str(y)], env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
    finally:
        kill_started(tag, [ray_tmp])
        subprocess.run(["rm", "-rf", str(ray_tmp)])
    assert shard_bytes(d / "mixKill") == shard_bytes(d / "mixRef")
    assert json.loads((d / "mixKill" / "manifest.json").read_text())["sources"] == ref["sources"]


def test_pretokenized_input_with_another_tokenizer_is_refused(setup, tmp_path):
    import sentencepiece as spm

    from corpusmill.tokenizer import load_tokenizer, write_encoded

    d = setup
    other = tmp_path / "other"
    other.mkdir()
    spm.SentencePieceTrainer.train(input=str(d / "sample.txt"), model_prefix=str(other / "tokenizer"),
                                   vocab_size=3000, model_type="bpe", byte_fallback=True, character_coverage=0.98,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, minloglevel=2)
    write_encoded([str(d / "news")], load_tokenizer(other), d / "news_enc_other")
    y = write_yaml(d, "mixE", sources=[{"name": "news", "path": "news_enc_other", "weight": 1.0}])
    with pytest.raises(ConfigError, match="pre-tokenized with another tokenizer"):
        build_mixture(load_mixture_config(y))
    write_encoded([str(d / "news")], load_tokenizer(d / "tok"), d / "news_enc")  # the right one is used as it is
    m = build_mixture(load_mixture_config(write_yaml(d, "mixF", sources=[{"name": "news", "path": "news_enc", "weight": 1.0}])))
    assert m["sources"]["news"]["train"]["tokens"] >= 400_000 and not (d / "mixF" / "_state" / "encoded").exists()
    # the same documents encoded to Parquet (read a row group at a time) make the same shards, byte for byte
    write_encoded([str(d / "news")], load_tokenizer(d / "tok"), d / "news_enc_pq", file_format="parquet")
    build_mixture(load_mixture_config(write_yaml(d, "mixG", sources=[{"name": "news", "path": "news_enc_pq", "weight": 1.0}])))
    assert shard_bytes(d / "mixG") == shard_bytes(d / "mixF")
    # as earlier versions wrote them (Parquet, no n_tokens, no id_hash): the same shards again
    import pyarrow.parquet as pq

    for f in (d / "news_enc_pq").glob("*.parquet"):
        t = pq.read_table(f)
        pq.write_table(t.drop_columns(["n_tokens", "id_hash"]).replace_schema_metadata(t.schema.metadata), f)
    build_mixture(load_mixture_config(write_yaml(d, "mixH", sources=[{"name": "news", "path": "news_enc_pq", "weight": 1.0}])))
    assert shard_bytes(d / "mixH") == shard_bytes(d / "mixF")


@pytest.mark.parametrize("suffix", ["arrow", "parquet"])
def test_encoded_files_read_only_the_chosen_rows(tmp_path, suffix, monkeypatch):
    """A mixture reads the tokens of the documents it takes: an Arrow file's batches and a Parquet
    file's row groups that hold none of them are never read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpusmill.mixtures import encoded

    lengths = np.arange(1, 101) % 7 + 1
    tokens = pa.LargeListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(lengths)])),
                                           pa.array(np.arange(lengths.sum()) % 500, pa.uint16()))
    table = pa.table({"id": [f"d{i}" for i in range(100)], "tokens": tokens})
    path = tmp_path / f"part.{suffix}"
    if suffix == "arrow":
        with pa.ipc.new_file(str(path), table.schema) as w:
            w.write_table(table, max_chunksize=10)
    else:
        pq.write_table(table, path, row_group_size=10)
    f = encoded._open(path)
    assert f.rows == 100 and np.array_equal(np.concatenate([n for n, _ in f.facts()]), lengths)
    mask = np.zeros(100, bool)
    mask[[3, 5, 47, 99]] = True
    read = []
    if suffix == "arrow":
        real = encoded._token_slices
        monkeypatch.setattr(encoded, "_token_slices", lambda col, rows: read.append(rows.tolist()) or real(col, rows))
    else:
        real = f.file.read_row_group
        monkeypatch.setattr(f.file, "read_row_group", lambda g, **kw: read.append(g) or real(g, **kw))
    got = list(f.chosen(mask))
    assert [r for r, _ in got] == [3, 5, 47, 99]
    assert all(np.array_equal(t, table["tokens"][r].values.to_numpy()) for r, t in got)
    assert read == ([[3, 5], [7], [9]] if suffix == "arrow" else [0, 4, 9])  # rows within batches 0, 4, 9


def test_real_mixture_exports_document_for_document(setup, tmp_path):
    """The three-source mixture of real texts, exported in each format and read back."""
    from test_export_tokens import documents, read_mds

    from corpusmill.mixtures.export_tokens import export_tokens

    d = setup
    build_mixture(load_mixture_config(write_yaml(d, "mixA")))
    for fmt in ("megatron", "nanogpt", "mds"):
        export_tokens(d / "mixA", fmt, tmp_path / fmt)
    for split, name in (("train", "train"), ("validation", "val")):
        want = documents(d / "mixA", split)
        assert len(want) > 20
        flat = np.memmap(tmp_path / "nanogpt" / f"{name}.bin", dtype=np.uint16, mode="r")
        assert np.array_equal(flat, np.concatenate([t for _, t in want]))
        assert [(s, t.tolist()) for s, t in read_mds(tmp_path / "mds" / name)] == [(s, t.tolist()) for s, t in want]
        indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
        ds = indexed.IndexedDataset(str(tmp_path / "megatron" / name))
        assert len(ds) == len(want) and all(np.array_equal(ds[i], t) for i, (_, t) in enumerate(want))


def test_every_train_shard_holds_each_source_near_its_weight(setup):
    """Mixed order: on three sources over several shards, each shard's share of every source is
    within 2% of its weight; the documents are the same ones, only their order changed."""
    from corpusmill.mixtures.build import _source_docs
    from corpusmill.mixtures.encoded import EncodedSource
    from corpusmill.mixtures.plan import SourcePlan
    from corpusmill.mixtures.shards import Shard

    d = setup
    m = build_mixture(load_mixture_config(write_yaml(d, "mixShare", shard_tokens=80_000)))
    assert len(m["train"]["shards"]) >= 5
    weights = {"books": 0.5, "news": 0.3, "zh": 0.2}
    written = {n: [] for n in weights}
    for entry in m["train"]["shards"]:
        shard = Shard(d / "mixShare" / entry["file"])
        tokens = dict.fromkeys(weights, 0)
        runs = 0
        for i in range(len(shard)):
            tokens[shard.source(i)] += len(shard.document(i))
            written[shard.source(i)].append(shard.document(i).tobytes())
            runs += i > 0 and shard.source(i) != shard.source(i - 1)
        total = sum(tokens.values())
        for n, w in weights.items():
            assert abs(tokens[n] / total - w) < 0.02, (entry["file"], n, tokens[n] / total)
        assert runs > len(shard) / 4  # interleaved document by document, not in blocks
    tok_sha = m["tokenizer"]["tokenizer_sha256"]
    cfg = load_mixture_config(write_yaml(d, "mixShare", shard_tokens=80_000))
    for s in cfg.sources:
        folder = next((d / "mixShare" / "_state" / "encoded").glob(f"{s.name}-*"))
        src = EncodedSource(folder, s.name, tok_sha, cfg)
        plan = SourcePlan(s.name, s.weight, src.train_tokens, quota_tokens=m["sources"][s.name]["planned_tokens"])
        file_order = [t.tobytes() for _, _, t in _source_docs(src, plan)]
        assert sorted(file_order) == sorted(written[s.name]) and file_order != written[s.name]
    for n in weights:  # the validation text's bytes, for bits per byte: plausible tokens per byte
        v = m["sources"][n]["validation"]
        assert 0.05 < v["tokens"] / v["text_bytes"] < 1.0, (n, v)
    for entry in m["validation"]["shards"]:  # validation: one source per shard, named in the manifest
        shard = Shard(d / "mixShare" / entry["file"])
        assert {shard.source(i) for i in range(len(shard))} == {entry["source"]}


def test_curriculum_phases_shares_epochs_across_phases_and_the_loader(setup):
    """Two phases on real text: each phase's realised shares within 0.5% of its weights, the loader
    serving phase 0's samples before the boundary and phase 1's after, the same on 1 and 2 ranks."""
    from corpusmill.trainer.data import MixtureData

    d = setup
    phases = [{"until": 0.6, "weights": {"books": 0.7, "news": 0.3}},
              {"until": 1.0, "weights": {"news": 0.5, "zh": 0.5}}]
    y = write_yaml(d, "mixP", phases=phases, sources=[{"name": "books", "path": "books", "max_epochs": 1},
                                                      {"name": "news", "path": "news", "max_epochs": 8},
                                                      {"name": "zh", "path": "zh", "max_epochs": 2}])
    m = build_mixture(load_mixture_config(y))
    assert [p["until"] for p in m["phases"]] == [0.6, 1.0]
    for k, ph in enumerate(m["phases"]):
        assert set(ph["realised_shares"]) == set(phases[k]["weights"])
        for name, w in phases[k]["weights"].items():
            assert abs(ph["realised_shares"][name] - w) < 0.005, (k, name, ph["realised_shares"])
    # news is read on across phases (key order, epochs back to back): its total is both phases' quotas
    news_planned = sum(p["quota_tokens"] for ph in m["phases"] for p in ph["planned"] if p["name"] == "news")
    assert abs(m["sources"]["news"]["train"]["tokens"] - news_planned) <= 2 * 400  # whole documents at the seams
    data = MixtureData(d / "mixP", 128, seed=3)
    first_phase_tokens = {tuple(r) for r in _windows(data.train.samplers[0])}
    bound = int(data.train.bounds[1])
    before = data.train_batch(bound - 8, 8, 0, 1)
    assert all(tuple(r) in first_phase_tokens for r in before)
    after = data.train_batch(bound, 8, 0, 1)
    assert not any(tuple(r) in first_phase_tokens for r in after)
    straddle = data.train_batch(bound - 4, 8, 0, 1)  # a global batch across the boundary, on 1 and 2 ranks
    assert np.array_equal(straddle, np.concatenate([data.train_batch(bound - 4, 8, r, 2) for r in (0, 1)]))
    assert np.array_equal(straddle, MixtureData(d / "mixP", 128, seed=3).train_batch(bound - 4, 8, 0, 1))
    with pytest.raises(ConfigError, match="with `phases`, weights are given per phase"):
        load_mixture_config(write_yaml(d, "mixBad", phases=phases))
    from click.testing import CliRunner

    from corpusmill.cli import main

    r = CliRunner().invoke(main, ["mix", str(y), "--dry-run"])  # per-phase plans before anything is written
    assert r.exit_code == 0, r.output
    assert "phase 0 (until 0.6 of total_tokens):" in r.stdout and "phase 1 (until 1 of total_tokens):" in r.stdout
    assert r.stdout.count("asked 240,000") == 1 and r.stdout.count("asked 160,000") == 1


def _windows(sampler):
    return sampler.rows(np.arange(sampler.samples_per_epoch))
