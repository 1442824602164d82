"""The mixed train order's two parts on synthetic streams: the windowed shuffle is a seeded
permutation that keeps held documents as copies; the interleave keeps every prefix of the output
within a document of each source's share and meets every quota."""
import numpy as np

from corpusmill.mixtures.interleave import interleave, window_shuffle


def stream(name, lengths):
    for i, n in enumerate(lengths):
        yield name, 0, np.full(n, i, dtype=np.uint16)


def test_window_shuffle_is_a_seeded_permutation_of_copies():
    backing = np.arange(5000, dtype=np.uint16)
    docs = [("s", 0, backing[i * 10:(i + 1) * 10]) for i in range(500)]
    a = [t[0] for _, _, t in window_shuffle(iter(docs), 64, np.random.default_rng(7))]
    b = [t[0] for _, _, t in window_shuffle(iter(docs), 64, np.random.default_rng(7))]
    c = [t[0] for _, _, t in window_shuffle(iter(docs), 64, np.random.default_rng(8))]
    assert a == b != c and sorted(a) == [i * 10 for i in range(500)]
    assert a != sorted(a)
    held = next(window_shuffle(iter(docs), 64, np.random.default_rng(7)))[2]
    assert not np.shares_memory(held, backing)  # a copy: does not pin what it came from


def test_interleave_keeps_every_prefix_near_the_shares():
    rng = np.random.default_rng(0)
    lengths = {"web": rng.integers(50, 400, 3000), "books": rng.integers(500, 2000, 300), "code": rng.integers(1, 100, 4000)}
    quotas = {n: int(v.sum()) for n, v in lengths.items()}
    total = sum(quotas.values())
    out = list(interleave({n: stream(n, v) for n, v in lengths.items()}, quotas))
    assert {n: sum(len(t) for s, _, t in out if s == n) for n in lengths} == quotas
    written = dict.fromkeys(lengths, 0)
    done = 0
    for name, _, tokens in out:
        written[name] += len(tokens)
        done += len(tokens)
        for n in lengths:  # within one document of the source (plus one of another) of its pace
            assert abs(written[n] - done * quotas[n] / total) <= 2 * 2000, (n, done)
    # per stretch of 20k tokens (a "shard"): shares within 2000/20000 of exact; over 200k: within 2%
    for size, tol in ((20_000, 0.1), (200_000, 0.02)):
        shard, tokens = dict.fromkeys(lengths, 0), 0
        for name, _, t in out:
            shard[name] += len(t)
            tokens += len(t)
            if tokens >= size:
                assert all(abs(shard[n] / tokens - quotas[n] / total) < tol for n in lengths), (size, shard)
                shard, tokens = dict.fromkeys(lengths, 0), 0


def test_a_source_without_quota_is_left_out():
    out = list(interleave({"a": stream("a", [3, 3]), "b": stream("b", [5])}, {"a": 6, "b": 0}))
    assert [s for s, _, _ in out] == ["a", "a"]
