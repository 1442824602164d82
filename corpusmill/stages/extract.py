"""HTML to main text (`auto`: resiliparse, and trafilatura where a shipped model says it pays; or
trafilatura, resiliparse, or both: `hybrid`), with charset detection for
non-UTF-8 pages.

Rows that already carry text (JSONL, Parquet, WET...) pass through untouched. Non-HTML
responses, non-200 statuses and empty extractions are removed with their reason.
"""
from __future__ import annotations

import codecs
import re
import signal
import threading
from contextlib import contextmanager
from typing import Literal

import pyarrow as pa
from pydantic import Field

from corpusmill.common.config import Strict
from corpusmill.pipeline.stage import Decision, Stage

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_HTML_SNIFF = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)", re.I | re.S)


class ExtractOptions(Strict):
    # `hybrid` (trafilatura with favor_precision, resiliparse's text when that is 3x longer) was tuned on the
    # 181 ScrapingHub articles: 0.9699 there; on WCXB's dev split (7 page types) 0.8155, ~plain trafilatura.
    # `auto` (issue 15): resiliparse's two texts and a block model's texts (the page cut into DOM blocks with lxml,
    # each scored by two stages of boosted trees), the best picked per page by small shipped models, trafilatura
    # only where they predict it pays (extract_chooser.py, extract_blocks.py, trained by
    # tools/train_extract_chooser.py on WCXB dev + the ScrapingHub articles): cross-validated 0.851 on WCXB dev
    # (every page type at or above trafilatura's) at 2.5x hybrid's speed, but 0.930 on the ScrapingHub articles
    # (hybrid 0.970), so it is not the default.
    # Figures for every engine: docs/benchmarks.md.
    engine: Literal["hybrid", "auto", "trafilatura", "resiliparse"] = Field(
        "hybrid", description="Main-text extractor: auto (per page the best of resiliparse's texts and a "
        "block model's, picked by shipped models; trafilatura only where they predict it pays, with the settings "
        "it was trained with: the trafilatura/resiliparse options below do not apply to it), trafilatura, resiliparse, or hybrid (trafilatura, replaced by resiliparse's text when that is fallback_ratio times "
        "longer); see docs/benchmarks.md for word-F1 and speed.")
    fallback_ratio: float = Field(
        3.0, gt=0, description="hybrid: use resiliparse's text when it has at least this many times the characters "
        "of trafilatura's (trafilatura found too little of the page).")
    favor_precision: bool = Field(True, description="trafilatura: prefer less text but cleaner.")
    favor_recall: bool = Field(False, description="trafilatura: prefer more text.")
    fast: bool = Field(False, description="trafilatura: skip its fallback extractors (readability, jusText): "
                       "1.1-1.4x faster, lower word-F1 (docs/benchmarks.md).")
    include_tables: bool = Field(True, description="trafilatura: keep text inside tables.")
    include_comments: bool = Field(False, description="trafilatura: keep user comments.")
    deduplicate: bool = Field(False, description="trafilatura: drop repeated text segments.")
    main_content: bool = Field(True, description="resiliparse: strip boilerplate.")
    plain_text: bool = Field(
        False, description="Keep text/plain responses as documents (decoded, not extracted); off: robots.txt and the like.")
    timeout_s: float = Field(30.0, gt=0, description="Per-page time limit; slower pages are removed (extract_timeout).")


class ExtractTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """SIGALRM-based limit: only possible on the main thread, elsewhere no limit applies."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise ExtractTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def decode_html(raw: bytes, content_type: str | None) -> str:
    """Bytes to str: the HTTP charset, then the page's <meta> charset, then UTF-8, then detection."""
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    candidates = []
    m = _CHARSET.search(content_type or "")
    if m:
        candidates.append(m.group(1))
    m = _META_CHARSET.search(raw[:8192])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates.append("utf-8")
    for enc in candidates:
        try:
            codecs.lookup(enc)
            return raw.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    # Nothing declared decodes cleanly: let the detector guess, and never fail.
    return bytes_to_str(raw, detect_encoding(raw) or "utf-8")


def extract_text(html: str, options: ExtractOptions, url: str | None = None) -> str:
    """Main text of one page with the configured engine ('' when nothing is found)."""
    if options.engine == "auto":
        from corpusmill.stages.extract_chooser import load_chooser

        # trafilatura as the model was trained: ExtractOptions' defaults plus the model's own settings
        return load_chooser().extract(
            html, url, lambda trained: _trafilatura(html, ExtractOptions(engine="trafilatura", **trained), url))
    if options.engine == "resiliparse":
        return _resiliparse(html, options)
    if options.engine == "hybrid":
        text = _trafilatura(html, options, url)
        other = _resiliparse(html, options)
        return other if len(other) >= options.fallback_ratio * max(len(text), 1) else text
    return _trafilatura(html, options, url)


def _resiliparse(html: str, options: ExtractOptions) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=options.main_content, alt_texts=False,
                              links=False, form_fields=False, noscript=False, comments=False).strip()


def _trafilatura(html: str, options: ExtractOptions, url: str | None) -> str:
    import trafilatura

    text = trafilatura.extract(
        html, url=url, favor_precision=options.favor_precision, favor_recall=options.favor_recall,
        fast=options.fast, include_tables=options.include_tables, include_comments=options.include_comments,
        deduplicate=options.deduplicate, output_format="txt")
    return (text or "").strip()


def _kind(content_type: str | None, raw: bytes) -> str:
    mime = (content_type or "").split(";")[0].strip().lower()
    if "html" in mime:
        return "html"
    if mime == "text/plain":
        return "plain"
    if not mime and _HTML_SNIFF.match(raw[:1024]):
        return "html"
    return "other"


class Extract(Stage):
    name = "extract"
    Options = ExtractOptions
    produces_text = True

    def process(self, batch: pa.Table) -> Decision:
        opts = self.options
        texts = batch.column("text").to_pylist()
        contents = batch.column("content").to_pylist()
        ctypes = batch.column("content_type").to_pylist()
        statuses = batch.column("http_status").to_pylist()
        urls = batch.column("url").to_pylist()
        if opts.engine == "auto":
            from corpusmill.stages.extract_chooser import load_chooser

            load_chooser()  # a missing model fails the run here, not every page as extract_error
        reasons: list[str | None] = []
        for i, raw in enumerate(contents):
            if raw is None:  # already text, or nothing to extract from
                reasons.append(None)
                continue
            status = statuses[i]
            kind = _kind(ctypes[i], raw)
            if status is not None and status != 200:
                reasons.append(f"http_{status}")
            elif kind == "other" or (kind == "plain" and not opts.plain_text):
                reasons.append("not_html")
            else:
                text = decode_html(raw, ctypes[i])
                if kind == "html":
                    try:
                        with _time_limit(opts.timeout_s):
                            text = extract_text(text, opts, urls[i])
                    except ExtractTimeout:
                        reasons.append("extract_timeout")
                        continue
                    except Exception:  # a library bug on one odd page must not end the run
                        reasons.append("extract_error")
                        continue
                texts[i] = text.strip()
                reasons.append(None if texts[i] else "empty_extraction")
        table = batch.set_column(batch.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        return Decision(table, reasons)
