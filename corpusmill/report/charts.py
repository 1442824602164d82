"""The plotly figures of the report. Each function returns a Chart: a figure, or, where there is
nothing to draw (no removals, no langid, no dedup), a sentence saying why instead of an empty plot."""
from __future__ import annotations

from dataclasses import dataclass

from corpusmill.report.scan import Languages, Lengths, Pii
from corpusmill.report.summary import FunnelStep, Reason

MAX_LANGUAGES = 30
COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac")
KEPT, REMOVED, IDLE = "#4c78a8", "#e45756", "#c9ced6"


@dataclass
class Chart:
    id: str  # the div's id in the page
    title: str
    figure: object | None  # plotly.graph_objects.Figure; None: nothing to draw, see note
    note: str = ""  # shown under the title (why there is no chart, or how to read it)
    height: int = 360


def _layout(fig, height: int, **kw) -> None:
    fig.update_layout(template="plotly_white", height=height, margin=dict(l=10, r=20, t=30, b=10),
                      font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12),
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, traceorder="normal"), **kw)


def _counts(top: int, **kw) -> dict:
    """A count axis: whole numbers only (no 0.5 ticks when every count is small)."""
    return dict(rangemode="tozero", tickformat=",d", **({"dtick": 1} if top <= 8 else {}), **kw)


def funnel_chart(steps: list[FunnelStep]) -> Chart:
    import plotly.graph_objects as go

    if not steps or steps[0].docs_in == 0:
        return Chart("chart-funnel", "Funnel", None, "No documents were read.")
    labels = ["documents in", *(s.stage for s in steps)]
    values = [steps[0].docs_in, *(s.kept for s in steps)]
    colors = [KEPT, *(KEPT if s.removed else IDLE for s in steps)]
    removed = [0, *(s.removed for s in steps)]
    fig = go.Figure(go.Funnel(y=labels, x=values, marker=dict(color=colors), textinfo="value+percent initial",
                              customdata=removed, connector=dict(fillcolor="#eef0f2", line=dict(width=0)),
                              hovertemplate="%{y}: %{x:,} documents left (%{customdata:,} removed here)"
                                            "<extra></extra>"))
    height = 90 + 34 * len(labels)
    _layout(fig, height, showlegend=False)
    return Chart("chart-funnel", "Funnel: documents left after each stage", fig,
                 "Grey steps removed nothing. 'output' drops documents left with empty text; global stages "
                 "(dedup) run after it, over every part.", height)


def reasons_chart(reasons: list[Reason], stage_order: list[str]) -> Chart:
    import plotly.graph_objects as go

    if not reasons:
        return Chart("chart-reasons", "Removal reasons", None, "Nothing was removed: every document was kept.")
    fig = go.Figure()
    stages = list(dict.fromkeys(r.stage for r in reasons))
    for i, stage in enumerate(stages):
        rows = [r for r in reasons if r.stage == stage]
        color = COLORS[(stage_order.index(stage) if stage in stage_order else i) % len(COLORS)]
        fig.add_trace(go.Bar(name=stage, orientation="h", y=[f"{r.stage}: {r.reason}" for r in rows],
                             x=[r.count for r in rows], customdata=[r.bytes for r in rows], marker_color=color,
                             text=[f"{r.count:,}" for r in rows], textposition="auto",
                             hovertemplate="%{y}: %{x:,} documents, %{customdata:,} bytes<extra></extra>"))
    height = 110 + 26 * len(reasons)
    top = max(r.count for r in reasons)
    _layout(fig, height, barmode="stack", xaxis=_counts(top, title="documents removed"),
            yaxis=dict(autorange="reversed", automargin=True))
    return Chart("chart-reasons", "Removal reasons", fig, "Documents removed, per stage and reason.", height)


def _short(n: int) -> str:
    for div, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def _bin_label(edges: tuple[int, ...], i: int) -> str:
    """Bins hold [low, high): "0" (empty text), "1", "2–5" (2 to 4), ..., "1k–2k", "≥50M"."""
    lo = edges[i]
    if i + 1 == len(edges):
        return f"≥{_short(lo)}"
    hi = edges[i + 1]
    return _short(lo) if hi == lo + 1 else f"{_short(lo)}–{_short(hi)}"


def length_chart(lengths: Lengths) -> Chart:
    import plotly.graph_objects as go

    title = "Document length (characters)"
    if lengths.measured_before == 0:
        why = f"No document reached {lengths.first_stage}." if lengths.first_stage else "No stage saw any text."
        return Chart("chart-lengths", title, None, why)
    used = [i for i, (b, a) in enumerate(zip(lengths.before, lengths.after)) if a or b]
    lo, hi = used[0], used[-1] + 1
    labels = [_bin_label(lengths.edges, i) for i in range(lo, hi)]
    fig = go.Figure()
    for name, counts, total, color in (
            (f"before: entering {lengths.first_stage}", lengths.before, lengths.measured_before, IDLE),
            ("after: kept", lengths.after, lengths.measured_after, KEPT)):
        share = [100 * c / total if total else 0 for c in counts[lo:hi]]
        fig.add_trace(go.Bar(name=name, x=labels, y=counts[lo:hi], customdata=share, marker_color=color,
                             hovertemplate="%{x} chars: %{y:,} documents (%{customdata:.1f}%)<extra>"
                                           + name + "</extra>"))
    _layout(fig, 360, barmode="group", bargap=0.15, xaxis_title="characters (a bin holds low to high - 1)",
            yaxis=_counts(max(lengths.before[lo:hi] + lengths.after[lo:hi]), title="documents"),
            xaxis=dict(type="category"))
    note = (f"Before: the {lengths.rows_before:,} documents that entered {lengths.first_stage} (kept + removed "
            f"from there on); after: the {lengths.rows_after:,} kept.")
    if lengths.sampled:
        note += (f" Sampled: lengths measured on {lengths.measured_before:,} of {lengths.rows_before:,} documents "
                 f"before and {lengths.measured_after:,} of {lengths.rows_after:,} after (whole Parquet row "
                 "groups in a fixed hash order, the same on every run).")
    return Chart("chart-lengths", title, fig, note)


def language_chart(langs: Languages) -> Chart:
    import plotly.graph_objects as go

    title = "Languages"
    if not langs.labelled:
        return Chart("chart-languages", title, None,
                     "langid not run: no document has a language label (add a `langid` stage).")
    order = sorted(set(langs.kept) | set(langs.removed), key=lambda k: (-langs.kept[k] - langs.removed[k], k))
    top, rest = order[:MAX_LANGUAGES], order[MAX_LANGUAGES:]
    labels = top + ([f"{len(rest)} others"] if rest else [])
    fig = go.Figure()
    for name, counts, color in (("kept", langs.kept, KEPT), ("removed", langs.removed, REMOVED)):
        values = [counts[k] for k in top] + ([sum(counts[k] for k in rest)] if rest else [])
        fig.add_trace(go.Bar(name=name, x=labels, y=values, marker_color=color,
                             hovertemplate="%{x}: %{y:,} documents<extra>" + name + "</extra>"))
    top = max(langs.kept[k] + langs.removed[k] for k in order)
    _layout(fig, 340, barmode="stack", yaxis=_counts(top, title="documents"), xaxis=dict(type="category"))
    note = "Language label (lang) of kept documents and of removed ones that had one."
    if langs.unlabelled_kept:
        note += f" {langs.unlabelled_kept:,} kept documents have no label."
    return Chart("chart-languages", title, fig, note, 340)


def dedup_chart(clusters: dict[str, dict]) -> Chart:
    import plotly.graph_objects as go

    title = "Duplicate clusters"
    if not clusters:
        return Chart("chart-dedup", title, None, "dedup not run: no stage reports duplicate clusters.")
    if not any(c["sizes"] for c in clusters.values()):
        return Chart("chart-dedup", title, None, "dedup ran and found no duplicate clusters.")
    fig = go.Figure()
    for i, (stage, c) in enumerate(clusters.items()):
        fig.add_trace(go.Bar(name=stage, x=[s for s, _ in c["sizes"]], y=[n for _, n in c["sizes"]],
                             marker_color=COLORS[i % len(COLORS)], text=[f"{n:,}" for _, n in c["sizes"]],
                             textposition="auto",
                             hovertemplate="size %{x}: %{y:,} clusters<extra>" + stage + "</extra>"))
    top = max((n for c in clusters.values() for _, n in c["sizes"]), default=0)
    _layout(fig, 320, showlegend=len(clusters) > 1, bargap=0.4, xaxis_title="documents per cluster",
            yaxis=_counts(top, title="clusters"), xaxis=dict(type="category"))
    note = "; ".join(f"{s}: {c['count']:,} clusters holding {c['documents']:,} documents, the largest "
                     f"{c['largest']:,}" for s, c in clusters.items())
    return Chart("chart-dedup", title, fig, note + " (one document of each cluster is kept).", 320)


def pii_chart(pii: Pii, mode: str | None) -> Chart:
    import plotly.graph_objects as go

    title = "Personal information (PII)"
    if not pii.kinds:
        return Chart("chart-pii", title, None, "PII not looked for: no `sensitive` stage with pii (or pii: off).")
    scanned = pii.scanned["kept"] + pii.scanned["removed"]
    if not any(pii.matches[k][kind] for k in ("kept", "removed") for kind in pii.kinds):
        return Chart("chart-pii", title, None, f"Looked for {', '.join(pii.kinds)} in {scanned:,} documents: "
                                               "none found.")
    fig = go.Figure()
    for where, color in (("kept", KEPT), ("removed", REMOVED)):
        fig.add_trace(go.Bar(name=f"in {where} documents", x=pii.kinds, y=[pii.matches[where][k] for k in pii.kinds],
                             customdata=[pii.documents[where][k] for k in pii.kinds], marker_color=color,
                             hovertemplate="%{x}: %{y:,} found in %{customdata:,} documents<extra>" + where
                                           + "</extra>"))
    top = max(pii.matches["kept"][k] + pii.matches["removed"][k] for k in pii.kinds)
    _layout(fig, 300, barmode="stack", yaxis=_counts(top, title="occurrences"), xaxis=dict(type="category"))
    verb = {"redact": "found and redacted", "annotate": "found (annotated, text unchanged)"}.get(mode or "", "found")
    return Chart("chart-pii", title, fig, f"Occurrences {verb} by the sensitive stage, in the {scanned:,} "
                                          "documents it saw.", 300)
