"""Bad-word false positives on real, clean English text: C4's rule (any one LDNOOBW word removes a
document, corpusmill 0.1.0's default) side by side with the other rules we considered and the
default we chose (at least 3 different listed words, at least 5 per 1,000 words), in one run.

Corpora (../shared/data, none of it meant to be removed):
  wikipedia  the article pages of the real MediaWiki XML export, as the mediawiki reader makes them
  gutenberg  13 public-domain books, cut at line ends into ~8,000-character documents
  news       300 Australian news articles, one per line

Every rule runs through the `sensitive` stage itself. Prints JSON lines: per corpus and rule, the
documents removed and their share, and the ratio to C4's removals; per corpus, the words behind
C4's removals. There is no real adult or spam text in ../shared/data, so these are false-positive
rates only; tests/stages/test_sensitive.py checks that the default still removes word-dense text.
Run alone: .venv/bin/python benchmarks/bench_badwords.py
"""
from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import realdocs  # noqa: E402
from benchmarks._common import emit, shared_data, skip  # noqa: E402

BENCH = "badwords"
OFF = {"min_count": None, "min_distinct": None, "min_ratio": None}
RULES = {  # name -> badwords options; "c4" is the peer every other rule is compared with
    "c4": {**OFF, "min_count": 1},
    "count>=3": {**OFF, "min_count": 3},
    "distinct>=2": {**OFF, "min_distinct": 2},
    "distinct>=3": {**OFF, "min_distinct": 3},
    "per1000>=5": {**OFF, "min_ratio": 0.005},
    "distinct>=2,per1000>=5": {**OFF, "min_distinct": 2, "min_ratio": 0.005},
    "default": {},  # distinct>=3 and per1000>=5
}


def wikipedia(root: Path) -> list[str]:
    from corpusmill.pipeline.config import InputSpec
    from corpusmill.pipeline.parts import Part
    from corpusmill.stages.ingest import mediawiki

    (dump,) = (root / "wiki").glob("*.bz2")
    pages = mediawiki.read(Part("wiki", str(dump), dump.name, "mediawiki"), InputSpec(name="wiki", path=str(dump)))
    return [r["text"] for r in pages if isinstance(r, dict) and r.get("text")]


def gutenberg(root: Path) -> list[str]:
    docs = []
    for book in sorted((root / "text/en/gutenberg").glob("*.txt")):
        docs += realdocs._chunks(book.read_text(errors="replace"), random.Random(0), 8000, 8000)
    return docs


def news(root: Path) -> list[str]:
    return [ln for ln in (root / "text/en/lee_news_background.cor").read_text().splitlines() if ln.strip()]


def main() -> None:
    root = shared_data()
    if not root.exists():
        skip(BENCH, f"no shared data at {root}")
    from corpusmill.pipeline.schema import to_batch
    from corpusmill.stages.sensitive import Sensitive

    for corpus, load in (("wikipedia", wikipedia), ("gutenberg", gutenberg), ("news", news)):
        docs = load(root)
        batch = to_batch([{"id": str(i), "source": corpus, "url": None, "text": t} for i, t in enumerate(docs)])
        c4_removed = None
        for rule, options in RULES.items():
            t0 = time.perf_counter()
            d = Sensitive({"pii": "off", "badwords": options}).process(batch)
            seconds = time.perf_counter() - t0
            removed = d.reasons.count("badwords")
            if rule == "c4":
                c4_removed = removed
                by_word = d.counters["badwords.removed_by_word"]
                top = sorted(by_word.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
                emit({"bench": BENCH, "corpus": corpus, "rule": rule, "top_words_removed": dict(top)})
            emit({"bench": BENCH, "corpus": corpus, "rule": rule, "documents": len(docs), "removed": removed,
                  "removed_share": round(removed / len(docs), 4),
                  "ratio_to_c4": round(removed / c4_removed, 3) if c4_removed else None,
                  "seconds": round(seconds, 3)})


if __name__ == "__main__":
    main()
