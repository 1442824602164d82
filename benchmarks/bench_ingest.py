"""WARC to text, docs/s per core: our real `corpus build` path (run_build on Ray, extract stage,
Parquet output) against datatrove's LocalPipelineExecutor [WarcReader, Trafilatura(), JsonlWriter],
in the same run, on the same files, with the same number of workers N (default 2; env
CORPUSMILL_BENCH_WORKERS).

Files: every *.warc.gz under ../shared/data/warc, linked REPEAT times (env CORPUSMILL_BENCH_REPEAT,
default 4) into a temp folder so each run lasts tens of seconds. Each side's wall time includes its
own start-up (Ray / process pool). Counted: documents with text that came from an HTML response
(ours: output rows with an HTML content type; datatrove: documents its extractor forwarded, where
its reader keeps HTML records of any HTTP status), and HTML pages put through the extractor (ours
skips non-200 responses; with `deduplicate` the repeated files lose their repeats, so this second
rate is the fairer speed figure there). Ours runs twice: our default extraction, and our
trafilatura engine with datatrove's settings (favor_precision, deduplicate). Last, the fixed overhead
of `corpus build` on 3 JSONL documents, in a subprocess, as its own line (target < 10 s). Timings
on a shared machine are noisy: CORPUSMILL_BENCH_ROUNDS=R runs R interleaved rounds and keeps each one's fastest.

datatrove's reader needs python-magic and cchardet; where they are not installed the benchmark
puts stand-ins on the path (libmagic through ctypes, and resiliparse's uchardet-based detector),
and says so in the output ("datatrove_deps").
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, emit, shared_data, skip  # noqa: E402

BENCH = "ingest"
WORKERS = int(os.environ.get("CORPUSMILL_BENCH_WORKERS", "2"))
REPEAT = int(os.environ.get("CORPUSMILL_BENCH_REPEAT", "4"))
ROUNDS = int(os.environ.get("CORPUSMILL_BENCH_ROUNDS", "1"))  # >1: each side's fastest round (busy machines)

_MAGIC_SHIM = '''"""Stand-in for python-magic (benchmarks only): libmagic through ctypes."""
import ctypes, ctypes.util
_lib = ctypes.CDLL(ctypes.util.find_library("magic") or "libmagic.so.1")
_lib.magic_open.restype, _lib.magic_open.argtypes = ctypes.c_void_p, [ctypes.c_int]
_lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_lib.magic_buffer.restype = ctypes.c_char_p
_lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_cookie = _lib.magic_open(0x10)  # MAGIC_MIME_TYPE
_lib.magic_load(_cookie, None)
def from_buffer(buf, mime=False):
    r = _lib.magic_buffer(_cookie, buf, len(buf))
    return r.decode() if r else "application/octet-stream"
'''
_CCHARDET_SHIM = '''"""Stand-in for cchardet (benchmarks only): resiliparse's uchardet-based detector."""
from resiliparse.parse.encoding import detect_encoding
def detect(data):
    return {"encoding": detect_encoding(data), "confidence": 1.0}
'''


def datatrove_deps(tmp: Path) -> str:
    """'installed', or put stand-ins first on the path (inherited by datatrove's worker processes)."""
    try:
        import cchardet  # noqa: F401
        import magic  # noqa: F401
        return "installed"
    except ImportError:
        pass
    shims = tmp / "shims"
    shims.mkdir()
    missing = []
    for name, dist, src in (("magic", "python-magic", _MAGIC_SHIM), ("cchardet", "faust-cchardet", _CCHARDET_SHIM)):
        try:
            __import__(name)
        except ImportError:
            (shims / f"{name}.py").write_text(src)
            info = shims / f"{dist.replace('-', '_')}-0.0.dist-info"  # datatrove also checks the distribution
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0\n")
            missing.append(name)
    sys.path.insert(0, str(shims))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shims), os.environ.get("PYTHONPATH")]))
    return "stand-ins for " + ", ".join(missing)


@contextmanager
def stderr_to(path: Path):
    """datatrove logs every task at INFO on stderr; keep it in a file (children inherit fd 2)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def run_ours(inputs: Path, out: Path, extract: dict) -> dict:
    import pyarrow.parquet as pq

    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.pipeline.runner import run_build

    cfg = BuildConfig.model_validate({"inputs": [{"name": "warc", "path": str(inputs / "*.warc.gz")}],
                                      "output": str(out), "stages": [{"extract": extract}]})
    t0 = time.perf_counter()
    stats = run_build(cfg, fresh=True, num_cpus=WORKERS)
    wall = time.perf_counter() - t0
    removed = stats["stages"].get("extract", {}).get("removed_by_reason", {})
    ctypes = pq.read_table(out / "documents", columns=["content_type"]).column("content_type").to_pylist()
    html = sum("html" in (c or "").lower() for c in ctypes)
    failed = sum(removed.get(k, 0) for k in ("empty_extraction", "extract_timeout", "extract_error"))
    return {"wall_s": wall, "docs": html, "extracted": html + failed, "kept_all": len(ctypes),
            "records_in": stats["totals"]["documents_in"], "removed": removed,
            "failed_parts": len(stats["failed_parts"]), "busy_s_in_parts": stats["cpu_seconds_in_parts"]}


def run_datatrove(inputs: Path, out: Path) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter

    logs = out / "logs"
    out.mkdir(parents=True)
    ex = LocalPipelineExecutor(
        pipeline=[WarcReader(str(inputs), glob_pattern="*.warc.gz"), Trafilatura(), JsonlWriter(str(out / "docs"))],
        tasks=WORKERS, workers=WORKERS, logging_dir=str(logs), skip_completed=False)
    t0 = time.perf_counter()
    with stderr_to(out / "stderr.log"):
        ex.run()
    wall = time.perf_counter() - t0
    steps = json.loads((logs / "stats.json").read_text())
    extractor = next(s for s in steps if "Trafilatura" in s["name"])["stats"]

    def n(key: str) -> int:
        v = extractor.get(key, 0)
        return int(v["total"] if isinstance(v, dict) else v)

    return {"wall_s": wall, "docs": n("forwarded"), "extracted": n("total"), "dropped_empty": n("dropped"),
            "timeouts": n("timeout"), "errors": n("clean_error")}


def corpus_build_overhead(tmp: Path) -> dict:
    import yaml

    d = tmp / "tiny"
    d.mkdir()
    (d / "tiny.jsonl").write_text("".join(json.dumps({"id": str(i), "text": f"Document {i} of three, short."}) + "\n"
                                          for i in range(3)))
    (d / "tiny.yaml").write_text(yaml.safe_dump({"inputs": [{"name": "tiny", "path": "tiny.jsonl"}], "output": "out",
                                                 "stages": [{"extract": {}}, {"normalize": {}}]}))
    corpus = Path(sys.executable).with_name("corpus")
    t0 = time.perf_counter()
    proc = subprocess.run([str(corpus), "build", "tiny.yaml", "--fresh", "--quiet"], cwd=d, capture_output=True,
                          text=True, timeout=300)
    wall = time.perf_counter() - t0
    kept = json.loads((d / "out" / "stats.json").read_text())["totals"]["kept"] if proc.returncode == 0 else None
    return {"bench": BENCH, "case": "corpus build overhead (3 JSONL docs, subprocess)", "wall_s": round(wall, 2),
            "target_s": 10, "ok": proc.returncode == 0 and wall < 10, "kept": kept, "returncode": proc.returncode,
            **({"stderr_tail": proc.stderr[-500:]} if proc.returncode else {})}


def main() -> None:
    warcs = sorted((shared_data() / "warc").glob("*/*.warc.gz"))
    if not warcs:
        skip(BENCH, f"no WARC files under {shared_data() / 'warc'} (../shared/data absent; set CORPUSMILL_SHARED_DATA)")
    with tempfile.TemporaryDirectory(prefix="cm-bench-ingest-") as t:
        tmp = Path(t)
        inputs = tmp / "in"
        inputs.mkdir()
        for r in range(REPEAT):
            for w in warcs:
                (inputs / f"r{r}-{w.parent.name}-{w.name}").symlink_to(w)
        deps = datatrove_deps(tmp)
        common = {"bench": BENCH, "workers": WORKERS, "files": len(warcs) * REPEAT, "repeat": REPEAT,
                  "rounds": ROUNDS}
        ours_settings = {"our default": {}, "trafilatura, datatrove's settings": {
            "engine": "trafilatura", "favor_precision": True, "deduplicate": True}}
        runs: dict[str, list[dict]] = {}
        for r in range(ROUNDS):  # interleaved, so a busy spell on the machine does not hit one side only
            runs.setdefault("datatrove", []).append(run_datatrove(inputs, tmp / f"dt{r}"))
            for name, extract in ours_settings.items():
                runs.setdefault(name, []).append(run_ours(inputs, tmp / f"ours{r}-{len(name)}", extract))
        best = {name: min(rs, key=lambda x: x["wall_s"]) for name, rs in runs.items()}
        dt = best["datatrove"]
        dt_rate = dt["docs"] / dt["wall_s"] / WORKERS
        dt_xrate = dt["extracted"] / dt["wall_s"] / WORKERS
        emit({**common, "engine": "datatrove", "setting": "WarcReader+Trafilatura() defaults (favour_precision, "
              "deduplicate, timeout 1 s)", "docs": dt["docs"], "wall_s": round(dt["wall_s"], 2),
              "docs_per_s_per_core": round(dt_rate, 2), "extracted": dt["extracted"],
              "extracted_per_s_per_core": round(dt_xrate, 2), "datatrove_deps": deps,
              **{k: dt[k] for k in ("dropped_empty", "timeouts", "errors")}})
        for name, extract in ours_settings.items():
            ours = best[name]
            rate = ours["docs"] / ours["wall_s"] / WORKERS
            xrate = ours["extracted"] / ours["wall_s"] / WORKERS
            emit({**common, "engine": "corpusmill", "setting": name, "extract": extract, "docs": ours["docs"],
                  "wall_s": round(ours["wall_s"], 2), "docs_per_s_per_core": round(rate, 2),
                  "ratio_vs_datatrove": round(rate / dt_rate, 3), "datatrove_docs": dt["docs"],
                  "extracted": ours["extracted"], "extracted_per_s_per_core": round(xrate, 2),
                  "extracted_ratio_vs_datatrove": round(xrate / dt_xrate, 3),
                  "records_in": ours["records_in"], "kept_all": ours["kept_all"], "extract_removed": ours["removed"],
                  "failed_parts": ours["failed_parts"], "busy_s_in_parts": ours["busy_s_in_parts"]})
        emit(corpus_build_overhead(tmp))


if __name__ == "__main__":
    main()
