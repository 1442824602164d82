"""The gold extraction sets, WCXB's word-F1, and a per-page cache of engine outputs, shared by
benchmarks/bench_extract.py and tools/train_extract_chooser.py.

Sets (under ../shared/data/html_extraction): `aeb` = scrapinghub/article-extraction-benchmark (181
articles), `wcxb_dev` = WCXB's dev split (1,358 pages of 7 types, each with its site's domain so
that cross-validation can keep a site on one side). Only the dev split is read here: WCXB's test
split is held out for the lead's own checks.

Metric, as WCXB's evaluate.py: F1 of the multisets of lowercased `\\w+` tokens, averaged over pages;
a page whose gold text is empty scores 1 when nothing is extracted, else 0.

Cache: engine outputs and per-page CPU seconds (one core, `time.process_time`, so other processes
on a shared machine inflate it less than wall time) go to $CORPUSMILL_EXTRACT_CACHE
(default /tmp/corpusmill-extract-cache), one JSON file per (set, setting, library versions), so
tuning and re-reporting do not re-run the slow engines.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import shared_data  # noqa: E402

WORD = re.compile(r"\w+")
CACHE = Path(os.environ.get("CORPUSMILL_EXTRACT_CACHE", "/tmp/corpusmill-extract-cache"))


@dataclass
class Page:
    pid: str
    html: str
    url: str | None
    gold: Counter
    page_type: str
    domain: str
    gold_text: str = ""  # the gold main text itself (the block model's training target)


def counts(text: str) -> Counter:
    return Counter(WORD.findall((text or "").lower()))


def word_f1(pred: str, gold: Counter) -> float:
    p = counts(pred)
    if not gold:
        return 0.0 if p else 1.0
    common = sum((p & gold).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def set_root(name: str) -> Path:
    return shared_data() / "html_extraction" / {"aeb": "scrapinghub_aeb", "wcxb_dev": "wcxb_dev"}[name]


def available(name: str) -> bool:
    root = set_root(name)
    return (root / ("ground-truth.json" if name == "aeb" else "metadata.json")).is_file()


def load_set(name: str, limit: int | None = None) -> list[Page]:
    """Pages decoded as the extract stage does (`decode_html(raw, None)`), sorted by id."""
    from corpusmill.stages.extract import decode_html

    root = set_root(name)
    pages = []
    if name == "aeb":
        truth = json.loads((root / "ground-truth.json").read_text())
        for pid, item in sorted(truth.items()):
            path = root / "html" / f"{pid}.html.gz"
            if path.is_file():
                url = item.get("url")
                pages.append(Page(pid, decode_html(gzip.decompress(path.read_bytes()), None), url,
                                  counts(item["articleBody"]), "article", _domain(url), item["articleBody"]))
    else:
        meta = json.loads((root / "metadata.json").read_text())["files"]
        for pid in sorted(meta):
            info = meta[pid]
            gt = json.loads((root / "ground-truth" / f"{pid}.json").read_text())
            truth = gt.get("ground_truth") if isinstance(gt.get("ground_truth"), dict) else {}
            ptype = "collection" if info["page_type"] == "category" else info["page_type"]
            raw = gzip.decompress((root / "html" / f"{pid}.html.gz").read_bytes())
            gold = truth.get("main_content") or ""
            pages.append(Page(pid, decode_html(raw, None), gt.get("url"), counts(gold), ptype,
                              info.get("domain") or _domain(gt.get("url")), gold))
    return pages[:limit] if limit else pages


def _domain(url: str | None) -> str:
    host = re.sub(r"^[a-z]+://", "", url or "").split("/")[0].lower()
    return host[4:] if host.startswith("www.") else host


def versions() -> str:
    import resiliparse
    import trafilatura

    rp = getattr(resiliparse, "__version__", None)
    if rp is None:
        from importlib.metadata import version

        rp = version("resiliparse")
    return f"traf{trafilatura.__version__}-rp{rp}"


def outputs(set_name: str, setting: str, fn: Callable[[str, str | None], str], pages: list[Page],
            fresh: bool = False) -> dict[str, tuple[str, float]]:
    """{pid: (text, cpu seconds)} for one setting, from the cache when it holds every page."""
    path = CACHE / f"{set_name}__{re.sub(r'[^A-Za-z0-9_.=+-]', '_', setting)}__{versions()}.json"
    cached = {} if fresh or not path.is_file() else json.loads(path.read_text())
    if all(p.pid in cached for p in pages):
        return {p.pid: tuple(cached[p.pid]) for p in pages}
    from trafilatura.meta import reset_caches

    reset_caches()  # trafilatura's dedup LRU is process-global: start each setting clean
    for p in pages:
        if p.pid not in cached:
            t0 = time.process_time()
            text = fn(p.html, p.url) or ""
            cached[p.pid] = (text, time.process_time() - t0)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cached))
    tmp.replace(path)
    return {p.pid: tuple(cached[p.pid]) for p in pages}


# Each engine setting the benchmark reports and the chooser is trained over: name -> ExtractOptions
# overrides. "trafilatura" is the library's own defaults (comments kept); ours turned them off.
ENGINE_SETTINGS: dict[str, dict] = {
    "hybrid (before issue 15)": {"engine": "hybrid"},
    "trafilatura": {"engine": "trafilatura", "favor_precision": False, "include_comments": True},
    "trafilatura favor_precision": {"engine": "trafilatura", "favor_precision": True, "include_comments": True},
    "trafilatura favor_recall": {"engine": "trafilatura", "favor_precision": False, "favor_recall": True,
                                 "include_comments": True},
    "trafilatura fast": {"engine": "trafilatura", "favor_precision": False, "include_comments": True, "fast": True},
    "trafilatura fast favor_recall": {"engine": "trafilatura", "favor_precision": False, "favor_recall": True,
                                      "include_comments": True, "fast": True},
    "trafilatura no comments": {"engine": "trafilatura", "favor_precision": False},
    "trafilatura favor_precision no comments": {"engine": "trafilatura", "favor_precision": True},
    "resiliparse main_content": {"engine": "resiliparse", "main_content": True},
    "resiliparse full page": {"engine": "resiliparse", "main_content": False},
}


def engine_fn(setting: str) -> Callable[[str, str | None], str]:
    from corpusmill.stages.extract import ExtractOptions, extract_text

    opts = ExtractOptions(**ENGINE_SETTINGS[setting])
    return lambda html, url: extract_text(html, opts, url)


def candidate_fn(which: int) -> Callable[[str, str | None], str]:
    """One of the auto engine's cheap candidates alone (0: resiliparse main content, 1: page less chrome)."""
    from corpusmill.stages.extract_chooser import resiliparse_texts

    return lambda html, url: resiliparse_texts(html)[1 + which]


CANDIDATES = {"resiliparse main+comments": 0, "resiliparse page less chrome": 1}


def setting_fn(name: str) -> Callable[[str, str | None], str]:
    if name == "datatrove":
        return datatrove_fn()
    return candidate_fn(CANDIDATES[name]) if name in CANDIDATES else engine_fn(name)


def datatrove_fn() -> Callable[[str, str | None], str]:
    from datatrove.pipeline.extractors import Trafilatura

    peer = Trafilatura()  # its defaults: favour_precision=True, deduplicate=True, no url
    return lambda html, url: peer.extract(html)


if __name__ == "__main__":  # fill the cache: python benchmarks/extract_sets.py SET SETTING...
    import logging

    logging.disable(logging.WARNING)
    pages = load_set(sys.argv[1])
    for name in sys.argv[2:]:
        t0 = time.time()
        out = outputs(sys.argv[1], name, setting_fn(name), pages)
        f1 = sum(word_f1(out[p.pid][0], p.gold) for p in pages) / len(pages)
        print(name, f"f1={f1:.4f}", f"cpu_pages/s={len(pages) / sum(v[1] for v in out.values()):.1f}",
              f"wall={time.time() - t0:.0f}s", flush=True)
