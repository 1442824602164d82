"""BOS-aligned windows (`train.align: bos`): every training window starts at a document start, as in
the GPT-2 speedrun (modded-nanogpt), instead of wherever the stride of plain packing falls.

The layout, a pure function of the documents' starts (so of the mixture), computed once:
- a window is seq_len + 1 tokens from its start; when its first document is shorter, it reads on
  into the following documents (packing: no padding, nothing masked);
- a document longer than a window goes on in the next windows at stride seq_len (those
  continuation windows start inside it: nothing is dropped of a long document);
- the document that a window's end cuts is restarted, from its first token, in the next window.
  Its head is read twice (once as the end of a window, once as the start of the next), and that is
  the price of alignment: `repeated` counts those target tokens. modded-nanogpt drops the cut tail
  instead; here a dropped tail would be lost for good (the layout is fixed, so every epoch drops the
  same tokens), a long document would lose all but its first window, and sources with longer
  documents would lose more than their planned share. Re-reading a head loses nothing.
Nothing is dropped except what plain packing drops too: the end of the stream that does not fill a
window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    starts: np.ndarray  # each window's first token in the stream, ascending
    repeated: int  # target tokens that two windows share (heads of cut documents read again)
    trained: int  # target tokens over all windows (windows x seq_len)

    @property
    def repeated_share(self) -> float:
        return self.repeated / self.trained if self.trained else 0.0


def bos_layout(doc_starts: np.ndarray, total: int, seq_len: int) -> Layout:
    """Window starts over a stream of `total` tokens whose documents start at `doc_starts`."""
    b = np.unique(np.asarray(doc_starts, dtype=np.int64))  # empty documents share a start
    b = b[b < total]
    if len(b) == 0 or b[0] != 0:
        b = np.concatenate([[0], b])  # the stream's first token always starts a document
    L = seq_len
    ends = np.append(b[1:], total)
    inside = (ends - 1 - b) // L  # windows wholly inside document i (last target inside it too)
    cross = b + inside * L  # the window after those: its end crosses into a later document
    nxt = np.searchsorted(b, cross + L, side="right") - 1  # the document its last target falls in (> i)
    fits = cross + L + 1 <= total
    nxt[~fits] = len(b)  # the end of the stream: no window crosses it
    visited, i, nxt_l, n = [], 0, nxt.tolist(), len(b)
    while i < n:  # the chain of documents a window starts at; one step per crossing window
        visited.append(i)
        i = nxt_l[i]
    v = np.asarray(visited, dtype=np.int64)
    count = inside[v] + fits[v]  # per visited document: its inner windows, then the crossing one
    first = np.repeat(b[v], count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    starts = first + k * L
    crossing = v[fits[v]]
    j = nxt[crossing]  # the next window restarts at b[j], unless the stream ends before one fits there
    has_next = inside[j] + fits[j] > 0
    repeated = int((cross[crossing] + L - b[j])[has_next].sum())
    return Layout(starts, repeated, len(starts) * L)
