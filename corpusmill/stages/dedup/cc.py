"""Connected components by alternating large-star and small-star (Kiveris et al., "Connected
Components in MapReduce and Beyond", SoCC 2014), each step one shuffle of the edges by node,
each reducer a few vectorised numpy passes over its own partition. Nobody holds every edge.

Edges are undirected pairs of document numbers (gids). Two layouts travel between rounds:
"both": every edge {u, v} appears as (node=u, nbr=v) in u's partition and as (v, u) in v's
(what large-star reads); "down": only (node=hi, nbr=lo) in hi's partition (small-star reads).
At convergence the graph is a forest of stars, each centred on its component's smallest gid:
that gid labels the component, and it is the document kept (the first in input order).
"""
from __future__ import annotations

import numpy as np


def vpart(v: np.ndarray, partitions: int) -> np.ndarray:
    """The partition owning node v: a hash, so consecutive gids (one part's documents) spread."""
    x = v.astype(np.uint64)
    x = (x ^ (x >> np.uint64(33))) * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    return (x % np.uint64(partitions)).astype(np.int32)


def unique_pairs(node: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted by (node, nbr), repeats and self-loops dropped."""
    keep = node != nbr
    node, nbr = node[keep], nbr[keep]
    order = np.lexsort((nbr, node))
    node, nbr = node[order], nbr[order]
    if len(node):
        first = np.r_[True, (node[1:] != node[:-1]) | (nbr[1:] != nbr[:-1])]
        node, nbr = node[first], nbr[first]
    return node, nbr


def _groups(node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]]) if len(node) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(node)])
    return starts, sizes


def both(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, nbr) of the "both" layout for edges (hi, lo)."""
    return np.concatenate([hi, lo]), np.concatenate([lo, hi])


def large_star(node: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Input: this partition's "both" entries. Each node u links its larger neighbours to
    m(u) = min(u, neighbours). Returns edges (hi, lo) and how many nodes are not yet a star's
    centre or leaf (a leaf has exactly one neighbour, smaller; a centre only larger ones)."""
    node, nbr = unique_pairs(node, nbr)
    if not len(node):
        return node, nbr, 0
    starts, sizes = _groups(node)
    m = np.minimum(node[starts], np.minimum.reduceat(nbr, starts))
    m_each = np.repeat(m, sizes)
    larger = nbr > node
    n_smaller = np.add.reduceat((~larger).astype(np.int64), starts)
    n_larger = sizes - n_smaller
    bad = int(np.count_nonzero((n_smaller >= 2) | ((n_smaller >= 1) & (n_larger >= 1))))
    return nbr[larger], m_each[larger], bad


def small_star(node: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Input: this partition's "down" entries (every nbr < node). Each node u links itself and
    its smaller neighbours to the smallest of them. Returns edges (hi, lo)."""
    node, nbr = unique_pairs(node, nbr)
    if not len(node):
        return node, nbr
    starts, sizes = _groups(node)
    m = np.minimum.reduceat(nbr, starts)
    m_each = np.repeat(m, sizes)
    moved = nbr != m_each
    return np.concatenate([nbr[moved], node[starts]]), np.concatenate([m_each[moved], m])


def stars(node: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of a converged "both" partition: (leaves, their centres) and (centres, cluster sizes)."""
    node, nbr = unique_pairs(node, nbr)
    leaf = nbr < node
    starts, sizes = _groups(node)
    is_centre = ~np.logical_or.reduceat(leaf, starts) if len(node) else np.zeros(0, bool)
    return node[leaf], nbr[leaf], node[starts][is_centre], sizes[is_centre] + 1


def components_local(hi: np.ndarray, lo: np.ndarray, partitions: int = 3, max_rounds: int = 200) -> dict[int, int]:
    """The same rounds in one process (tests, benchmarks): {node: its component's min}."""
    node, nbr = both(hi, lo)
    for _ in range(max_rounds):
        out_hi, out_lo, bad_total = [], [], 0
        for q in range(partitions):
            sel = vpart(node, partitions) == q
            h, l, bad = large_star(node[sel], nbr[sel])
            out_hi.append(h)
            out_lo.append(l)
            bad_total += bad
        if bad_total == 0:
            break
        down_node, down_nbr = np.concatenate(out_hi), np.concatenate(out_lo)
        parts = [small_star(down_node[vpart(down_node, partitions) == q], down_nbr[vpart(down_node, partitions) == q])
                 for q in range(partitions)]
        node, nbr = both(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    else:
        raise RuntimeError("connected components did not converge")
    leaves, centres, c_nodes, _ = stars(node, nbr)
    labels = {int(v): int(c) for v, c in zip(leaves, centres)}
    labels.update({int(c): int(c) for c in c_nodes})
    return labels
