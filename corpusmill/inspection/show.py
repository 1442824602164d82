"""How a found document is shown: a rich panel in the terminal, or one JSON object a line.

Fields: id, source, url, lang (and score), stage and reason (removed documents), the annotations
the stages added, grouped by stage ({"quality": {"gopher.mean_word_length": 4.2, ...},
"duplicate_of": ...}), and the text, cut at max_chars unless full."""
from __future__ import annotations

import json
import math
from typing import Any, Iterable

from corpusmill.inspection.select import Found

CORE = ("id", "source", "url", "lang", "lang_score", "stage", "reason", "text")


def annotations(row: dict) -> dict[str, Any]:
    """Every column but the core ones, grouped by its first dotted part (the stage that wrote it)."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name in CORE or name.startswith("_"):
            continue
        head, _, rest = name.partition(".")
        if rest:
            group = out.setdefault(head, {})
            if isinstance(group, dict):
                group[rest] = _plain(value)
                continue
        out[name] = _plain(value)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 4)
    return v


def document(row: dict, full: bool, max_chars: int) -> dict:
    text = row.get("text") or ""
    cut = not full and len(text) > max_chars
    doc = {k: row.get(k) for k in ("id", "source", "url", "lang")}
    if row.get("lang_score") is not None:
        doc["lang_score"] = round(row["lang_score"], 3)
    if "stage" in row:
        doc["stage"], doc["reason"] = row.get("stage"), row.get("reason")
    doc["annotations"] = annotations(row)
    doc["text_chars"] = len(text)
    doc["text"] = text[:max_chars] if cut else text
    doc["text_truncated"] = cut
    return doc


def json_lines(found: Found, full: bool, max_chars: int) -> Iterable[str]:
    for row in found.rows:
        yield json.dumps(document(row, full, max_chars), ensure_ascii=False, default=str)


def summary(found: Found, what: str, seed: int | None) -> str:
    shown = len(found.rows)
    if not found.matched:
        return f"no document matches, among {found.scanned:,} {what} in {found.files} file(s)"
    if seed is not None:
        return f"{shown} sampled at random (seed {seed}) of {found.matched:,} matching, among {found.scanned:,} {what}"
    total = f"{found.matched:,}" if found.complete else f"more than {shown:,}"
    return f"{shown} (the first, in file order) of {total} matching, among {found.scanned:,} {what}"


def render(console, found: Found, full: bool, max_chars: int) -> None:
    """One panel per document on a rich Console."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    for row in found.rows:
        doc = document(row, full, max_chars)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")
        for key in ("source", "url", "lang"):
            value = doc.get(key)
            if key == "lang" and doc.get("lang_score") is not None:
                value = f"{value} ({doc['lang_score']})"
            grid.add_row(key, Text("-" if value is None else str(value)))
        if "stage" in doc:
            grid.add_row("removed", Text(f"{doc['stage']}: {doc['reason']}", style="bold red"))
        for group, value in doc["annotations"].items():
            if isinstance(value, dict):
                value = "  ".join(f"{k}={_short(v)}" for k, v in value.items())  # all of them: what a stage saw
                grid.add_row(group, Text(value))
                continue
            grid.add_row(group, Text(_short(value)))
        more = f"\n[… {doc['text_chars'] - max_chars:,} more characters: --full]" if doc["text_truncated"] else ""
        body = Table.grid()
        body.add_row(grid)
        body.add_row(Text(""))
        body.add_row(Text(doc["text"] + more))
        console.print(Panel(body, title=Text(str(doc["id"]), style="bold"), title_align="left",
                            subtitle=f"{doc['text_chars']:,} characters", subtitle_align="right"))


def _short(v: Any, limit: int = 80) -> str:
    s = "null" if v is None else json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, list) else str(v)
    return s if len(s) <= limit else s[:limit - 1] + "…"
