"""The `auto` extraction engine: cheap texts first (resiliparse's main content and its whole page
less chrome; the block model's text at three thresholds, extract_blocks.py), then small shipped models
predict each cheap text's word-F1 and keep the best, decide from cheap features of the page and of
those texts whether trafilatura is worth running, and whether to keep its text.

The models are gradient-boosted regression trees of fixed depth trained by
tools/train_extract_chooser.py on WCXB's dev split (cross-validated by site), stored as
extract_chooser.json beside this file and evaluated with numpy; nothing is downloaded.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from corpusmill.stages.extract_blocks import BlockModel, Blocks, kept_text, segment
from corpusmill.stages.extract_trees import Trees
MODEL_PATH = Path(__file__).with_name("extract_chooser.json")

# Tags counted in resiliparse's DOM: how much of the page is prose, lists, tables, forms...
_TAGS = ("a", "p", "li", "div", "table", "tr", "td", "article", "main", "section", "form", "input", "button",
         "h1", "h2", "h3", "pre", "code", "img", "script", "nav", "footer", "header", "aside", "span", "br",
         "ul", "blockquote", "dl", "time", "select", "option", "iframe", "svg")
# Page-type cues sites declare (schema.org, Open Graph) or put in class names, counted with str.count
# in the lower-cased first 200k characters (a regex, or the whole of a megabyte page, costs too much).
_CUES = ("article", "product", "price", "cart", "comment", "reply", "faq", "pagination", "docs", "author")
_CUE_SPAN = 200_000
_URL_CUES = {
    "url_docs": re.compile(r"/(?:docs?|documentation|api|reference|manual|guide|wiki)(?:/|$|\.)", re.I),
    "url_forum": re.compile(r"/(?:forums?|threads?|topics?|questions?|community|discuss\w*|t)/", re.I),
    "url_product": re.compile(r"/(?:products?|p|dp|item|shop|store)/", re.I),
    "url_list": re.compile(r"/(?:category|categories|collections?|tags?|search|archive|page/\d+|c)(?:/|$|\?)", re.I),
    "url_article": re.compile(r"/(?:blog|news|articles?|posts?|\d{4}/\d{2})/", re.I),
}


# Page chrome dropped from resiliparse's whole-page text: menus, banners, sidebars, dialogs, share bars.
# (Forms and buttons stay: some sites wrap the whole page in one <form>.)
CHROME = ["nav", "header", "footer", "aside", "select", "[role=navigation]", "[role=banner]", "[role=contentinfo]",
          "[role=dialog]", ".cookie", ".breadcrumb", ".menu", ".sidebar", "#sidebar", ".share", ".social"]
_QUIET = {"alt_texts": False, "links": False, "form_fields": False, "noscript": False, "list_bullets": False}


def resiliparse_texts(html: str):
    """The two cheap candidates from one parse: resiliparse's main content (comments kept: forum
    threads are mostly comments) and the whole page less its chrome (listings, docs, collections)."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    main = extract_plain_text(tree, main_content=True, comments=True, **_QUIET).strip()
    page = extract_plain_text(tree, main_content=False, skip_elements=CHROME, **_QUIET).strip()
    return tree, main, page


def _text_stats(prefix: str, text: str) -> dict[str, float]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    n = max(len(lines), 1)
    words = len(text.split())
    return {
        f"{prefix}_chars": math.log1p(len(text)),
        f"{prefix}_words": math.log1p(words),
        f"{prefix}_lines": math.log1p(len(lines)),
        f"{prefix}_mean_line": math.log1p(len(text) / n),
        f"{prefix}_short_lines": sum(1 for ln in lines if len(ln) < 40) / n,
        f"{prefix}_long_lines": sum(1 for ln in lines if len(ln) >= 200) / n,
        f"{prefix}_punct_lines": sum(1 for ln in lines if ln.rstrip()[-1:] in ".!?:") / n,
    }


def page_features(tree, html: str, url: str | None, main: str, page: str) -> dict[str, float]:
    """Cheap features: DOM tag counts, link density, declared cues, the URL, and resiliparse's texts."""
    f: dict[str, float] = {"html_chars": math.log1p(len(html))}
    doc = tree.document
    for t in _TAGS:
        f[f"tag_{t}"] = math.log1p(len(doc.get_elements_by_tag_name(t)))
    # links per word of page text (summing each anchor's text costs a DOM wrapper per node: too slow)
    f["links_per_word"] = min(len(doc.get_elements_by_tag_name("a")) / max(len(page.split()), 1), 5.0)
    f["text_markup_ratio"] = len(page) / max(len(html), 1)
    low = html[:_CUE_SPAN].lower()
    for cue in _CUES:
        f[f"cue_{cue}"] = math.log1p(low.count(cue))
    path = re.sub(r"^[a-z]+://[^/]+", "", url or "", flags=re.I)
    for name, rx in _URL_CUES.items():
        f[name] = float(bool(rx.search(path)))
    f["url_depth"] = float(path.split("?")[0].strip("/").count("/") + bool(path.strip("/")))
    f.update(_text_stats("main", main))
    f.update(_text_stats("page", page))
    f["main_over_page"] = len(main) / max(len(page), 1)
    return f


def pair_features(first: str, second: str, prefix: str) -> dict[str, float]:
    """How a second engine's text relates to resiliparse's main text: its size and word overlap."""
    a, b = set(first.lower().split()), set(second.lower().split())
    common = len(a & b)
    f = _text_stats(prefix, second)
    f[f"{prefix}_over_main"] = math.log((len(second) + 1) / (len(first) + 1))
    f[f"{prefix}_in_main"] = common / max(len(b), 1)
    f[f"{prefix}_main_in"] = common / max(len(a), 1)
    return f


# The cheap texts, in the order the pick models score them.
CHEAP = ("main", "page", "blocks", "blocks_loose", "blocks_strict")
BLOCK_THRESHOLDS = {"blocks": 0.5, "blocks_loose": 0.3, "blocks_strict": 0.7}


def block_texts(b: Blocks, scores: np.ndarray) -> tuple[dict[str, str], dict[str, float]]:
    """The block model's texts at three thresholds, and the page features they give: how many blocks,
    how much of the blocks' text each threshold kept (the engine and the trainer both call this)."""
    texts = {name: kept_text(b, scores, threshold) for name, threshold in BLOCK_THRESHOLDS.items()}
    total = max(sum(len(t) for t in b.texts), 1)
    shares = {"blocks_count": float(np.log1p(len(b.texts)))}
    shares.update({f"{name}_share": len(text) / total for name, text in texts.items()})
    return texts, shares


def cheap_texts(html: str, main: str, page: str, blocks: BlockModel) -> tuple[dict[str, str], dict[str, float]]:
    """resiliparse's two texts and the block model's texts; and block_texts' page features."""
    b = segment(html)
    texts, shares = block_texts(b, blocks.scores(b))
    return {"main": main, "page": page, **texts}, shares


class Chooser:
    """The shipped models: the block model, one word-F1 regressor per cheap text, whether to run
    trafilatura, whether to keep its text."""

    def __init__(self, spec: dict):
        self.features1, self.features2 = spec["features1"], spec["features2"]
        self.tau = spec["tau"]
        self.traf_options = spec["traf_options"]
        models = spec["models"]
        self.blocks = BlockModel(models["blocks1"], models["blocks2"])
        self.gain, self.keep = (Trees(models[k]) for k in ("gain", "keep"))
        self.pick = [Trees(models[f"f1_{name}"]) for name in CHEAP]

    def extract(self, html: str, url: str | None, trafilatura: Callable[[dict], str]) -> str:
        """Main text of one page; `trafilatura(options)` runs it only when the model says it pays."""
        tree, main, page = resiliparse_texts(html)
        texts, shares = cheap_texts(html, main, page, self.blocks)
        feats = page_features(tree, html, url, main, page)
        feats.update(shares)
        x1 = np.array([feats[n] for n in self.features1])
        pick = int(np.argmax([m.predict(x1) for m in self.pick]))
        cheap = texts[CHEAP[pick]]
        fallback = cheap or next((t for t in texts.values() if t), "")
        if self.gain.predict(x1) <= self.tau and fallback:
            return fallback  # an empty pick must not lose a page the other text has
        traf = trafilatura(self.traf_options)
        feats.update(pair_features(main, traf, "traf"))
        feats.update(pair_features(page, traf, "trafp"))
        feats["pick"] = float(pick)
        keep = self.keep.predict(np.array([feats[n] for n in self.features2])) > 0
        return (traf if keep else fallback) or fallback or traf


@lru_cache(maxsize=4)
def load_chooser(path: str = str(MODEL_PATH)) -> Chooser:
    """The model file, read once per process (packaged with corpusmill; no network)."""
    try:
        return Chooser(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError) as e:
        raise RuntimeError(f"extract engine 'auto': its model {path} cannot be read ({e}). It ships inside the "
                           "corpusmill package: reinstall corpusmill, or set `engine: hybrid` in the extract "
                           "stage.") from e
