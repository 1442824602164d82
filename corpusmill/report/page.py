"""The HTML page: summary tables and the charts, with plotly.js inlined once (no network at view time)."""
from __future__ import annotations

import datetime as dt
from html import escape

from corpusmill.report import charts as ch
from corpusmill.report.contamination import from_stats
from corpusmill.report.samples import PER_KEY, Group, Samples
from corpusmill.report.scan import Scan
from corpusmill.report.source import BuildOutput
from corpusmill.report.summary import badwords, dedup_clusters, funnel, removal_reasons

PLOT_CONFIG = '{"displaylogo": false, "displayModeBar": false, "responsive": true}'
# Run once the whole page is laid out, so each chart takes its final width (a chart drawn while
# the grid is half-parsed would keep the full page width and be cut).
DRAW = ("<script>document.querySelectorAll('div.chart').forEach(function(d){"
        "var f=JSON.parse(document.getElementById('data-'+d.id).textContent);"
        "Plotly.newPlot(d,f.data,f.layout," + PLOT_CONFIG + ");});</script>")
CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f5f6f8;color:#1f2328}
main{max-width:1200px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:0 0 4px}
.meta{color:#59636e;font-size:13px;margin-bottom:16px;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(118px,1fr));gap:10px;margin-bottom:16px}
.card,section{background:#fff;border:1px solid #dde1e6;border-radius:8px}
.card{padding:10px 14px} .card b{display:block;font-size:20px} .card span{color:#59636e;font-size:12px}
.card.bad b{color:#cf222e}
section{padding:14px 16px;margin-bottom:16px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.grid section{margin-bottom:0} .grid{margin-bottom:16px}
.note{color:#59636e;font-size:13px;margin:2px 0 8px} .empty .note{font-style:italic;padding:24px 0}
table{border-collapse:collapse;font-size:13px;width:100%} th,td{padding:4px 8px;border-bottom:1px solid #eef0f2}
th{text-align:left;color:#59636e;font-weight:600} td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.idle{color:#8c959f} .warn{color:#cf222e}
h3{font-size:14px;margin:12px 0 4px} details{margin:3px 0} details.doc{margin-left:18px}
summary{cursor:pointer} summary .n{color:#59636e;font-size:12px} summary code{font-size:12px}
pre.text{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border-radius:6px;padding:8px 10px;
font-size:12px;max-height:360px;overflow:auto;margin:4px 0 8px}
"""


def render(build: BuildOutput, scan: Scan, samples: Samples | None = None) -> str:
    from plotly.offline import get_plotlyjs

    stats = build.stats
    steps = funnel(stats)
    charts = [ch.funnel_chart(steps), ch.reasons_chart(removal_reasons(stats), build.stage_order),
              ch.length_chart(scan.lengths), ch.language_chart(scan.languages),
              ch.dedup_chart(dedup_clusters(stats)), ch.pii_chart(scan.pii, _pii_mode(build))]
    funnel_c, reasons_c, *pairs = charts
    body = [_header(build), _section(funnel_c), _stages_table(steps), _section(reasons_c),
            '<div class="grid">', *(_section(c) for c in pairs[:2]), "</div>",
            '<div class="grid">', *(_section(c) for c in pairs[2:]), "</div>",
            _contamination_section(build), _against_section(stats), _badwords_table(stats),
            _samples_section(samples, build), _sources_table(stats), _problems(stats)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>corpusmill report: {escape(build.root.name)}</title>"
            f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head>\n<body><main>\n"
            + "\n".join(body) + f"\n</main>{DRAW}</body></html>\n")


def _pii_mode(build: BuildOutput) -> str | None:
    opts = build.stage_options("sensitive")
    if opts is None:
        return None
    pii = opts.get("pii", "redact")
    return pii.get("mode", "redact") if isinstance(pii, dict) else str(pii)


def _section(c: ch.Chart) -> str:
    head = f"<h2>{escape(c.title)}</h2><p class=\"note\">{escape(c.note)}</p>"
    if c.figure is None:
        return f'<section class="empty" data-chart="{c.id}" data-empty="true"><h2>{escape(c.title)}</h2>' \
               f'<p class="note">{escape(c.note)}</p></section>'
    data = c.figure.to_json().replace("</", "<\\/")  # no "</script>" can end the script early
    return (f'<section>{head}<div class="chart" id="{c.id}" data-chart="{c.id}" style="height:{c.height}px">'
            f'</div><script type="application/json" id="data-{c.id}">{data}</script></section>')


def _n(v) -> str:
    return f"{v:,}" if isinstance(v, int) else escape(str(v))


def _table(headers: list[str], rows: list[list], numeric: set[int], idle: list[bool] | None = None) -> str:
    th = "".join(f'<th class="n">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
                 for i, h in enumerate(headers))
    trs = []
    for r, row in enumerate(rows):
        cls = ' class="idle"' if idle and idle[r] else ""
        tds = "".join(f'<td class="n">{_n(v)}</td>' if i in numeric else f"<td{cls}>{_n(v)}</td>"
                      for i, v in enumerate(row))
        trs.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _header(build: BuildOutput) -> str:
    stats, t = build.stats, build.stats["totals"]
    problems = sum(p["count"] for p in stats.get("problems", []))
    failed = len(stats.get("failed_parts", []))
    cards = [("documents in", f"{t['documents_in']:,}", False),
             (f"kept ({_pct(t['kept'], t['documents_in'])})", f"{t['kept']:,}", False),
             ("removed", f"{t['removed']:,}", False),
             ("bytes in", _bytes(t.get("bytes_in", 0)), False),
             ("bytes kept", _bytes(t.get("bytes_kept", 0)), False),
             ("input problems", f"{problems:,}", problems > 0),
             ("failed parts", f"{failed:,}", failed > 0),
             ("run seconds", f"{stats.get('seconds', 0):,.1f}", False)]
    meta = [f"output {escape(str(build.root.resolve()))}", f"{stats.get('parts', 0):,} parts"]
    if build.config:
        meta.append(f"corpusmill {escape(str(build.config.get('corpusmill', '?')))}")
    if build.config_hash:
        meta.append(f"config {build.config_hash} (sha256 of _state/config.json)")
    if not stats.get("accounting_ok", True):
        meta.append('<span class="warn">accounting mismatch: in ≠ kept + removed</span>')
    meta.append(f"report written {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    html = "".join(f'<div class="card{" bad" if bad else ""}"><b>{escape(v)}</b><span>{escape(k)}</span></div>'
                   for k, v, bad in cards)
    return f'<h1>corpusmill build report</h1><div class="meta">{" · ".join(meta)}</div><div class="cards">{html}</div>'


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def _stages_table(steps) -> str:
    rows = [[s.stage, s.docs_in, s.kept, s.removed, _pct(s.removed, s.docs_in), _bytes(s.bytes_in),
             _bytes(s.bytes_removed)] for s in steps]
    return ("<section><h2>Per stage</h2>" + _table(["stage", "in", "kept", "removed", "removed %", "bytes in",
                                                    "bytes removed"], rows, {1, 2, 3, 4, 5, 6},
                                                   [s.removed == 0 for s in steps]) + "</section>")


def _contamination_section(build: BuildOutput) -> str:
    summary = from_stats(build.stats)
    if summary is None:
        return ""
    mode = (build.stage_options("decontaminate") or {}).get("mode", "remove")
    docs = summary["documents"]
    note = (f'<p class="note">{docs:,} documents looked up in each evaluation set by {summary["ngram"]}-grams '
            f"(mode {escape(str(mode))}); a document matching several sets counts in each. Per document: the "
            "<code>decontaminate.*</code> columns; the same table: <code>corpus contamination OUT</code>.</p>")
    rows = [[name, s["reference_texts"], s["index"], s["index_ngrams"], f"{s['false_positive_rate']:.1e}",
             s["documents"], _pct(s["documents"], docs), s["ngrams_matched"], s["removed"]]
            for name, s in summary["sets"].items()]
    return ("<section><h2>Contamination per reference set</h2>" + note + _table(
        ["set", "reference texts", "index", "index n-grams", "false-positive rate", "documents matched",
         "of documents", "n-grams matched", "removed"], rows, {1, 3, 5, 6, 7, 8}) + "</section>")


def _against_section(stats: dict) -> str:
    against = stats["stages"].get("dedup", {}).get("against")
    if not against:
        return ""
    note = ('<p class="note">Documents of this build removed as exact, URL or near duplicates of a document an '
            "earlier build kept (<code>duplicate_in</code> names it in removed/dedup/); the earlier builds were read, "
            "never written. Signatures: computed from their documents, read from the cache beside this build, or "
            "taken from their own kept dedup state.</p>")
    rows = [[build, b["documents"], b["removed"], str(b.get("fingerprint", ""))[:12],
             ", ".join(f"{k} {v}" for k, v in b.get("signatures", {}).items() if v)]
            for build, b in against["builds"].items()]
    return ("<section><h2>Dedup against earlier builds</h2>" + note + _table(
        ["earlier build", "its documents", "removed here as its duplicates", "fingerprint", "signatures (files)"],
        rows, {1, 2}) + "</section>")


def _badwords_table(stats: dict) -> str:
    rows = badwords(stats)
    if rows is None:
        return ""
    head = "<section><h2>Bad words</h2>"
    if not rows:
        return head + '<p class="note">Looked for listed words: none found.</p></section>'
    note = ('<p class="note">The listed words found by the sensitive stage, most removals first: documents '
            "that held each (kept or removed) and documents removed for bad words that held it (a document "
            "counts once per different word). The `sensitive.badwords.words` column has them per document.</p>")
    return head + note + _table(["word", "documents holding it", "removed holding it"],
                                [[r.word, r.documents, r.removed] for r in rows], {1, 2}) + "</section>"


def _samples_section(samples: Samples | None, build: BuildOutput) -> str:
    if samples is None or not (samples.reasons or samples.languages):
        return ""
    out = ["<section><h2>Sample documents</h2>",
           f'<p class="note">Up to {PER_KEY} documents per removal reason and per language of the kept documents, '
           "picked at random (the same on every run); click to read. More: <code>corpus inspect "
           f"{escape(str(build.root))} --reason REASON</code> or <code>--lang LANG</code>.</p>"]
    for title, groups in (("Removed, per reason", samples.reasons), ("Kept, per language", samples.languages)):
        if groups:
            out.append(f"<h3>{escape(title)}</h3>" + "".join(_group(g) for g in groups))
    return "".join(out) + "</section>"


def _group(g: Group) -> str:
    docs = []
    for s in g.samples:
        head = " ".join((s.text[:160].split()))
        more = (f"\n[… {s.chars - len(s.text):,} more characters: corpus inspect OUT --id {s.id} --full]"
                if s.chars > len(s.text) else "")
        where = " · ".join(escape(str(v)) for v in (s.source, s.url, s.lang) if v)
        docs.append(f'<details class="doc"><summary><code>{escape(s.id)}</code> <span class="n">{where}</span><br>'
                    f"{escape(head)}{'…' if len(s.text) > 160 else ''}</summary>"
                    f'<pre class="text">{escape(s.text + more)}</pre></details>')
    return (f'<details class="group"><summary>{escape(g.label)} <span class="n">{g.count:,} documents</span>'
            f"</summary>{''.join(docs)}</details>")


def _sources_table(stats: dict) -> str:
    rows = [[name, s.get("files", 0), s.get("parts", 0), s["documents_in"], s["kept"], s["removed"],
             _pct(s["kept"], s["documents_in"])] for name, s in stats["sources"].items()]
    if not rows:
        return '<section><h2>Per source</h2><p class="note">No source was read.</p></section>'
    return "<section><h2>Per source</h2>" + _table(["source", "files", "parts", "in", "kept", "removed", "kept %"],
                                                   rows, {1, 2, 3, 4, 5, 6}) + "</section>"


def _problems(stats: dict) -> str:
    out = ["<section><h2>Problems</h2>"]
    problems, failed = stats.get("problems", []), stats.get("failed_parts", [])
    if not problems and not failed:
        out.append('<p class="note">None: every input record was read and every part finished.</p>')
    if problems:
        out.append('<p class="note">Input that could not be read, counted per file and reason (never silently '
                   "dropped).</p>")
        rows = [[p.get("source", ""), p["file"], p["reason"], p["count"],
                 "; ".join(f"{e.get('position', '')}: {e.get('detail', '')}" for e in p.get("examples", [])[:1])]
                for p in problems]
        out.append(_table(["source", "file", "reason", "count", "first example"], rows, {3}))
    if failed:
        out.append(f'<p class="note warn">{len(failed)} parts failed; their documents are not in this output.</p>')
        out.append(_table(["file", "part", "error"], [[f.get("file", ""), f.get("part", ""), f.get("failed", "")]
                                                     for f in failed], set()))
    skipped = stats.get("skipped_records") or {}
    if skipped:
        out.append('<p class="note">Records skipped on purpose (not documents): '
                   + escape(", ".join(f"{k} {v:,}" for k, v in skipped.items())) + ".</p>")
    return "".join(out) + "</section>"
