"""BOS-aligned windows (train.align: bos): each window starts at a document start, long documents go
on in the next windows, a cut document restarts in the next window; nothing dropped but the
stream's end; the sampler's rank split and epochs unchanged."""
import numpy as np
import pytest

from corpusmill.mixtures.align import bos_layout
from corpusmill.mixtures.sampler import PackedSampler, TokenStream
from test_mixtures_format import write_shard

BOS = 1


def test_layout_worked_examples():
    # documents of 5, 3, 10 tokens, windows of 4 (+1): the first window inside doc 0, the next goes on
    # in it and reads through doc 1 to doc 2's first token; doc 2 then starts its own windows
    lay = bos_layout(np.array([0, 5, 8]), 18, 4)
    assert lay.starts.tolist() == [0, 4, 8, 12] and lay.repeated == 0
    # 3, 6, 4: window 0 cuts doc 1 after 1 token (read again by window 3); window 7 cuts doc 2, but
    # no window fits from doc 2's start before the stream ends, so nothing of it is read twice
    lay = bos_layout(np.array([0, 3, 9]), 13, 4)
    assert lay.starts.tolist() == [0, 3, 7] and lay.repeated == 1 and lay.trained == 12
    assert lay.repeated_share == 1 / 12


def _docs(rng, n):
    """BOS-led documents, short (packed several to a window) and long (several windows each)."""
    lengths = np.where(rng.random(n) < 0.3, rng.integers(40, 120, n), rng.integers(2, 14, n))
    return [np.concatenate([[BOS], rng.integers(3, 8000, size=k - 1)]).astype(np.uint16) for k in lengths]


@pytest.mark.parametrize("seq_len", [8, 16, 33])
def test_windows_start_at_documents_and_every_token_is_trained(tmp_path, seq_len):
    rng = np.random.default_rng(seq_len)
    docs = _docs(rng, 120)
    stream = TokenStream([write_shard(tmp_path / "a.arrow", docs[:70]), write_shard(tmp_path / "b.arrow", docs[70:])])
    flat = np.concatenate(docs).astype(np.int64)
    starts = np.cumsum([len(d) for d in docs]) - [len(d) for d in docs]
    assert stream.doc_starts().tolist() == starts.tolist()
    s = PackedSampler(stream, seq_len, seed=5, align="bos")
    lay, n = s.layout, s.samples_per_epoch
    assert n == len(lay.starts) and lay.trained == n * seq_len
    long_docs = {int(b) for b, d in zip(starts, docs) if len(d) > seq_len}  # its first window fits inside it
    targets = np.zeros(len(flat), np.int64)  # how often each token is a target in one epoch
    for g in range(n):
        w = s.window(g)
        start = int(lay.starts[w])
        row = s.sample(g)
        assert np.array_equal(row, flat[start: start + seq_len + 1])
        inside_long = start not in set(starts.tolist()) and int(starts[starts <= start].max()) in long_docs
        assert row[0] == BOS or inside_long  # a document start, or the continuation of a long one
        targets[start + 1: start + seq_len + 1] += 1
    assert sorted(s.window(g) for g in range(n)) == list(range(n))  # an epoch visits each window once
    last = int(lay.starts[-1]) + seq_len
    assert (targets[1: last + 1] >= 1).all()  # nothing dropped before the stream's end ...
    assert len(flat) - 1 - last < seq_len + max(len(d) for d in docs)  # ... which only a window's worth
    assert int((targets - 1).clip(min=0).sum()) == lay.repeated > 0  # heads read twice, counted
    # world size 1 vs 2 at the same global batch, and a second sampler: the same samples
    again = PackedSampler(stream, seq_len, seed=5, align="bos")
    for c in range(0, 3 * n, 6):
        one = s.batch(c, 6)
        assert np.array_equal(one, np.concatenate([again.batch(c, 6, r, 2) for r in range(2)]))
    plain = PackedSampler(stream, seq_len, seed=5)
    assert plain.layout.repeated == 0 and plain.samples_per_epoch == (len(flat) - 1) // seq_len


def test_unknown_align_is_refused(tmp_path):
    stream = TokenStream([write_shard(tmp_path / "a.arrow", [np.arange(40, dtype=np.uint16)])])
    with pytest.raises(ValueError, match="'bos'"):
        PackedSampler(stream, 8, align="eos")
