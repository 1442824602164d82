"""A few documents per removal reason and per language of the kept documents, so a reader of the
report sees what a reason means. The page's size grows with the number of reasons and languages,
never with the number of documents: PER_KEY documents each, texts cut at TEXT_CHARS.

One pass per folder over one small column (reason, or lang) in batches keeps a seeded reservoir of
PER_KEY row positions per key (a uniform sample, the same for the same output); only the picked
rows are then read whole (inspection.select.read_rows)."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from corpusmill.inspection.select import Reservoir, read_rows
from corpusmill.report.source import BuildOutput

PER_KEY = 3
TEXT_CHARS = 2000  # what the expanded sample shows; the summary line shows the first 160
MAX_LANGUAGES = 12  # the most frequent; the language chart has them all
BATCH_ROWS = 8192
SEED = 0


@dataclass
class Sample:
    id: str
    source: str | None
    url: str | None
    lang: str | None
    text: str  # cut at TEXT_CHARS
    chars: int  # of the whole text


@dataclass
class Group:
    label: str  # "quality: gopher_repetition.dup_line_frac" or "lang en"
    count: int  # documents in it (all of them, not only the samples)
    samples: list[Sample] = field(default_factory=list)


@dataclass
class Samples:
    reasons: list[Group]
    languages: list[Group]


def collect(build: BuildOutput) -> Samples:
    reasons = []
    for stage, files in build.removed.items():
        for value, (count, rows) in sorted(_sample(files, "reason").items(), key=lambda kv: -kv[1][0]):
            reasons.append(Group(f"{stage}: {value}", count, rows))
    langs = sorted(_sample(build.documents, "lang").items(), key=lambda kv: (-kv[1][0], str(kv[0])))
    languages = [Group(f"lang {value if value is not None else '(none)'}", count, rows)
                 for value, (count, rows) in langs[:MAX_LANGUAGES]]
    return Samples(reasons, languages)


def _sample(files: list[Path], column: str) -> dict:
    """{value: (documents, [Sample])} over the files, sampled per value."""
    rnd = random.Random(SEED)
    picked: dict = {}  # value -> Reservoir of (file, row group, row)
    counts: dict = {}
    for f in files:
        with pq.ParquetFile(f) as pf:
            if column not in pf.schema_arrow.names:
                continue
            for rg in range(pf.num_row_groups):
                offset = 0
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[rg], columns=[column]):
                    for i, value in enumerate(batch.column(0).to_pylist()):
                        counts[value] = counts.get(value, 0) + 1
                        if value not in picked:
                            picked[value] = Reservoir(PER_KEY, rnd)
                        picked[value].add((f, rg, offset + i))
                    offset += batch.num_rows
    out = {}
    for value, sample in picked.items():
        rows = read_rows(sample.items(), ["id", "source", "url", "lang", "text"])
        out[value] = (counts[value], [_to_sample(r) for r in rows])
    return out


def _to_sample(row: dict) -> Sample:
    text = row.get("text") or ""
    return Sample(str(row.get("id")), row.get("source"), row.get("url"), row.get("lang"), text[:TEXT_CHARS],
                  len(text))
