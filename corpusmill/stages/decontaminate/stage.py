"""The `decontaminate` stage: finds evaluation-set text in documents by hashed word n-grams.

Columns added to every row:
  decontaminate.ngrams    int32         the document's n-grams found in any reference set
  decontaminate.share     float32       those / all its n-grams (0 when it has fewer than n words)
  decontaminate.longest   int32         the longest run of words covered by found n-grams
  decontaminate.sets      list<string>  the sets found, most n-grams first
  decontaminate.redacted_chars int32    (mode redact) characters cut
Reasons: contaminated:SET (the set with most n-grams found). stats.json counts per set the
contaminated documents and their n-grams (counters contamination.*), and under `prepared` each
set's index: texts, n-grams, kind, bytes, false-positive rate.

The index is built once, in the driver (`prepare`), before the workers start: it is numpy arrays,
shipped once through Ray's object store and read in place by every worker."""
from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa

from corpusmill.common import artifact
from corpusmill.console import log
from corpusmill.pipeline.stage import Decision, Stage
from corpusmill.stages.decontaminate.index import BloomIndex, ExactIndex
from corpusmill.stages.decontaminate.ngrams import ngram_hashes, token_spans
from corpusmill.stages.decontaminate.options import DecontaminateOptions, ReferenceSet
from corpusmill.stages.decontaminate.references import files_of, read_texts


class Decontaminate(Stage):
    name = "decontaminate"
    Options = DecontaminateOptions

    def __init__(self, options=None):
        super().__init__(options)
        self.indexes: dict[str, ExactIndex | BloomIndex] | None = None
        self.prepared: dict | None = None

    def prepare(self) -> dict:
        if self.prepared is None:
            t0 = time.perf_counter()
            self.indexes, sets = {}, {}
            for ref in self.options.references:
                self.indexes[ref.name], sets[ref.name] = build_index(ref, self.options)
                sets[ref.name]["files"] = [{"path": os.path.abspath(f), "sha256": artifact.content_sha256(f)}
                                           for f in files_of(ref.path, ref.name)]
            self.prepared = {"ngram": self.options.ngram, "sets": sets,
                             "bytes": sum(i.nbytes for i in self.indexes.values()),
                             "seconds": round(time.perf_counter() - t0, 3)}
            log.info("decontaminate: index of %s (%.1f MB) in %.1f s", ", ".join(
                f"{k} {v['ngrams']:,} n-grams ({v['index']})" for k, v in sets.items()),
                self.prepared["bytes"] / 1e6, self.prepared["seconds"])
        return self.prepared

    def setup(self) -> None:
        self.prepare()  # a no-op where the driver prepared it

    def lineage(self, out_root: str, stage_stats: dict) -> list[dict]:
        """The reference files the index was built from, with their content hashes then."""
        sets = stage_stats.get("prepared", {}).get("sets", {})
        return [{"kind": "reference", "name": f"decontaminate.{name}", "path": f["path"], "sha256": f["sha256"]}
                for name, info in sets.items() for f in info.get("files", [])]

    def process(self, batch: pa.Table) -> Decision:
        o = self.options
        text = batch.column("text").combine_chunks()
        h, off, ntok = ngram_hashes(text, o.ngram)
        found = {name: idx.contains(h) for name, idx in self.indexes.items()}
        hit = np.logical_or.reduce(list(found.values())) if found else np.zeros(len(h), bool)
        per_doc = _per_doc(hit, off)
        per_set = {name: _per_doc(f, off) for name, f in found.items()}
        total = np.diff(off)
        n = batch.num_rows
        longest, sets, reasons = np.zeros(n, np.int32), [[] for _ in range(n)], [None] * n
        redacted, texts = np.zeros(n, np.int32), None
        counters: dict[str, dict[str, int]] = {"contamination.documents_by_set": {}, "contamination.ngrams_by_set": {}}
        for d in np.nonzero(per_doc)[0]:
            runs = _runs(np.nonzero(hit[off[d]:off[d + 1]])[0], o.ngram)
            longest[d] = max(b - a for a, b in runs)
            sets[d] = sorted((s for s in per_set if per_set[s][d]), key=lambda s: -per_set[s][d])
            if per_doc[d] < o.min_matches:
                continue
            for s in sets[d]:
                _bump(counters["contamination.documents_by_set"], s, 1)
                _bump(counters["contamination.ngrams_by_set"], s, int(per_set[s][d]))
            reason = f"contaminated:{sets[d][0]}"
            if o.mode == "remove":
                reasons[d] = reason
            elif o.mode == "redact":
                texts = texts if texts is not None else text.to_pylist()
                new = redact(texts[d], runs, int(ntok[d]), o.margin_chars)
                if new is None or not new.strip():  # nothing left, or the words could not be placed
                    reasons[d] = reason
                else:
                    redacted[d] = len(texts[d]) - len(new)
                    texts[d] = new
        share = np.where(total > 0, per_doc / np.maximum(total, 1), 0).astype(np.float32)
        table = batch
        if texts is not None:
            table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, text.type))
        table = (table.append_column("decontaminate.ngrams", pa.array(per_doc.astype(np.int32)))
                 .append_column("decontaminate.share", pa.array(share))
                 .append_column("decontaminate.longest", pa.array(longest))
                 .append_column("decontaminate.sets", pa.array(sets, pa.list_(pa.string()))))
        if o.mode == "redact":
            table = table.append_column("decontaminate.redacted_chars", pa.array(redacted))
        return Decision(table, reasons, {k: v for k, v in counters.items() if v})


def build_index(ref: ReferenceSet, o: DecontaminateOptions) -> tuple[ExactIndex | BloomIndex, dict]:
    """One pass hashing the set's n-grams; a second, into a Bloom filter sized by the first's count,
    when the set turns out larger than `bloom_above` (or `index: bloom`)."""
    texts = short = total = 0
    chunks: list[np.ndarray] = []
    bloom = o.index == "bloom"
    for batch in read_texts(ref.path, ref.keys(), ref.name):
        h, off, _ = ngram_hashes(batch, o.ngram)
        texts += len(batch)
        short += int(np.count_nonzero(np.diff(off) == 0))
        total += len(h)
        if not bloom:
            chunks.append(h)
            if o.index == "auto" and total > o.bloom_above:
                bloom, chunks = True, []
    if bloom:
        index = BloomIndex(total, o.false_positive_rate)
        for batch in read_texts(ref.path, ref.keys(), ref.name):
            index.add(ngram_hashes(batch, o.ngram)[0])
    else:
        index = ExactIndex(np.concatenate(chunks) if chunks else np.zeros(0, np.uint64))
    if texts == short:
        log.warning("decontaminate: set %s has no text of %d words or more (%d texts): it can match nothing; "
                    "check `path`/`text_key` or lower `ngram`", ref.name, o.ngram, texts)
    return index, {"texts": texts, "short_texts": short, "ngrams_in_texts": total, **index.describe()}


def _per_doc(mask: np.ndarray, off: np.ndarray) -> np.ndarray:
    c = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    return c[off[1:]] - c[off[:-1]]


def _bump(d: dict[str, int], key: str, n: int) -> None:
    d[key] = d.get(key, 0) + n


def _runs(starts: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Word intervals [a, b) covered by n-grams starting at `starts` (sorted), merged."""
    runs: list[tuple[int, int]] = []
    for s in starts.tolist():
        if runs and s <= runs[-1][1]:
            runs[-1] = (runs[-1][0], s + n)
        else:
            runs.append((s, s + n))
    return runs


def redact(text: str, runs: list[tuple[int, int]], tokens: int, margin: int) -> str | None:
    """The text without the words in `runs` and `margin` characters either side, the pieces left
    joined by a newline; None if the text's words do not line up with the normaliser's."""
    spans = token_spans(text)
    if len(spans) != tokens:
        return None
    cuts: list[list[int]] = []
    for a, b in runs:
        lo, hi = max(0, spans[a][0] - margin), min(len(text), spans[b - 1][1] + margin)
        if cuts and lo <= cuts[-1][1]:
            cuts[-1][1] = max(cuts[-1][1], hi)
        else:
            cuts.append([lo, hi])
    pieces, pos = [], 0
    for lo, hi in cuts:
        pieces.append(text[pos:lo])
        pos = hi
    pieces.append(text[pos:])
    return "\n".join(p.strip() for p in pieces if p.strip())
