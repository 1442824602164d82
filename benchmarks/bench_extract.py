"""Main-text extraction quality and speed: each engine (`hybrid`, the default; `auto`, the per-page
chooser) and engine setting, against datatrove's `Trafilatura` extractor (the named peer) in the
same run, on two gold sets: scrapinghub/article-extraction-benchmark (181 articles) and WCXB's dev
split (1,358 pages of 7 types), per page type.

Metric (as WCXB): word-F1 = F1 over the multisets of lowercased `\\w+` tokens between extracted and
gold text, averaged over pages (see benchmarks/extract_sets.py). Speed: pages/s per core = pages /
summed per-page CPU seconds of extraction alone, one process. Engine settings and the peer are read
from the per-page cache (benchmarks/extract_sets.py; `--fresh` re-runs them); `auto` and `hybrid`
always run live, alternating page by page so that both see the same load. The auto engine's two
resiliparse candidates are listed too. The figures of `auto` on both sets are on pages its model was
trained on: the honest, cross-validated ones come from tools/train_extract_chooser.py; its speed
here (live, beside hybrid) is the one to quote.

One JSON line per (set, setting), then a summary per set. Usage:
    python benchmarks/bench_extract.py [--set aeb|wcxb_dev|all] [--fresh] [--limit N]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import emit, skip  # noqa: E402
from benchmarks.extract_sets import (CANDIDATES, ENGINE_SETTINGS, available, datatrove_fn, load_set,  # noqa: E402
                                     outputs, setting_fn, word_f1)

BENCH = "extract"
BEFORE = "hybrid (before issue 15)"
AUTO = "auto (issue 15)"


def bootstrap(a: dict, b: dict, n: int = 2000) -> list[float]:
    """Paired bootstrap 95% interval of mean(a - b) over pages."""
    rnd, keys = random.Random(0), list(a)
    diffs = [a[k] - b[k] for k in keys]
    means = sorted(sum(diffs[rnd.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(n))
    return [round(means[int(0.025 * n)], 4), round(means[int(0.975 * n)], 4)]


def live(pages) -> tuple[dict, dict]:
    """The auto engine and the hybrid one, run now (not cached), alternating page by page so that a
    change in the machine's load hits both alike: two {pid: (text, cpu seconds)}."""
    from corpusmill.stages.extract import ExtractOptions, extract_text

    runs = [(ExtractOptions(engine="auto"), {}), (ExtractOptions(**ENGINE_SETTINGS[BEFORE]), {})]
    for opts, _ in runs:
        extract_text(pages[0].html, opts, pages[0].url)  # imports and model load, untimed
    for p in pages:
        for opts, out in runs:
            t0 = time.process_time()
            text = extract_text(p.html, opts, p.url)
            out[p.pid] = (text, time.process_time() - t0)
    return runs[0][1], runs[1][1]


def score(pages, out) -> tuple[dict, dict, float]:
    scores = {p.pid: word_f1(out[p.pid][0], p.gold) for p in pages}
    by_type: dict[str, list[float]] = {}
    for p in pages:
        by_type.setdefault(p.page_type, []).append(scores[p.pid])
    types = {t: round(sum(v) / len(v), 4) for t, v in sorted(by_type.items())}
    return scores, types, len(pages) / max(sum(sec for _, sec in out.values()), 1e-9)


def run_set(name: str, fresh: bool, limit: int | None) -> None:
    from corpusmill.stages.extract import ExtractOptions

    pages = load_set(name, limit)
    dt_scores, dt_types, dt_speed = score(pages, outputs(name, "datatrove", datatrove_fn(), pages, fresh))
    dt_f1 = sum(dt_scores.values()) / len(dt_scores)
    rows = {}
    auto_out, hybrid_out = live(pages)
    default = ExtractOptions().engine
    settings = [(AUTO, auto_out), (BEFORE, hybrid_out)]
    settings += [(s, None) for s in list(ENGINE_SETTINGS) + list(CANDIDATES) if s != BEFORE]
    for label, out in settings:
        out = out or outputs(name, label, setting_fn(label), pages, fresh)
        scores, types, speed = score(pages, out)
        f1 = sum(scores.values()) / len(scores)
        rows[label] = row = {
            "bench": BENCH, "set": name, "setting": label, "word_f1": round(f1, 4), "by_type": types,
            "pages_per_s_per_core": round(speed, 1), "ratio_vs_datatrove": round(f1 / dt_f1, 4),
            "speed_vs_datatrove": round(speed / dt_speed, 2), "diff_ci95_vs_datatrove": bootstrap(scores, dt_scores),
            "zero_f1_pages": sum(1 for v in scores.values() if not v), "pages": len(scores)}
        emit(row)
    emit({"bench": BENCH, "set": name, "setting": "datatrove Trafilatura() defaults (peer)", "word_f1": round(dt_f1, 4),
          "by_type": dt_types, "pages_per_s_per_core": round(dt_speed, 1), "ratio_vs_datatrove": 1.0,
          "zero_f1_pages": sum(1 for v in dt_scores.values() if not v), "pages": len(dt_scores)})
    ours, before, plain = rows[AUTO], rows[BEFORE], rows["trafilatura"]
    emit({"bench": BENCH, "set": name, "summary": True, "default_engine": default, "auto_word_f1": ours["word_f1"],
          "hybrid_word_f1": before["word_f1"], "trafilatura_word_f1": plain["word_f1"],
          "datatrove_word_f1": round(dt_f1, 4), "ratio_vs_datatrove": ours["ratio_vs_datatrove"],
          "auto_pages_per_s_per_core": ours["pages_per_s_per_core"],
          "hybrid_pages_per_s_per_core": before["pages_per_s_per_core"],
          "auto_speed_vs_hybrid": round(ours["pages_per_s_per_core"] / before["pages_per_s_per_core"], 2),
          "auto_types_below_trafilatura": [t for t, v in ours["by_type"].items() if v < plain["by_type"][t]],
          "pages": len(pages)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=["aeb", "wcxb_dev", "all"], default="all")
    ap.add_argument("--fresh", action="store_true", help="re-run the cached engine settings and the peer")
    ap.add_argument("--limit", type=int, help="first N pages of each set (a quick look)")
    args = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)  # trafilatura/datatrove chatter on odd pages
    sets = ["aeb", "wcxb_dev"] if args.set == "all" else [args.set]
    missing = [s for s in sets if not available(s)]
    if len(missing) == len(sets):
        skip(BENCH, f"no gold data for {missing} under ../shared/data/html_extraction (set CORPUSMILL_SHARED_DATA)")
    for s in sets:
        if s in missing:
            emit({"bench": BENCH, "set": s, "skipped": "gold data absent"})
        else:
            run_set(s, args.fresh, args.limit)


if __name__ == "__main__":
    main()
