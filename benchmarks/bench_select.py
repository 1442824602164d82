"""`corpus select` against its peer, a full rebuild with the same thresholds, in one run:

1. exactness: for the quickstart demo dump and the real WARCs in ../shared/data, one annotate
   build, then for three threshold settings (looser, tighter, mixed) a direct `corpus build` and a
   `corpus select`; every file under documents/ and removed/ compared row by row (ids kept, ids
   removed with stage and reason, every column, the text) and the stats' counts;
2. speed: select over a larger annotate build of real English text (books, news, articles in
   ../shared/data, repeated under new ids to --mb megabytes), in seconds per GB of annotated
   Parquet, with and without its dedup phase, against the rebuild's seconds.

Prints one JSON object per line. Run alone: .venv/bin/python benchmarks/bench_select.py [--mb 40]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402
from benchmarks._common import REPO, emit, shared_data, skip  # noqa: E402

BENCH = "select"
PARTS = 4
STAGES = [{"extract": {}}, {"normalize": {}}, {"length": {"min_chars": 200, "min_words": 30}},
          {"langid": {"languages": None}}, {"quality": {}},
          {"sensitive": {"pii": "redact", "url_blocklist": True, "badwords": {"min_distinct": 3, "min_ratio": 0.005}}},
          {"dedup": {"exact": True, "url": True, "minhash": {"ngram": 5, "threshold": 0.8}}}]
SETTINGS = {
    "looser": {"length.min_chars": 50, "length.min_words": 10, "quality.gopher.min_doc_words": 20,
               "quality.c4.min_num_sentences": 2, "quality.fineweb.short_line_thr": 0.9},
    "tighter": {"length.min_chars": 1500, "quality.gopher.min_doc_words": 200, "langid.languages": ["en"],
                "sensitive.badwords.min_distinct": 1, "sensitive.badwords.min_ratio": None},
    "mixed": {"length.min_words": 10, "quality.c4.min_num_sentences": 8, "quality.fineweb.line_punct_thr": 0.3,
              "langid.languages": ["en", "de", "zh"], "langid.min_score": 0.8},
}


def config(path: Path, inputs: list[dict], output: Path, stages: list, mode: str = "build", sets: dict | None = None):
    import yaml

    stages = json.loads(json.dumps(stages))
    for key, value in (sets or {}).items():
        name, *keys = key.split(".")
        opts = next(s[name] for s in stages if name in s)
        for k in keys[:-1]:
            opts = opts.setdefault(k, {})
        opts[keys[-1]] = value
    path.write_text(yaml.safe_dump({"inputs": inputs, "output": str(output), "mode": mode, "stages": stages}))
    return path


def files(root: Path) -> dict[str, list[dict]]:
    import pyarrow.parquet as pq

    return {str(f.relative_to(root)): pq.read_table(f).to_pylist()
            for f in sorted(root.rglob("*.parquet")) if "_state" not in f.parts}


def decisions(rows_by_file: dict[str, list[dict]]) -> tuple[set, dict]:
    kept = {r["id"] for n, rows in rows_by_file.items() if n.startswith("documents/") for r in rows}
    removed = {r["id"]: (r["stage"], r["reason"]) for n, rows in rows_by_file.items() if n.startswith("removed/")
               for r in rows}
    return kept, removed


def exactness(name: str, inputs: list[dict], tmp: Path) -> None:
    from corpusmill.pipeline.config import load_build_config
    from corpusmill.pipeline.runner import run_build
    from corpusmill.pipeline.select import run_select

    t0 = time.perf_counter()
    run_build(load_build_config(config(tmp / f"{name}-a.yaml", inputs, tmp / f"{name}-annotated", STAGES, "annotate")))
    annotate_s = time.perf_counter() - t0
    for setting, sets in SETTINGS.items():
        t0 = time.perf_counter()
        run_build(load_build_config(config(tmp / f"{name}-{setting}.yaml", inputs, tmp / f"{name}-{setting}", STAGES,
                                           sets=sets)))
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = run_select(tmp / f"{name}-annotated", tmp / f"{name}-{setting}-selected", sets)
        select_s = time.perf_counter() - t0
        direct, selected = files(tmp / f"{name}-{setting}"), files(tmp / f"{name}-{setting}-selected")
        (k1, r1), (k2, r2) = decisions(direct), decisions(selected)
        emit({"bench": BENCH, "check": "exact", "data": name, "setting": setting, "documents_in":
              stats["totals"]["documents_in"], "kept": len(k1), "removed": len(r1),
              "same_kept": k1 == k2, "same_removed_and_reasons": r1 == r2,
              "same_files_rows_columns_text": direct == selected,
              "removed_by_stage": {s: sum(1 for v in r1.values() if v[0] == s) for s in sorted({v[0] for v in r1.values()})},
              "annotate_build_s": round(annotate_s, 1), "peer_build_s": round(build_s, 1),
              "select_s": round(select_s, 1), "ratio_build_over_select": round(build_s / select_s, 2)})


def speed(tmp: Path, mb: int) -> None:
    from corpusmill.pipeline.config import load_build_config
    from corpusmill.pipeline.runner import run_build
    from corpusmill.pipeline.select import run_select

    docs = [d for d in realdocs.english(seed=0) if len(d) > 200]
    rows, size, copy = [], 0, 0
    while size < mb * 1e6:
        for i, d in enumerate(docs):
            rows.append({"id": f"c{copy}-{i}", "text": d if copy == 0 else f"Copy {copy}.\n{d}\nEnd of copy {copy}."})
            size += len(d.encode())
        copy += 1
    for k in range(PARTS):  # several files, so select shares its parts among the workers as a build does
        with open(tmp / f"english-{k}.jsonl", "w") as f:
            for r in rows[k::PARTS]:
                f.write(json.dumps(r) + "\n")
    inputs = [{"name": "english", "path": str(tmp / "english-*.jsonl")}]
    stages = STAGES[1:]  # plain text: no extract
    t0 = time.perf_counter()
    run_build(load_build_config(config(tmp / "sp-a.yaml", inputs, tmp / "sp-annotated", stages, "annotate")))
    annotate_s = time.perf_counter() - t0
    sets = SETTINGS["mixed"]
    t0 = time.perf_counter()
    run_build(load_build_config(config(tmp / "sp-b.yaml", inputs, tmp / "sp-direct", stages, sets=sets)))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    stats = run_select(tmp / "sp-annotated", tmp / "sp-selected", sets)
    select_s = time.perf_counter() - t0
    gb = stats["select"]["annotated_bytes"] / 1e9
    same = decisions(files(tmp / "sp-direct")) == decisions(files(tmp / "sp-selected"))
    emit({"bench": BENCH, "check": "speed", "documents": len(rows), "parts": PARTS, "text_mb": round(size / 1e6, 1),
          "annotated_parquet_mb": round(gb * 1e3, 1), "annotate_build_s": round(annotate_s, 1),
          "peer_build_s": round(build_s, 1), "select_s": round(select_s, 1),
          "select_parts_s": stats["select"]["seconds_parts"],
          "select_s_per_gb": round(select_s / gb, 1), "select_parts_s_per_gb": round(stats["select"]["seconds_parts"] / gb, 1),
          "ratio_build_over_select": round(build_s / select_s, 2), "same_decisions": same})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=40, help="megabytes of text for the speed check")
    ap.add_argument("--only", choices=["exact", "speed"], default=None)
    args = ap.parse_args()
    data = shared_data()
    if not data.exists():
        skip(BENCH, f"{data} is absent (set CORPUSMILL_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if args.only in (None, "exact"):
            subprocess.run([sys.executable, str(REPO / "examples/quickstart/make_demo_dump.py"), str(tmp / "dump")],
                           check=True, capture_output=True)
            exactness("demo", [{"name": "web", "path": str(tmp / "dump/*.warc.gz")}], tmp)
            warcs = [{"name": n.replace("_", "-"), "path": str(data / "warc" / n / g)}
                     for n, g in (("cc_resiliparse", "*.warc.gz"), ("dolma_wget", "*.warc.gz"),
                                  ("ia_heritrix_aut", "*.warc.gz"))]
            exactness("real-warcs", warcs, tmp)
        if args.only in (None, "speed"):
            speed(tmp, args.mb)


if __name__ == "__main__":
    main()
