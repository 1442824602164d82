"""`corpus export-tokens`: each format read back by its reader gives the mixture's documents,
document for document. Megatron by megatron-core's own IndexedDataset; nanoGPT as its train.py
memmaps train.bin; MDS by a reader written from the format's spec (mosaicml-streaming 0.13.0 would
replace this environment's torch and numpy, so it is not installed: see docs/token-formats.md)."""
import json
import pickle
import struct

import numpy as np
import pytest

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.mixtures.export_tokens import export_tokens
from corpusmill.mixtures.shards import Shard, ShardMeta, ShardWriter

SOURCES = ("web", "wiki", "books")


def write_mixture(folder, vocab=1000, seed=0, shards=((300, 400), (250,)), val=(60,)):
    """Shards of random documents (BOS .. EOS, lengths 1..300) from three sources; a finished artifact."""
    rng = np.random.default_rng(seed)
    dtype = np.uint16 if vocab < 65_536 else np.uint32
    meta = ShardMeta(vocab, 1, 2, "cd" * 32, SOURCES)
    manifest = {"format": "corpusmill-mixture/1", "seq_len": 64, "seed": 0, "sources": {s: {} for s in SOURCES}}
    folder.mkdir(parents=True)
    for split, layout in (("train", shards), ("validation", (val,))):
        files = []
        for k, batches in enumerate(layout):
            w = ShardWriter(folder / f"{split}-{k:05d}.arrow", meta)
            for n in batches:  # several record batches per shard
                docs = [np.concatenate([[1], rng.integers(3, vocab, rng.integers(0, 299)), [2]]).astype(dtype)
                        for _ in range(n)]
                w.write(docs, [SOURCES[i] for i in rng.integers(0, 3, n)])
            w.close()
            files.append({"file": w.path.name, "documents": w.documents, "tokens": w.tokens})
        manifest[split] = {"shards": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    artifact.write(folder, "mixture", config={}, fingerprint=artifact.sha256_json(manifest))
    return folder


def documents(folder, split):
    m = json.loads((folder / "manifest.json").read_text())
    return [(s.source(i), s.document(i)) for f in m[split]["shards"] for s in [Shard(folder / f["file"])]
            for i in range(len(s))]


def read_mds(folder):
    """(source, tokens) per sample, from MDS's spec: index.json, then per shard a uint32 count, uint32
    offsets, and per sample a uint32 size per variable column followed by the columns' bytes."""
    index = json.loads((folder / "index.json").read_text())
    assert index["version"] == 2
    out = []
    for shard in index["shards"]:
        assert shard["format"] == "mds" and shard["compression"] is None and shard["zip_data"] is None
        data = (folder / shard["raw_data"]["basename"]).read_bytes()
        assert len(data) == shard["raw_data"]["bytes"]
        n = struct.unpack_from("<I", data)[0]
        assert n == shard["samples"]
        offsets = np.frombuffer(data, np.uint32, n + 1, 4)
        names, encodings, sizes = shard["column_names"], shard["column_encodings"], shard["column_sizes"]
        for i in range(n):
            sample = data[offsets[i]: offsets[i + 1]]
            var = [c for c, s in enumerate(sizes) if s is None]
            lens = dict(zip(var, np.frombuffer(sample, np.uint32, len(var))))
            pos, row = 4 * len(var), {}
            for c, (name, enc) in enumerate(zip(names, encodings)):
                raw = sample[pos: pos + (lens[c] if c in lens else sizes[c])]
                pos += len(raw)
                row[name] = raw.decode() if enc == "str" else decode_ndarray(enc, raw)
            out.append((row["source"], row["tokens"]))
    return out


def decode_ndarray(enc, raw):
    """`ndarray:DTYPE` (static dtype, dynamic shape): one byte ndim << 2 | shape-dtype code, the shape, the values."""
    dtype = np.dtype(enc.split(":")[1])
    ndim, code = raw[0] >> 2, raw[0] & 3
    shape_dtype = (np.uint8, np.uint16, np.uint32, np.uint64)[code]
    shape = np.frombuffer(raw, shape_dtype, ndim, 1)
    return np.frombuffer(raw, dtype, offset=1 + ndim * np.dtype(shape_dtype).itemsize).reshape(shape)


@pytest.fixture
def mix(tmp_path):
    return write_mixture(tmp_path / "mix")


def test_megatron_export_opens_in_megatron_core(mix, tmp_path):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    info = export_tokens(mix, "megatron", tmp_path / "meg")
    for split, name in (("train", "train"), ("validation", "val")):
        want = documents(mix, split)
        ds = indexed.IndexedDataset(str(tmp_path / "meg" / name))
        assert len(ds) == len(want) and ds.index.dtype == np.uint16
        assert list(ds.document_indices) == list(range(len(want) + 1))  # one sequence per document
        for i, (_, doc) in enumerate(want):
            assert np.array_equal(ds[i], doc), (split, i)
        assert info["splits"][name]["documents"] == len(want)
    assert info["dtype"] == "uint16" and info["eos_id"] == 2
    assert artifact.require(tmp_path / "meg", "token-export", "test")["inputs"][0]["fingerprint"] == \
        artifact.read(mix)["fingerprint"]


def test_nanogpt_export_reads_as_train_py_memmaps_it(mix, tmp_path):
    export_tokens(mix, "nanogpt", tmp_path / "nano")
    meta = pickle.loads((tmp_path / "nano" / "meta.pkl").read_bytes())
    assert meta["vocab_size"] == 1000
    for split, name in (("train", "train"), ("validation", "val")):
        data = np.memmap(tmp_path / "nano" / f"{name}.bin", dtype=np.uint16, mode="r")  # as train.py does
        want = documents(mix, split)
        assert np.array_equal(data, np.concatenate([d for _, d in want]))
        # the documents come back one by one between their BOS/EOS
        bounds = np.flatnonzero(data == 1)
        assert len(bounds) == len(want)
        assert all(np.array_equal(data[a:b], d) for (a, b), (_, d) in
                   zip(zip(bounds, [*bounds[1:], len(data)]), want))


def test_mds_export_document_for_document_with_sources(mix, tmp_path):
    info = export_tokens(mix, "mds", tmp_path / "mds", mds_shard_bytes=20_000)  # small: many shards
    for split, name in (("train", "train"), ("validation", "val")):
        got, want = read_mds(tmp_path / "mds" / name), documents(mix, split)
        assert len(got) == len(want)
        for (gs, gd), (ws, wd) in zip(got, want):
            assert gs == ws and gd.dtype == np.uint16 and np.array_equal(gd, wd)
    index = json.loads((tmp_path / "mds" / "train" / "index.json").read_text())
    assert len(index["shards"]) > 5 and all(s["raw_data"]["bytes"] <= 20_000 for s in index["shards"])
    assert info["splits"]["train"]["skipped_empty"] == 0


def test_large_vocabulary_dtypes(tmp_path):
    mix = write_mixture(tmp_path / "big", vocab=70_000, shards=((50,),), val=(10,))
    want = documents(mix, "train")
    export_tokens(mix, "nanogpt", tmp_path / "nano")
    assert np.array_equal(np.memmap(tmp_path / "nano" / "train.bin", dtype=np.uint32, mode="r"),
                          np.concatenate([d for _, d in want]))
    assert max(int(d.max()) for _, d in want) >= 65_536  # the test does exercise ids past uint16
    export_tokens(mix, "mds", tmp_path / "mds")
    got = read_mds(tmp_path / "mds" / "train")
    assert all(np.array_equal(g, w) and g.dtype == np.uint32 for (_, g), (_, w) in zip(got, want))
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    export_tokens(mix, "megatron", tmp_path / "meg")
    ds = indexed.IndexedDataset(str(tmp_path / "meg" / "train"))
    assert ds.index.dtype == np.int32 and all(np.array_equal(ds[i], d) for i, (_, d) in enumerate(want))


def test_unfinished_mixture_and_bad_output_are_refused(mix, tmp_path):
    artifact.write(mix, "mixture", config={}, fingerprint="x", status=artifact.INCOMPLETE)
    with pytest.raises(ConfigError, match="unfinished mixture"):
        export_tokens(mix, "nanogpt", tmp_path / "out")
    artifact.write(mix, "mixture", config={}, fingerprint="x")
    with pytest.raises(ConfigError, match="inside the mixture"):
        export_tokens(mix, "nanogpt", mix / "export")
    with pytest.raises(ConfigError, match="choose one of"):
        export_tokens(mix, "parquet", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # another command's output, another format's export, a user's files: refused, left as they are
    export_tokens(mix, "megatron", tmp_path / "meg")
    export_tokens(mix, "megatron", tmp_path / "meg")  # the same format again: replaced
    with pytest.raises(ConfigError, match="holds a megatron token export"):
        export_tokens(mix, "nanogpt", tmp_path / "meg")
    with pytest.raises(ConfigError, match="holds a mixture"):
        export_tokens(write_mixture(tmp_path / "mix2"), "nanogpt", mix)  # -o at another mixture
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="notes.txt"):
        export_tokens(mix, "mds", tmp_path / "mine")
    assert artifact.read(mix)["kind"] == "mixture" and (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_cli_export_tokens(mix, tmp_path):
    from click.testing import CliRunner

    from corpusmill.cli import main

    r = CliRunner().invoke(main, ["export-tokens", str(mix), "--format", "nanogpt", "-o", str(tmp_path / "n")])
    assert r.exit_code == 0, r.output
    assert "train documents" in r.output and (tmp_path / "n" / "val.bin").is_file()
    r = CliRunner().invoke(main, ["export-tokens", str(tmp_path / "nothing"), "--format", "mds", "-o", str(tmp_path / "m")])
    assert r.exit_code != 0 and "does not exist" in r.output and "Traceback" not in r.output


def test_megatron_gpt_dataset_trains_on_the_export(mix, tmp_path):
    """Megatron's GPTDataset (through BlendedMegatronDatasetBuilder, as pretrain_gpt.py builds it)
    opens the export; every sample is documents of ours cut at their EOS: a suffix of one, whole
    ones, a prefix of the last, or a stretch of one (Megatron shuffles the document order itself)."""
    import types
    import warnings

    pytest.importorskip("megatron.core.datasets.gpt_dataset")
    from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder
    from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig

    export_tokens(mix, "megatron", tmp_path / "meg")
    tok = types.SimpleNamespace(vocab_size=1000, eod=2, pad=0, unique_identifiers={"class": "corpusmill-test"})
    cfg = GPTDatasetConfig(random_seed=0, sequence_length=64, tokenizer=tok, reset_position_ids=False,
                           reset_attention_mask=False, eod_mask_loss=False, path_to_cache=str(tmp_path / "cache"),
                           blend_per_split=[([str(tmp_path / "meg" / "train")], None),
                                            ([str(tmp_path / "meg" / "val")], None), None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, val, _ = BlendedMegatronDatasetBuilder(GPTDataset, [200, 20, None], lambda: True, cfg).build()
    docs = [d.tobytes() for _, d in documents(mix, "train")]
    whole, crossing = set(docs), 0
    for i in range(0, len(train), max(1, len(train) // 40)):
        s = train[i]
        window = np.concatenate([s["tokens"].numpy(), s["labels"].numpy()[-1:]]).astype(np.uint16)
        cuts = np.flatnonzero(window == 2) + 1
        pieces = [p.tobytes() for p in np.split(window, cuts) if len(p)]
        if len(pieces) == 1:  # inside one document
            assert any(pieces[0] in d for d in docs), i
            continue
        assert any(d.endswith(pieces[0]) for d in docs), i
        assert all(p in whole for p in pieces[1:-1]), i
        assert any(d.startswith(pieces[-1]) for d in docs), i
        crossing += 1
    assert crossing >= 5 and len(val) > 0  # windows across document boundaries were checked too


def test_mds_export_in_the_real_streaming_library(mix, tmp_path):
    """Where mosaicml-streaming imports (not in this environment: see the module docstring)."""
    streaming = pytest.importorskip("streaming")
    export_tokens(mix, "mds", tmp_path / "mds", mds_shard_bytes=20_000)
    for split, name in (("train", "train"), ("validation", "val")):
        ds = streaming.StreamingDataset(local=str(tmp_path / "mds"), split=name, shuffle=False, batch_size=1)
        want = documents(mix, split)
        assert ds.num_samples == len(want)
        for i, (source, tokens) in enumerate(want):
            assert ds[i]["source"] == source and np.array_equal(ds[i]["tokens"], tokens)
        streaming.base.util.clean_stale_shared_memory()
