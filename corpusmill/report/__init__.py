"""report.html for a build output: funnel, removal reasons, length/language histograms, dedup
clusters, PII counts, bad words, and sample documents per removal reason and language; charts
drawn with plotly (plotly.js embedded once: the page works offline).

    write_report("out/cc")             # -> out/cc/report.html
    corpus report out/cc [--output F]  # the same from the command line
"""
from __future__ import annotations

from pathlib import Path

from corpusmill.report.source import ReportError, open_build_output

__all__ = ["ReportError", "write_report"]

DEFAULT_MAX_DOCS = 300_000  # documents whose text length is measured; beyond it, a sample


def write_report(out: str | Path, output: str | Path | None = None, *, max_docs: int = DEFAULT_MAX_DOCS) -> Path:
    """Write the report of the build output `out` (to OUT/report.html unless `output`); returns its path."""
    from corpusmill.common.files import atomic_write_text
    from corpusmill.report.page import render
    from corpusmill.report.samples import collect
    from corpusmill.report.scan import scan

    build = open_build_output(out)
    html = render(build, scan(build, max_docs=max_docs), collect(build))
    path = Path(output) if output is not None else build.root / "report.html"
    atomic_write_text(path, html)
    return path
