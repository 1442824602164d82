"""The `auto` extraction engine: resiliparse first (cheap: one parse, two texts, each also with its
boilerplate lines dropped by a line model), then small shipped models predict each cheap text's
word-F1 and keep the best, decide from cheap features of the page and of resiliparse's texts whether
trafilatura is worth running, and whether to keep its text.

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


_WORD_START = re.compile(r"\b\w")  # the first character of each \w+ word: as many as there are words
_SEPARATORS = re.compile(r"[|\u00b7\u00bb\u203a\u00a9\u00ae\u2022]")  # | · » › © ® •: menus, breadcrumbs, footers
LINE_FEATURES = ("chars", "words", "ends_sentence", "starts_upper", "digit_words", "capital_words", "separators",
                 "position", "char_position", "repeats", "chars_near1", "chars_near3", "ends_sentence_near3",
                 "in_main_near2", "in_main", "from_page", "lines", "chars_near10")


def line_features(lines: list[str], main_lines: set[str], from_page: bool) -> np.ndarray:
    """One row per line (LINE_FEATURES): its size and shape, where it sits, its neighbours, and whether
    resiliparse's main-content pass kept it; the line model predicts from these how much of it is main text."""
    n = len(lines)
    if not n:
        return np.zeros((0, len(LINE_FEATURES)))
    sizes = np.array([len(ln) for ln in lines], dtype=np.float64)
    firsts = ["".join(_WORD_START.findall(ln)) for ln in lines]
    nw = np.array([max(len(w), 1) for w in firsts], dtype=np.float64)
    chars = np.log1p(sizes)
    ends = np.array([ln[-1] in '.!?:;"\u201d)' for ln in lines], dtype=np.float64)
    in_main = np.array([ln in main_lines for ln in lines], dtype=np.float64)
    counts: dict[str, int] = {}
    for ln in lines:
        counts[ln] = counts.get(ln, 0) + 1
    before = np.cumsum(sizes) - sizes

    def near(a: np.ndarray, k: int) -> np.ndarray:  # mean over the lines within k of each line
        c = np.concatenate([[0.0], np.cumsum(a)])
        i = np.arange(n)
        lo, hi = np.maximum(i - k, 0), np.minimum(i + k + 1, n)
        return (c[hi] - c[lo]) / (hi - lo)

    return np.column_stack([
        chars, np.log1p([len(w) for w in firsts]), ends, [float(ln[0].isupper()) for ln in lines],
        np.array([sum(map(str.isdigit, w)) for w in firsts]) / nw,
        np.array([sum(map(str.isupper, w)) for w in firsts]) / nw,
        [float(bool(_SEPARATORS.search(ln))) for ln in lines],
        np.arange(n) / max(n - 1, 1), before / max(sizes.sum(), 1.0), np.log([counts[ln] for ln in lines]),
        near(chars, 1), near(chars, 3), near(ends, 3), near(in_main, 2), in_main,
        np.full(n, float(from_page)), np.full(n, np.log1p(n)), near(chars, 10)])


def text_lines(text: str) -> list[str]:
    return [s for s in (ln.strip() for ln in text.splitlines()) if s]


def drop_boilerplate(lines: list[str], predicted: np.ndarray, threshold: float) -> str:
    """The lines the line model scores above `threshold` (all of them when it would keep none)."""
    kept = [ln for ln, p in zip(lines, predicted) if p > threshold]
    return "\n".join(kept or lines)


def pair_features(first: str, second: str, prefix: str) -> dict[str, float]:
    """How a second engine's text relates to resiliparse's main text: its size and word overlap."""
    a, b = set(first.lower().split()), set(second.lower().split())
    common = len(a & b)
    f = _text_stats(prefix, second)
    f[f"{prefix}_over_main"] = math.log((len(second) + 1) / (len(first) + 1))
    f[f"{prefix}_in_main"] = common / max(len(b), 1)
    f[f"{prefix}_main_in"] = common / max(len(a), 1)
    return f


class Trees:
    """Fixed-depth boosted regression trees: node i's children are 2i+1 (<= threshold) and 2i+2."""

    def __init__(self, spec: dict):
        self.depth = spec["depth"]
        self.base = spec["base"]
        self.feature = np.asarray(spec["feature"], dtype=np.int64)  # (trees, internal nodes)
        self.threshold = np.asarray(spec["threshold"], dtype=np.float64)
        self.leaf = np.asarray(spec["leaf"], dtype=np.float64)  # (trees, 2**depth), learning rate applied
        self.rows = np.arange(len(self.feature))

    def predict(self, x: np.ndarray) -> float:
        node = np.zeros(len(self.feature), dtype=np.int64)
        for _ in range(self.depth):
            node = 2 * node + 1 + (x[self.feature[self.rows, node]] > self.threshold[self.rows, node])
        return float(self.base + self.leaf[self.rows, node - (2 ** self.depth - 1)].sum())

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """predict() for each row of a matrix at once."""
        node = np.zeros((len(x), len(self.feature)), dtype=np.int64)
        for _ in range(self.depth):
            f = self.feature[self.rows, node]
            node = 2 * node + 1 + (np.take_along_axis(x, f, axis=1) > self.threshold[self.rows, node])
        return self.base + self.leaf[self.rows, node - (2 ** self.depth - 1)].sum(axis=1)


# The cheap texts, in the order the pick models score them.
CHEAP = ("main", "page", "main_kept", "page_kept")


def cheap_texts(main: str, page: str, lines_model: Trees, threshold: float) -> dict[str, str]:
    """resiliparse's two texts, and each with the lines the line model calls boilerplate dropped."""
    main_lines = text_lines(main)
    page_lines = text_lines(page)
    main_set = set(main_lines)
    out = {"main": main, "page": page}
    for name, lines, from_page in (("main_kept", main_lines, False), ("page_kept", page_lines, True)):
        x = line_features(lines, main_set, from_page)
        out[name] = drop_boilerplate(lines, lines_model.predict_rows(x), threshold) if lines else ""
    return out


def kept_features(texts: dict[str, str]) -> dict[str, float]:
    """How much of each resiliparse text the line model kept."""
    return {f"{k}_share": len(texts[f"{k}_kept"]) / max(len(texts[k]), 1) for k in ("main", "page")}


class Chooser:
    """The shipped models: the line model, one word-F1 regressor per cheap text, whether to run
    trafilatura, whether to keep its text."""

    def __init__(self, spec: dict):
        self.features1, self.features2 = spec["features1"], spec["features2"]
        self.tau, self.line_threshold = spec["tau"], spec["line_threshold"]
        self.traf_options = spec["traf_options"]
        models = spec["models"]
        self.lines, self.gain, self.keep = (Trees(models[k]) for k in ("lines", "gain", "keep"))
        self.pick = [Trees(models[f"f1_{name}"]) for name in CHEAP]

    def extract(self, html: str, url: str | None, trafilatura: Callable[[dict], str]) -> str:
        """Main text of one page; `trafilatura(options)` runs it only when the model says it pays."""
        tree, main, page = resiliparse_texts(html)
        texts = cheap_texts(main, page, self.lines, self.line_threshold)
        feats = page_features(tree, html, url, main, page)
        feats.update(kept_features(texts))
        x1 = np.array([feats[n] for n in self.features1])
        pick = int(np.argmax([m.predict(x1) for m in self.pick]))
        cheap = texts[CHEAP[pick]]
        fallback = cheap or main or page
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
