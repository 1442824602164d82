"""`corpus build --limit N`: a deterministic sample of N records per source, spread over the source.

N is shared among the source's parts (files, or byte/row ranges of a large file) in proportion to
their bytes, by rounding the running total (so 3 records over 10 equal files come from the 2nd, 5th
and 9th, not the first three); each part gives the first records of its share. A part holding fewer
records than its share leaves the rest to the others, in order. Which records is found before the
build by reading (not processing) only those records; each kept part then carries how many records
it reads (Part.limit), so workers stop there, in parallel, and the same N always gives the same documents.
"""
from __future__ import annotations

from dataclasses import replace
from itertools import islice

from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.parts import Part, file_signature, reader_for


def spread(n: int, sizes: list[int]) -> list[int]:
    """n split over parts of these sizes, proportionally, by rounding the running total."""
    total = sum(sizes)
    weights = sizes if total > 0 else [1] * len(sizes)
    total = sum(weights)
    shares, cum, edge = [], 0, 0
    for w in weights:
        cum += w
        nxt = (2 * n * cum + total) // (2 * total)  # round(n * cum / total), halves up, exact in integers
        shares.append(nxt - edge)
        edge = nxt
    return shares


def limit_parts(cfg: BuildConfig, parts: list[Part]) -> list[Part]:
    specs = {s.name: s for s in cfg.inputs}
    out: list[Part] = []
    for name, spec in specs.items():
        mine = [p for p in parts if p.source == name]

        def count(part: Part, most: int) -> int:
            records = (r for r in reader_for(spec, part.format).read(part, spec) if isinstance(r, dict))
            return sum(1 for _ in islice(records, most)) if most > 0 else 0

        shares = spread(cfg.limit, [_part_bytes(p) for p in mine])
        taken = [count(p, s) for p, s in zip(mine, shares)]
        short = cfg.limit - sum(taken)
        for i, part in enumerate(mine):  # parts that ran short: the rest from those that may hold more
            if short <= 0:
                break
            if taken[i] == shares[i]:
                more = count(part, taken[i] + short)
                short -= more - taken[i]
                taken[i] = more
        out += [replace(p, limit=n) for p, n in zip(mine, taken) if n]
    return out


def _part_bytes(part: Part) -> int:
    """Bytes on disk of the part (its range, or the whole file). A Parquet range counts row groups,
    not bytes: its share of the file's size, by the groups' uncompressed bytes, so split and whole
    files weigh alike."""
    size = int(file_signature(part.path).get("size") or 0)
    if part.start == 0 and part.end is None:
        return size
    if part.format != "parquet":
        return (part.end if part.end is not None else size) - part.start
    import fsspec
    import pyarrow.parquet as pq

    with fsspec.open(part.path, "rb") as f:
        meta = pq.ParquetFile(f).metadata
    groups = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    return size * sum(groups[part.start: part.end]) // (sum(groups) or 1)
