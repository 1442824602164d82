"""fit.html: each proxy's measured bits per byte against the fit's leave-one-out prediction (the
honest one: the model that predicts a run never saw it), plotly.js inlined so it opens offline."""
from __future__ import annotations

from pathlib import Path

from corpusmill.common.files import atomic_path


def write_plot(path: Path, rows: list[dict], loo: list[float], summary: dict) -> None:
    import plotly.graph_objects as go

    measured = [r["bpb"] for r in rows]
    lo, hi = min(measured + loo), max(measured + loo)
    text = [f"proxy {r['proxy']}<br>" + "<br>".join(f"{n} {w:.3f}" for n, w in r["weights"].items()) for r in rows]
    fig = go.Figure([
        go.Scatter(x=measured, y=loo, mode="markers", text=text, hoverinfo="text+x+y", name="proxy runs"),
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=dict(dash="dash", color="grey"), name="y = x"),
    ])
    fig.update_layout(template="plotly_white", xaxis_title="measured held-out bits per byte",
                      yaxis_title="predicted (leave-one-out)",
                      title=f"{summary['fit']} fit over {summary['proxies']} proxies: leave-one-out R² "
                            f"{summary['r2_loo']:.3f}; proposed {summary['proposed']}")
    with atomic_path(path) as tmp:
        fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)
