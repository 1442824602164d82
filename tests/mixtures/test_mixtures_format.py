"""Token shards (Arrow IPC, memory-mapped) and the packed, shuffled, rank-sharded sampler."""
import numpy as np
import pyarrow as pa
import pytest

from corpusmill.mixtures.permutation import permute
from corpusmill.mixtures.sampler import PackedSampler, TokenStream
from corpusmill.mixtures.shards import Shard, ShardMeta, ShardWriter

META = ShardMeta(vocab_size=8000, bos_id=1, eos_id=2, tokenizer_sha256="ab" * 32)


def write_shard(path, docs, sources=None, meta=META, batch=3):
    w = ShardWriter(path, meta)
    sources = sources or ["web"] * len(docs)
    for i in range(0, len(docs), batch):
        w.write(docs[i:i + batch], sources[i:i + batch])
    w.close()
    return path


@pytest.mark.parametrize("n", [1, 2, 3, 10, 97, 1000, 4097])
def test_permutation_is_a_bijection_and_pure(n):
    out = permute(np.arange(n), n, seed=7, epoch=0)
    assert sorted(out.tolist()) == list(range(n))
    assert permute(n - 1, n, seed=7) == out[-1]  # one index alone: the same answer
    if n >= 97:
        assert out.tolist() != list(range(n))
        assert permute(np.arange(n), n, seed=7, epoch=1).tolist() != out.tolist()
        assert permute(np.arange(n), n, seed=8, epoch=0).tolist() != out.tolist()


def test_shard_roundtrip_zero_copy_and_plain_pyarrow(tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 8000, size=rng.integers(1, 50)).astype(np.uint16) for _ in range(20)]
    sources = ["web" if i % 3 else "books" for i in range(20)]
    p = write_shard(tmp_path / "s.arrow", docs, sources)
    s = Shard(p)
    assert len(s) == 20 and s.num_tokens == sum(map(len, docs)) and s.meta == META
    for i in (0, 5, 19):
        assert np.array_equal(s.document(i), docs[i]) and s.document(i).dtype == np.uint16
        assert s.source(i) == sources[i]
    assert not s.document(7).flags.owndata  # a view into the memory map
    with pa.ipc.open_file(str(p)) as r:  # plain pyarrow, no corpusmill
        t = r.read_all()
    assert t.schema.field("tokens").type == pa.large_list(pa.uint16())
    assert t.schema.metadata[b"corpusmill.tokenizer_sha256"] == META.tokenizer_sha256.encode()
    assert t.column("tokens")[3].as_py() == docs[3].tolist()
    big = ShardMeta(vocab_size=100_000, bos_id=1, eos_id=2, tokenizer_sha256="cd" * 32)
    s32 = Shard(write_shard(tmp_path / "b.arrow", [np.array([70_000, 3])], meta=big))
    assert s32.document(0).dtype == np.uint32 and s32.document(0).tolist() == [70_000, 3]


def test_same_bytes_for_same_input(tmp_path):
    docs = [np.arange(i, i + 10, dtype=np.uint16) for i in range(30)]
    a = write_shard(tmp_path / "a.arrow", docs).read_bytes()
    b = write_shard(tmp_path / "b.arrow", docs).read_bytes()
    assert a == b


def test_packing_across_documents_and_world_sizes(tmp_path):
    docs = [np.arange(i * 100, i * 100 + 37, dtype=np.uint16) for i in range(12)]
    p1 = write_shard(tmp_path / "1.arrow", docs[:7])
    p2 = write_shard(tmp_path / "2.arrow", docs[7:])
    stream = TokenStream([p1, p2])
    flat = np.concatenate(docs).astype(np.int64)
    assert stream.total == len(flat) and np.array_equal(stream.slice(30, 80), flat[30:80])
    sampler = PackedSampler(stream, seq_len=16, seed=3)
    n = sampler.samples_per_epoch
    assert n == (len(flat) - 1) // 16
    windows = sorted(sampler.window(g) for g in range(n))
    assert windows == list(range(n))  # one epoch visits every window once
    s = sampler.sample(5)
    w = sampler.window(5)
    assert np.array_equal(s, flat[w * 16: w * 16 + 17])
    # world size 1 vs 2 at the same global batch: the same global sequence of samples
    one = [sampler.batch(c, 4) for c in range(0, 24, 4)]
    two = [np.concatenate([sampler.batch(c, 4, r, 2) for r in range(2)]) for c in range(0, 24, 4)]
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    # the next epoch is another order
    assert [sampler.window(g) for g in range(n, 2 * n)] != [sampler.window(g) for g in range(n)]
    with pytest.raises(ValueError):
        sampler.batch(0, 5, 0, 2)


def test_shards_with_another_tokenizer_are_refused(tmp_path):
    other = ShardMeta(vocab_size=8000, bos_id=1, eos_id=2, tokenizer_sha256="ef" * 32)
    a = write_shard(tmp_path / "a.arrow", [np.arange(10, dtype=np.uint16)])
    b = write_shard(tmp_path / "b.arrow", [np.arange(10, dtype=np.uint16)], meta=other)
    with pytest.raises(ValueError, match="disagree"):
        TokenStream([a, b])


def test_shards_open_in_hf_datasets_as_they_are(tmp_path, monkeypatch):
    """HF datasets reads Arrow IPC files through its `arrow` loader (Dataset.from_file wants its
    own stream-format cache files, so that is not the door)."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    docs = [np.arange(i, i + 7, dtype=np.uint16) for i in range(5)]
    p = write_shard(tmp_path / "train-00000.arrow", docs, ["web", "books", "web", "web", "books"])
    ds = datasets.load_dataset("arrow", data_files=str(p), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == 5 and ds[2]["tokens"] == docs[2].tolist() and ds[1]["source"] == "books"


def test_one_dictionary_per_shard_many_batches_three_sources(tmp_path):
    """An Arrow IPC file allows one dictionary per field: batches whose sources differ used to
    crash the writer ('Dictionary replacement detected') past 1,024 documents per shard."""
    rng = np.random.default_rng(1)
    names = ("web", "wiki", "books")
    meta = ShardMeta(8000, 1, 2, "ab" * 32, sources=names)
    docs = [rng.integers(0, 8000, size=rng.integers(1, 30)).astype(np.uint16) for _ in range(5000)]
    # runs of one source longer than a batch: consecutive batches carry different name sets
    sources = [names[(i // 1500) % 3] for i in range(5000)]
    p = write_shard(tmp_path / "mixed.arrow", docs, sources, meta=meta, batch=1024)
    s = Shard(p)
    assert len(s) == 5000 and s.meta.sources == names
    assert [s.source(i) for i in range(0, 5000, 499)] == [sources[i] for i in range(0, 5000, 499)]
    with pa.ipc.open_file(str(p)) as r:
        t = r.read_all()
    assert t.column("source").combine_chunks().dictionary.to_pylist() == list(names)
    assert {n: t.column("source").to_pylist().count(n) for n in names} == {n: sources.count(n) for n in names}
    with pytest.raises(ValueError, match="not among the shard's sources"):
        write_shard(tmp_path / "bad.arrow", docs[:2], ["web", "news"], meta=meta)
