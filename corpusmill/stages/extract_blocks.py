"""The `auto` engine's block model: the page cut into DOM text blocks (lxml), each scored by two
stages of boosted trees for how much of it is main text, and the blocks scored above a threshold
kept in page order.

A block is the text between two block-level tags (a paragraph, a list item, a cell, a heading, a
line ended by <br>...). Its features: size and shape of its text, link density, the tags around it
(is it inside nav, footer, article, li, table...), cue words in its ancestors' class and id ("comment",
"sidebar", "share", "content", "product"...), depth, position, its neighbours, and whether it sits
inside the deepest element that holds 30/50/70/90% of the page's sentence-like text (readability's
idea of a main container, as features). The second stage adds the first stage's scores of the
block's neighbourhood and the containers of predicted main text. Both stages are trained by
tools/train_extract_chooser.py on WCXB's dev split and the ScrapingHub articles (cross-validated by
site); the trees are evaluated with numpy (extract_trees.Trees).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from corpusmill.stages.extract_trees import Trees

# Subtrees with no readable text of their own.
SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed", "canvas",
                  "math", "select", "option", "textarea", "map", "video", "audio"})
BLOCK = frozenset({"p", "div", "li", "td", "th", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
                   "dd", "dt", "dl", "ul", "ol", "section", "article", "main", "header", "footer", "nav", "aside", "form",
                   "body", "figure", "figcaption", "address", "caption", "details", "summary", "br", "hr", "fieldset",
                   "legend", "tbody", "thead", "center", "html", "label", "button"})
# Ancestor tags, one bit each (several tags may share one).
TAG_FLAGS = ("nav", "header", "footer", "aside", "article", "main", "form", "li", "table", "a", "h", "p", "pre",
             "blockquote", "button", "label", "figure", "time", "strong", "code", "dl", "section")
_TAG_BIT = {t: 1 << i for i, t in enumerate(TAG_FLAGS)}
_TAG_BIT.update({h: _TAG_BIT["h"] for h in ("h1", "h2", "h3", "h4", "h5", "h6")})
_TAG_BIT.update({"b": _TAG_BIT["strong"], "dd": _TAG_BIT["dl"], "dt": _TAG_BIT["dl"]})
_TAG_BIT.update({t: _TAG_BIT["table"] for t in ("td", "th", "tr", "tbody", "thead")})
_LINK = _TAG_BIT["a"]
# Cue words in class/id attributes of the block or its ancestors, one bit each.
CUES = ("nav", "menu", "foot", "head", "side", "widget", "share", "social", "related", "ad", "banner", "cookie",
        "breadcrumb", "pagination|pager", "popup|modal|overlay", "newsletter|subscribe|signup", "login|account",
        "search", "tag", "meta|byline|author|date", "copyright|legal", "promo|sponsor",
        "recommend|more|trending|popular", "comment|reply|discussion", "content", "article|story", "post|entry",
        "main", "body|text|prose|markdown", "product|item", "desc|detail|summary|overview", "review|rating",
        "price|cart|buy", "title|heading|headline", "card|tile|grid|list", "thread|message|answer|question|forum",
        "doc|api|manual|guide", "caption|credit", "hidden|sr-only|visually", "skip")
_CUE_WORDS = [(w, 1 << (len(TAG_FLAGS) + i)) for i, c in enumerate(CUES) for w in c.split("|")]
_ATTR_TOKEN = re.compile(r"[a-z]+")
_TOKEN_BITS: dict[str, int] = {}  # class/id token -> cue bits, shared by every page (bounded below)
N_BITS = len(TAG_FLAGS) + len(CUES)
# Block tags as features.
_BLOCK_TAGS = (("p",), ("div",), ("li",), ("td", "th"), ("h1", "h2", "h3", "h4", "h5", "h6"), ("br",), ("pre",),
               ("dd", "dt"), ("section", "article", "main"), ("label", "button"))
_BLOCK_TAG_INDEX = {t: i for i, group in enumerate(_BLOCK_TAGS) for t in group}
_WS = re.compile(r"\s+")
_WORD_START = re.compile(r"\b\w")
_SEPARATORS = re.compile(r"[|\u00b7\u00bb\u203a\u00a9\u00ae\u2022]")  # | · » › © ® •: menus, breadcrumbs


@dataclass
class Blocks:
    """A page's text blocks in document order, with what the features need."""
    texts: list[str] = field(default_factory=list)
    link_chars: list[int] = field(default_factory=list)
    bits: list[int] = field(default_factory=list)  # ancestor tags and class/id cues
    depth: list[int] = field(default_factory=list)
    tag: list[int] = field(default_factory=list)  # index into _BLOCK_TAGS, or -1
    spans: list[tuple[int, int, int]] = field(default_factory=list)  # (depth, first, end) of block elements


def _visible(text: str) -> int:
    """Characters other than whitespace (link density must not count a pretty-printed anchor's indent)."""
    return len(text) - sum(map(text.count, (" ", "\n", "\t", "\r")))


def _cue_bits(attr: str) -> int:
    """Cue bits of a class/id value: each of its words is looked up once (a cue may be part of a word:
    "sidebar", "site-footer", "commentlist")."""
    bits = 0
    for token in _ATTR_TOKEN.findall(attr):
        b = _TOKEN_BITS.get(token)
        if b is None:  # each site has its own class names: this runs for most tokens of a new site
            b = 0
            for word, bit in _CUE_WORDS:
                if word in token:
                    b |= bit
            if len(token) <= 40 and len(_TOKEN_BITS) < 200_000:
                _TOKEN_BITS[token] = b
        bits |= b
    return bits


@lru_cache(maxsize=1)
def _parser():
    from lxml import etree

    # huge_tree: without it libxml2 stops at ~255 levels of nesting (unclosed <div>s) and at 10 MB text nodes
    return etree.HTMLParser(remove_comments=True, remove_pis=True, encoding="utf-8", huge_tree=True)


def segment(html: str) -> Blocks:
    """Cut a page into text blocks with lxml (an unparseable page gives none)."""
    from lxml import etree

    out = Blocks()
    # lxml's plain HTML parser (lxml.html's element classes cost a Python call per element), fed UTF-8
    # bytes: a str lxml cannot encode (a lone surrogate) would be cut short or give no tree at all
    try:
        root = etree.fromstring(html.encode("utf-8", "replace"), _parser())
    except etree.LxmlError:
        return out
    if root is None:
        return out
    parts: list[str] = []
    link = 0
    stack = [(0, 0, -1)]  # per open element: (bits, depth, block tag index)
    cur = stack[0]
    starts: list[int] = []
    cue_cache: dict[str, int] = {}

    def flush() -> None:
        nonlocal parts, link
        if parts:
            text = _WS.sub(" ", "".join(parts)).strip()
            if text:
                out.texts.append(text)
                out.link_chars.append(link)
                out.bits.append(cur[0])
                out.depth.append(cur[1])
                out.tag.append(cur[2])
            parts = []
            link = 0

    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag
        if event == "start":
            if not isinstance(tag, str) or tag in SKIP:  # comments, processing instructions, scripts
                walker.skip_subtree()
                continue
            bits = stack[-1][0] | _TAG_BIT.get(tag, 0)
            attr = (el.get("class") or "") + " " + (el.get("id") or "")
            if len(attr) > 1:
                cue = cue_cache.get(attr)
                if cue is None:
                    cue = cue_cache[attr] = _cue_bits(attr.lower())
                bits |= cue
            is_block = tag in BLOCK
            if is_block:
                flush()
                starts.append(len(out.texts))
            ctx = (bits, stack[-1][1] + 1, _BLOCK_TAG_INDEX.get(tag, -1) if is_block else stack[-1][2])
            stack.append(ctx)
            if is_block:
                cur = ctx
            text = el.text
            if text:
                parts.append(text)
                if bits & _LINK:
                    link += _visible(text)
            continue
        if isinstance(tag, str) and tag not in SKIP:
            ctx = stack.pop()
            if tag in BLOCK:
                flush()
                first = starts.pop()
                if len(out.texts) - first > 1:
                    out.spans.append((ctx[1], first, len(out.texts)))
                parts.append(" ")
            if tag in BLOCK or cur is ctx:  # text after a block closed inside an inline element is its parent's
                cur = stack[-1]
        tail = el.tail
        if tail:
            parts.append(tail)
            if stack[-1][0] & _LINK:
                link += _visible(tail)
    flush()
    return out


def _near(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over the blocks within k of each block."""
    n = len(a)
    c = np.concatenate([[0.0], np.cumsum(a)])
    i = np.arange(n)
    lo, hi = np.maximum(i - k, 0), np.minimum(i + k + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def container_flags(weight: np.ndarray, spans: list, shares: tuple[float, ...]) -> np.ndarray:
    """Per share: whether each block lies in the deepest element holding that share of `weight`
    (the smallest such element when several are as deep); and that element's size for the middle share."""
    n = len(weight)
    pre = np.concatenate([[0.0], np.cumsum(weight)])
    out = np.zeros((n, len(shares) + 1))
    if not spans or pre[-1] <= 0:
        return out
    sp = np.array(spans, dtype=np.int64)
    held = (pre[sp[:, 2]] - pre[sp[:, 1]]) / pre[-1]
    for j, share in enumerate(shares):
        found = np.nonzero(held >= share)[0]
        if len(found):
            best = found[np.lexsort((sp[found, 2] - sp[found, 1], -sp[found, 0]))[0]]
            out[sp[best, 1]:sp[best, 2], j] = 1.0
            if j == len(shares) // 2:
                out[:, -1] = (sp[best, 2] - sp[best, 1]) / n
    return out


def block_features(b: Blocks) -> np.ndarray:
    """One row per block: the first stage's features."""
    texts = b.texts
    n = len(texts)
    sizes = np.array([len(t) for t in texts], dtype=np.float64)
    firsts = ["".join(_WORD_START.findall(t)) for t in texts]
    nw = np.array([max(len(w), 1) for w in firsts], dtype=np.float64)
    chars = np.log1p(sizes)
    visible = sizes - np.array([t.count(" ") for t in texts], dtype=np.float64)  # blocks' whitespace is single spaces
    link = np.minimum(np.array(b.link_chars, dtype=np.float64) / np.maximum(visible, 1), 1.0)
    ends = np.array([t[-1] in '.!?:;"\u201d)' for t in texts], dtype=np.float64)
    bits = np.array(b.bits, dtype=np.int64)
    bit_cols = ((bits[:, None] >> np.arange(N_BITS)[None, :]) & 1).astype(np.float64)
    depth = np.array(b.depth, dtype=np.float64)
    tag_cols = np.zeros((n, len(_BLOCK_TAGS)))
    tags = np.array(b.tag)
    has_tag = tags >= 0
    tag_cols[np.nonzero(has_tag)[0], tags[has_tag]] = 1.0
    counts: dict[str, int] = {}
    for t in texts:
        counts[t] = counts.get(t, 0) + 1
    before = np.cumsum(sizes) - sizes
    total = max(sizes.sum(), 1.0)
    punct = np.array([t.count(",") + t.count(".") for t in texts], dtype=np.float64) / nw
    sentence_like = sizes * ((ends > 0) & (sizes >= 80) & (link < 0.3))
    return np.column_stack([
        chars, np.log1p(nw), link, ends, [float(t[0].isupper()) for t in texts],
        np.array([sum(map(str.isdigit, w)) for w in firsts]) / nw,
        np.array([sum(map(str.isupper, w)) for w in firsts]) / nw,
        [float(bool(_SEPARATORS.search(t))) for t in texts], punct,
        np.arange(n) / max(n - 1, 1), before / total, np.log([counts[t] for t in texts]),
        depth, depth - (np.average(depth, weights=sizes) if sizes.sum() else 0.0),
        _near(chars, 1), _near(chars, 3), _near(chars, 10), _near(ends, 3), _near(link, 2),
        _near(link * sizes, 5) / np.maximum(_near(sizes, 5), 1), np.full(n, np.log1p(n)), np.full(n, np.log1p(total)),
        bit_cols, tag_cols, container_flags(sentence_like, b.spans, (0.3, 0.5, 0.7, 0.9))])


def second_features(x: np.ndarray, first: np.ndarray, b: Blocks) -> np.ndarray:
    """The second stage's rows: the first stage's features and scores around each block."""
    n = len(first)
    sizes = np.array([len(t) for t in b.texts], dtype=np.float64)
    before = np.concatenate([[0.0], first[:-1]])
    after = np.concatenate([first[1:], [0.0]])
    kept_share = float((sizes * (first > 0.5)).sum() / max(sizes.sum(), 1.0))
    return np.column_stack([x, first, before, after, _near(first, 2), _near(first, 5), _near(first, 15),
                            np.full(n, kept_share), container_flags(sizes * np.clip(first, 0, 1), b.spans, (0.5, 0.8, 0.95))])


class BlockModel:
    """The two stages; `scores(blocks)` is each block's predicted share of main text."""

    def __init__(self, first: dict, second: dict):
        self.first, self.second = Trees(first), Trees(second)

    def scores(self, b: Blocks, x: np.ndarray | None = None) -> np.ndarray:
        """`x`: block_features(b) when the caller has it already (the trainer)."""
        if not b.texts:
            return np.zeros(0)
        x = block_features(b) if x is None else x
        first = self.first.predict_rows(x)
        return self.second.predict_rows(second_features(x, first, b))


def kept_text(b: Blocks, scores: np.ndarray, threshold: float) -> str:
    """The blocks scored above `threshold`, one per line."""
    return "\n".join(t for t, s in zip(b.texts, scores) if s > threshold)
