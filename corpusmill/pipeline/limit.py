"""`corpus build --limit N`: the first N records of each source, in file order, for quick tuning.

Which parts hold them is found before the build by reading (not processing) each source's parts in
order until N records are counted; each kept part then carries how many records it reads
(Part.limit), so workers stop there, in parallel, and the same N always gives the same documents.
"""
from __future__ import annotations

from dataclasses import replace
from itertools import islice

from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.parts import Part, reader_for


def limit_parts(cfg: BuildConfig, parts: list[Part]) -> list[Part]:
    specs = {s.name: s for s in cfg.inputs}
    out: list[Part] = []
    for name, spec in specs.items():
        left = cfg.limit
        for part in (p for p in parts if p.source == name):
            if left <= 0:
                break
            records = (r for r in reader_for(spec, part.format).read(part, spec) if isinstance(r, dict))
            n = sum(1 for _ in islice(records, left))
            if n:
                out.append(replace(part, limit=n))
                left -= n
    return out
