"""`corpus build --dry-run`: what a build would read and do, and about how long it would take,
without writing anything.

The estimate runs the per-document stages here, in one process, on the first SAMPLE_RECORDS
records of each source, and scales by bytes: a source's uncompressed size (its files' sizes times
the compression ratio measured on the first MB of each compressed file) over the sampled records'
raw bytes (HTML or text) gives its number of records. Record overhead (WARC headers, request and
metadata records) is counted as documents, so the estimate leans high; global stages (dedup) and
Ray's start are not included, and the result is divided by the CPUs the build would use.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import time
from itertools import islice

import fsspec

from corpusmill.pipeline.accounting import text_bytes
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.output import Output
from corpusmill.pipeline.parts import file_size, reader_for
from corpusmill.pipeline.schema import to_batch
from corpusmill.pipeline.stage import GlobalStage

SAMPLE_RECORDS = 200
RATIO_BYTES = 1 << 20  # compressed bytes read to measure a file's compression ratio


def plan(cfg: BuildConfig, num_cpus: int | None = None, sample_records: int = SAMPLE_RECORDS) -> dict:
    from corpusmill.pipeline.runner import check_config

    parts, stage_order, stages = check_config(cfg)
    specs = {s.name: s for s in cfg.inputs}
    local = [s for s in stages if not isinstance(s, GlobalStage)]
    for s in local:
        s.ensure_setup()
    cpus = num_cpus or cfg.ray.num_cpus or os.cpu_count() or 1
    done = set(Output(cfg.output).finished_parts())
    sources, total_seconds = {}, 0.0
    for name in specs:
        mine = [p for p in parts if p.source == name]
        files = sorted({p.path for p in mine})
        size = sum(file_size(f) for f in files)
        raw_size = sum(file_size(f) * compression_ratio(f) for f in files)
        sample = _sample(mine, specs[name], local, sample_records)
        records = raw_size / sample["bytes_per_record"] if sample["bytes_per_record"] else 0
        seconds = records * sample["seconds_per_record"]
        total_seconds += seconds
        sources[name] = {"files": len(files), "parts": len(mine), "parts_done": sum(p.part_id in done for p in mine),
                         "formats": sorted({p.format for p in mine}), "bytes": size,
                         "bytes_uncompressed_estimated": int(raw_size), "records_estimated": int(records),
                         "sample": sample, "seconds_one_cpu_estimated": round(seconds, 1)}
    return {"output": cfg.output, "limit": cfg.limit, "stages": stage_order, "cpus": cpus, "sources": sources,
            "parts": len(parts), "parts_done": sum(p.part_id in done for p in parts),
            "seconds_estimated": round(total_seconds / cpus, 1),
            "not_estimated": [s.name for s in stages if isinstance(s, GlobalStage)] + ["ray start-up"]}


def _sample(parts, spec, stages, n: int) -> dict:
    """Reads the first n records of the source (in part order) and runs them through the
    per-document stages; both are timed, as a worker does both."""
    t0 = time.perf_counter()
    records = []
    for part in parts:
        items = reader_for(spec, part.format).read(part, spec)
        records += islice((r for r in items if isinstance(r, dict)), n - len(records))
        if len(records) >= n:
            break
    if not records:
        return {"records": 0, "kept": 0, "bytes_per_record": 0, "seconds_per_record": 0.0}
    reasons = [r.pop("_removed") for r in records]
    table = to_batch(records)
    nbytes = sum(text_bytes(table).to_pylist())
    table = table.filter([r is None for r in reasons])
    for stage in stages:
        if table.num_rows == 0:
            break
        decision = stage.process(table)
        table = decision.table.filter([r is None for r in decision.reasons])
    seconds = time.perf_counter() - t0
    return {"records": len(records), "kept": table.num_rows, "bytes_per_record": round(nbytes / len(records)),
            "seconds_per_record": seconds / len(records)}  # a part also writes Parquet: not timed here


class _Counting:
    """A read-only file that counts the bytes read through it."""

    def __init__(self, f):
        self.f, self.n = f, 0

    def read(self, size: int = -1) -> bytes:
        b = self.f.read(size)
        self.n += len(b)
        return b

    def readinto(self, buf) -> int:
        b = self.read(len(buf))
        buf[:len(b)] = b
        return len(b)

    def readable(self) -> bool:
        return True


def compression_ratio(path: str) -> float:
    """Uncompressed over compressed bytes, measured on the first RATIO_BYTES of the file; 1 when
    the name says it is not compressed."""
    low = path.lower()
    opener = {".gz": lambda f: gzip.GzipFile(fileobj=f), ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}
    kind = next((s for s in (".gz", ".bz2", ".xz", ".zst", ".zstd") if low.endswith(s)), None)
    if kind is None:
        return 1.0
    with fsspec.open(path, "rb").open() as raw:
        counted = _Counting(raw)
        if kind in (".zst", ".zstd"):
            import zstandard

            stream = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(counted, read_across_frames=True)
        else:
            stream = opener[kind](counted)
        out = 0
        try:
            while counted.n < RATIO_BYTES:
                chunk = stream.read(1 << 16)
                if not chunk:
                    break
                out += len(chunk)
        except (EOFError, OSError, ValueError, lzma.LZMAError):
            pass  # a damaged file: the build will say so; the ratio so far is still a ratio
    return out / counted.n if counted.n else 1.0


def format_plan(p: dict) -> str:
    lines = [f"output   {p['output']}" + (f"  (--limit {p['limit']}: the first {p['limit']:,} records of each "
                                             "source)" if p["limit"] else ""),
             f"stages   {' -> '.join(p['stages'])}",
             f"parts    {p['parts']:,} ({p['parts_done']:,} finished earlier, skipped on resume)"]
    for name, s in p["sources"].items():
        smp = s["sample"]
        lines.append(f"input    {name}: {s['files']:,} file(s), {s['parts']:,} part(s), {', '.join(s['formats'])}, "
                     f"{_mb(s['bytes'])} on disk, ~{_mb(s['bytes_uncompressed_estimated'])} uncompressed, "
                     f"~{s['records_estimated']:,} records")
        if smp["records"]:
            lines.append(f"         sample: {smp['records']} records here, {smp['kept']} kept by the per-document "
                         f"stages, {1000 * smp['seconds_per_record']:.1f} ms a record on one CPU")
    lines.append(f"estimate ~{_duration(p['seconds_estimated'])} on {p['cpus']} CPU(s) for the per-document stages "
                 f"(not included: {', '.join(p['not_estimated'])})")
    return "\n".join(lines)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"
