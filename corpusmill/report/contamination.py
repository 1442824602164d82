"""`corpus contamination OUT`: the decontaminate stage's findings per reference set, from stats.json."""
from __future__ import annotations

import json
from pathlib import Path

from corpusmill.common.config import ConfigError


def contamination(out: str | Path) -> dict:
    """{"documents": docs the stage saw, "ngram", "sets": {set: row}} of a build output."""
    path = Path(out) / "stats.json"
    if not path.exists():
        raise ConfigError(f"{out}: no stats.json: not a build output, or its build has not finished a run; run "
                          "`corpus build` first")
    summary = from_stats(json.loads(path.read_text()))
    if summary is None:
        raise ConfigError(f"{out}: this build has no `decontaminate` stage; add one to its stages and re-run")
    return summary


def from_stats(stats: dict) -> dict | None:
    """The same from a stats.json already read; None where the build had no decontaminate stage."""
    stage = stats.get("stages", {}).get("decontaminate")
    if stage is None:
        return None
    prepared = stage.get("prepared", {})
    counters = stage.get("counters", {})
    docs = counters.get("contamination.documents_by_set", {})
    ngrams = counters.get("contamination.ngrams_by_set", {})
    removed = stage.get("removed_by_reason", {})
    sets = {}
    for name, info in prepared.get("sets", {}).items():
        sets[name] = {"reference_texts": info["texts"], "short_texts": info["short_texts"],
                      "index": info["index"], "index_ngrams": info["ngrams"], "index_bytes": info["bytes"],
                      "false_positive_rate": info["false_positive_rate"], "documents": docs.get(name, 0),
                      "ngrams_matched": ngrams.get(name, 0), "removed": removed.get(f"contaminated:{name}", 0),
                      "files": info.get("files", [])}
    return {"documents": stage["in"], "ngram": prepared.get("ngram"), "sets": sets}


def format_table(summary: dict) -> str:
    head = ("set", "refs", "short", "index", "n-grams", "MB", "fp rate", "docs", "% docs", "matched", "removed")
    rows = [head]
    total = max(1, summary["documents"])
    for name, s in summary["sets"].items():
        rows.append((name, f"{s['reference_texts']:,}", f"{s['short_texts']:,}", s["index"], f"{s['index_ngrams']:,}",
                     f"{s['index_bytes'] / 1e6:.1f}", f"{s['false_positive_rate']:.1e}", f"{s['documents']:,}",
                     f"{100 * s['documents'] / total:.3f}", f"{s['ngrams_matched']:,}", f"{s['removed']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [f"{summary['documents']:,} documents checked against {len(summary['sets'])} reference sets "
             f"({summary['ngram']}-grams); a document matching several sets counts in each"]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)
