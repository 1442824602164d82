"""The train split's document order: every source's documents shuffled within a window, and the
sources interleaved so that every stretch of the output (every shard) holds each source near its
share. Without it, shards went source by source (shard 0 all web, shard 1 wiki then books) and any
reader going in file order trained on blocks of one source.

Two parts, both deterministic and both with bounded memory:
- window_shuffle: a seeded shuffle buffer (tf.data's): `window` documents held per source, each
  output drawn at random from the buffer and replaced by the next input.
- interleave: the next document comes from the source furthest behind its quota (tokens written
  plus half of its next document, over tokens planned; lowest first, ties by the sources' order),
  so at any point every source is within about half a document of its share; a random pick would
  be off by several percent per shard of a few hundred documents.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np


def window_shuffle(docs: Iterable, window: int, rng: np.random.Generator) -> Iterator:
    """docs in a shuffled order; items are (name, epoch, tokens), and held tokens are copies (a view
    would pin the parquet row group it came from for as long as it waits)."""
    buf: list = []
    for name, epoch, tokens in docs:
        item = (name, epoch, np.array(tokens, copy=True))
        if len(buf) < window:
            buf.append(item)
            continue
        i = int(rng.integers(window))
        yield buf[i]
        buf[i] = item
    for i in rng.permutation(len(buf)):
        yield buf[i]


def interleave(streams: dict[str, Iterator], quotas: dict[str, int]) -> Iterator:
    """Items of every stream, each next one from the stream whose share would be furthest behind at
    the middle of its next document: (tokens written + half the next document) / quota, lowest first.
    The half document keeps a long one from overshooting its source's share (a whole one would)."""
    heads = {}
    for name, it in streams.items():
        if quotas.get(name, 0) > 0 and (item := next(it, None)) is not None:
            heads[name] = item
    written = dict.fromkeys(heads, 0)
    while heads:
        name = min(heads, key=lambda n: (written[n] + len(heads[n][2]) / 2) / quotas[n])
        item = heads[name]
        written[name] += len(item[2])
        yield item
        if (following := next(streams[name], None)) is None:
            del heads[name]
        else:
            heads[name] = following
