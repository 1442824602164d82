"""Main-text extraction quality and speed: our `extract_text` (each engine and several trafilatura
settings) against datatrove's `Trafilatura` extractor, in the same run, on the 181 gold pages of
scrapinghub/article-extraction-benchmark (../shared/data/html_extraction/scrapinghub_aeb).

Metric (as WCXB): word-F1 = F1 over the multiset of lowercased `\\w+` tokens (Counter intersection)
between extracted and gold text, averaged over pages (nothing extracted scores 0). Pages are decoded
with our `decode_html(raw, None)`; speed is pages/s in this one process, extraction only, each
setting after trafilatura's caches are reset (its `deduplicate` LRU is process-global, so without a
reset one setting's output depends on what ran before). One JSON line per setting, then a summary.
Also reported: a paired bootstrap 95% interval of (setting - datatrove) word-F1.
"""
from __future__ import annotations

import gzip
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import emit, shared_data, skip  # noqa: E402

BENCH = "extract"
WORD = re.compile(r"\w+")

REPEATS = 2  # timing: best of this many passes (the machine may be shared); quality from the first

# (engine, setting name, ExtractOptions overrides); the first row is ExtractOptions() unchanged.
SETTINGS = [
    (None, "default", {}),
    ("hybrid", "fallback_ratio=2", {"fallback_ratio": 2.0}),
    ("hybrid", "fallback_ratio=5", {"fallback_ratio": 5.0}),
    ("hybrid", "favor_precision=False", {"favor_precision": False}),
    ("trafilatura", "favor_precision (default)", {}),
    ("trafilatura", "plain (trafilatura defaults)", {"favor_precision": False}),
    ("trafilatura", "favor_recall", {"favor_precision": False, "favor_recall": True}),
    ("trafilatura", "deduplicate", {"favor_precision": False, "deduplicate": True}),
    ("trafilatura", "include_tables=False", {"favor_precision": False, "include_tables": False}),
    ("trafilatura", "favor_precision+include_tables=False", {"include_tables": False}),
    ("trafilatura", "favor_precision+deduplicate (datatrove's)", {"deduplicate": True}),
    ("resiliparse", "main_content", {"main_content": True}),
]


def counts(text: str) -> Counter:
    return Counter(WORD.findall(text.lower()))


def word_f1(pred: str, gold: Counter) -> float:
    p = counts(pred or "")
    common = sum((p & gold).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def run_setting(fn, pages: list[tuple[str, str, str]], golds: dict[str, Counter]) -> tuple[dict, float]:
    from trafilatura.meta import reset_caches

    best, texts = float("inf"), None
    for _ in range(REPEATS):
        reset_caches()
        t0 = time.perf_counter()
        out = {pid: fn(html, url) or "" for pid, html, url in pages}
        best = min(best, time.perf_counter() - t0)
        texts = texts or out
    return {pid: word_f1(texts[pid], golds[pid]) for pid in texts}, len(pages) / best


def bootstrap(a: dict, b: dict, n: int = 2000) -> list[float]:
    rnd, keys = random.Random(0), list(a)
    diffs = [a[k] - b[k] for k in keys]
    means = sorted(sum(diffs[rnd.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(n))
    return [round(means[int(0.025 * n)], 4), round(means[int(0.975 * n)], 4)]


def main() -> None:
    root = shared_data() / "html_extraction" / "scrapinghub_aeb"
    if not (root / "ground-truth.json").is_file():
        skip(BENCH, f"no gold data at {root} (../shared/data absent; set CORPUSMILL_SHARED_DATA)")
    import logging

    logging.disable(logging.WARNING)  # trafilatura/datatrove chatter on odd pages
    import trafilatura
    from datatrove.pipeline.extractors import Trafilatura

    from corpusmill.stages.extract import ExtractOptions, decode_html, extract_text

    truth = json.loads((root / "ground-truth.json").read_text())
    pages, golds = [], {}
    for pid, item in sorted(truth.items()):
        path = root / "html" / f"{pid}.html.gz"
        if path.is_file():
            pages.append((pid, decode_html(gzip.decompress(path.read_bytes()), None), item.get("url")))
            golds[pid] = counts(item["articleBody"])
    extract_text(pages[0][1], ExtractOptions(), pages[0][2])  # imports and lazy set-up, untimed

    peer = Trafilatura()  # its defaults: favour_precision=True, deduplicate=True, no url
    dt_scores, dt_speed = run_setting(lambda html, url: peer.extract(html), pages, golds)
    dt_f1 = sum(dt_scores.values()) / len(dt_scores)
    rows = []
    for engine, name, over in SETTINGS:
        opts = ExtractOptions(**over) if engine is None else ExtractOptions(engine=engine, **over)
        scores, speed = run_setting(lambda html, url, o=opts: extract_text(html, o, url), pages, golds)
        f1 = sum(scores.values()) / len(scores)
        row = {"bench": BENCH, "engine": opts.engine, "setting": name, "word_f1": round(f1, 4),
               "pages_per_s": round(speed, 1), "ratio_vs_datatrove": round(f1 / dt_f1, 4),
               "speed_vs_datatrove": round(speed / dt_speed, 2), "diff_ci95_vs_datatrove": bootstrap(scores, dt_scores),
               "zero_f1_pages": sum(1 for v in scores.values() if not v), "pages": len(scores)}
        rows.append(row)
        emit(row)
    emit({"bench": BENCH, "engine": "datatrove", "setting": "Trafilatura() defaults", "word_f1": round(dt_f1, 4),
          "pages_per_s": round(dt_speed, 1), "ratio_vs_datatrove": 1.0, "pages": len(dt_scores),
          "zero_f1_pages": sum(1 for v in dt_scores.values() if not v)})
    ours = rows[0]
    best = max(rows, key=lambda r: r["word_f1"])
    emit({"bench": BENCH, "summary": True, "our_default": f"{ours['engine']}/{ours['setting']}",
          "word_f1": ours["word_f1"], "datatrove_word_f1": round(dt_f1, 4),
          "ratio_vs_datatrove": ours["ratio_vs_datatrove"],
          "pages_per_s": ours["pages_per_s"], "datatrove_pages_per_s": round(dt_speed, 1),
          "target_0.96_met": ours["word_f1"] >= 0.96, "best_setting": f"{best['engine']}/{best['setting']}",
          "best_word_f1": best["word_f1"], "trafilatura": trafilatura.__version__, "pages": len(pages)})


if __name__ == "__main__":
    main()
