"""Cleaning chain, ours against datatrove's, on the same real documents in the same run:
language ID (lid.176, English kept at 0.65), Gopher repetition, Gopher quality, C4 (FineWeb's
setting), FineWeb rules, PII redaction.

  ours:      corpus build with stages langid, quality, sensitive (PII only), on Ray
  datatrove: LocalPipelineExecutor with LanguageFilter, GopherRepetitionFilter,
             GopherQualityFilter, C4QualityFilter(filter_no_terminal_punct=False),
             FineWebQualityFilter, PIIFormatter, JsonlWriter

Both with the same number of workers. Prints JSON lines: docs/s per core for each (wall clock,
start-up included, and ours also from its busy time), the ratio, and the share of documents on
which both make the same keep/drop decision. Also an in-process row (one core, no executor).
Run alone: .venv/bin/python benchmarks/bench_filters.py [N_DOCS] [WORKERS]
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402


def datatrove_chain(workers: int, in_dir: Path, out_dir: Path, log_dir: Path):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter, LanguageFilter)
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from corpusmill.stages.langid import default_model_path

    lang = LanguageFilter(languages=["en"])
    lang.model.MODEL_URL = default_model_path()  # instance attribute: travels to the workers; a local "download"
    return LocalPipelineExecutor(pipeline=[
        JsonlReader(str(in_dir), glob_pattern="*.jsonl"), lang, GopherRepetitionFilter(), GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(), PIIFormatter(),
        JsonlWriter(str(out_dir))], tasks=workers, workers=workers, logging_dir=str(log_dir))


OUR_STAGES = [{"langid": {"languages": ["en"], "min_score": 0.65}}, {"quality": {}},
              {"sensitive": {"pii": "redact", "url_blocklist": False, "badwords": False}}]


def ours(workers: int, in_dir: Path, out_dir: Path) -> dict:
    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.pipeline.runner import run_build

    cfg = BuildConfig.model_validate({"inputs": [{"name": "bench", "path": str(in_dir / "*.jsonl")}],
                                      "output": str(out_dir), "stages": OUR_STAGES})
    return run_build(cfg, fresh=True, num_cpus=workers)


def kept_ids_datatrove(out_dir: Path) -> set[str]:
    ids = set()
    for f in out_dir.glob("*.jsonl.gz"):
        ids |= {json.loads(ln)["id"] for ln in gzip.decompress(f.read_bytes()).decode().splitlines() if ln}
    return ids


def kept_ids_ours(out_dir: Path) -> set[str]:
    import pyarrow.dataset as ds

    return set(ds.dataset(str(out_dir / "documents"), format="parquet").to_table(columns=["id"]).column(0).to_pylist())


def in_process(docs: list[str]) -> dict:
    """One core, no executor: datatrove's filter objects per document against our stages per batch."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter, LanguageFilter)
    from datatrove.pipeline.formatters import PIIFormatter

    from corpusmill.pipeline.registry import build_stages
    from corpusmill.pipeline.schema import to_batch
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid import default_model_path

    lang = LanguageFilter(languages=["en"])
    lang.model._model = fasttext_model.load_model(default_model_path())
    chain = [lang, GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False),
             FineWebQualityFilter()]
    pii = PIIFormatter()
    t0 = time.perf_counter()
    for i, t in enumerate(docs):
        d = Document(text=t, id=str(i))
        if all((r := f.filter(d)) is True or (isinstance(r, tuple) and r[0]) for f in chain):
            pii.format(d.text)
    t_dt = time.perf_counter() - t0
    stages = build_stages(OUR_STAGES)
    for s in stages:
        s.setup()
    t0 = time.perf_counter()
    for i in range(0, len(docs), 256):
        rows = [{"id": str(j), "source": "b", "url": None, "text": t, "content": None, "content_type": None,
                 "http_status": None, "_removed": None} for j, t in enumerate(docs[i:i + 256], i)]
        for r in rows:
            r.pop("_removed")
        table = to_batch(rows)
        for s in stages:
            d = s.process(table)
            table = d.table.filter([r is None for r in d.reasons])
    t_ours = time.perf_counter() - t0
    return {"bench": "filters", "mode": "in_process_one_core", "docs": len(docs),
            "datatrove_docs_per_s": round(len(docs) / t_dt, 1), "ours_docs_per_s": round(len(docs) / t_ours, 1),
            "ratio": round(t_dt / t_ours, 2)}


def main() -> None:
    if not realdocs.available():
        print(json.dumps({"bench": "filters", "skipped": f"{realdocs.SHARED} is absent"}))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    docs = realdocs.many(n)
    mb = sum(len(t.encode()) for t in docs) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        for w in range(workers * 2):  # several files, so both engines spread the work
            with open(tmp / "in" / f"part{w}.jsonl", "w") as fh:
                for i in range(w, n, workers * 2):
                    fh.write(json.dumps({"id": f"d{i}", "text": docs[i]}) + "\n")
        t0 = time.perf_counter()
        datatrove_chain(workers, tmp / "in", tmp / "dt_out", tmp / "dt_logs").run()
        t_dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = ours(workers, tmp / "in", tmp / "ours_out")
        t_ours = time.perf_counter() - t0
        kept_dt, kept_ours = kept_ids_datatrove(tmp / "dt_out"), kept_ids_ours(tmp / "ours_out")
    ids = [f"d{i}" for i in range(n)]
    same = sum((i in kept_dt) == (i in kept_ours) for i in ids)
    busy = stats["cpu_seconds_in_parts"]
    print(json.dumps({
        "bench": "filters", "mode": "executors", "docs": n, "mb": round(mb, 1), "workers": workers,
        "datatrove_docs_per_s_per_core": round(n / t_dt / workers, 1),
        "ours_docs_per_s_per_core": round(n / t_ours / workers, 1),
        "ratio_wall": round(t_dt / t_ours, 2),
        "ours_docs_per_s_per_core_busy": round(n / busy, 1),
        "ratio_busy": round((t_dt * workers) / busy, 2),
        "kept_datatrove": len(kept_dt), "kept_ours": len(kept_ours),
        "same_decision_share": round(same / n, 4), "ours_wall_s": round(t_ours, 1), "datatrove_wall_s": round(t_dt, 1)}))
    print(json.dumps(in_process(docs[: min(n, 1000)])))


if __name__ == "__main__":
    main()
