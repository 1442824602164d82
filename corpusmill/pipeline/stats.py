"""stats.json: the per-part counts summed per source, per stage and overall."""
from __future__ import annotations

from typing import Any

from corpusmill.pipeline.accounting import merge_stage_dicts


def aggregate(part_stats: list[dict], failed: list[dict], seconds: float, stage_order: list[str],
              global_stats: dict[str, dict] | None = None) -> dict[str, Any]:
    """global_stats: {stage: {"stage": counts, "sources": {source: counts}}} of global stages,
    which remove documents after the per-part phase (kept moves to removed)."""
    sources: dict[str, dict] = {}
    stages: dict[str, dict] = {}
    problems: list[dict] = []
    skipped: dict[str, int] = {}
    files: dict[str, dict] = {}
    for s in part_stats:
        f = files.setdefault(s["path"], {"source": s["source"], "documents_in": 0, "kept": 0,
                                         "removed": {}, "problems": {}})
        f["documents_in"] += s["documents_in"]
        f["kept"] += s["kept"]
        for stage, d in s["stages"].items():
            for reason, n in d["removed_by_reason"].items():
                f["removed"][f"{stage}/{reason}"] = f["removed"].get(f"{stage}/{reason}", 0) + n
        for p in s["problems"]:
            f["problems"][p["reason"]] = f["problems"].get(p["reason"], 0) + p["count"]
        src = sources.setdefault(s["source"], {"files": set(), "parts": 0, "documents_in": 0, "kept": 0,
                                               "removed": 0, "stages": {}})
        src["files"].add(s["path"])
        src["parts"] += 1
        for k in ("documents_in", "kept", "removed"):
            src[k] += s[k]
        merge_stage_dicts(src["stages"], s["stages"])
        merge_stage_dicts(stages, s["stages"])
        problems.extend({"source": s["source"], **p} for p in s["problems"])
        for kind, n in s["skipped_records"].items():
            skipped[kind] = skipped.get(kind, 0) + n
    path_of = {s["part"]: s["path"] for s in part_stats}
    for name, g in (global_stats or {}).items():
        stages[name] = g["stage"]
        for part, counts in g.get("parts", {}).items():  # per file too, so files agree with sources
            f = files[path_of[part]]
            f["kept"] -= counts["removed"]
            for reason, n in counts["removed_by_reason"].items():
                f["removed"][f"{name}/{reason}"] = f["removed"].get(f"{name}/{reason}", 0) + n
        for source, counts in g["sources"].items():
            src = sources[source]
            src["stages"][name] = counts
            src["kept"] -= counts["removed"]
            src["removed"] += counts["removed"]
    for src in sources.values():
        src["files"] = len(src["files"])
        src["stages"] = _ordered(src["stages"], stage_order)
    totals = {k: sum(s[k] for s in sources.values()) for k in ("documents_in", "kept", "removed")}
    totals["bytes_in"] = stages.get("ingest", {}).get("bytes_in", 0)
    last = stages[stage_order[-1]] if stage_order and stage_order[-1] in stages else stages.get("output", {})
    totals["bytes_kept"] = last.get("bytes_in", 0) - last.get("bytes_removed", 0)
    return {
        "totals": totals,
        "accounting_ok": totals["documents_in"] == totals["kept"] + totals["removed"] and all(
            s["documents_in"] == s["kept"] + s["removed"] for s in sources.values()),
        "stages": _ordered(stages, stage_order),
        "sources": dict(sorted(sources.items())),
        "problems": sorted(problems, key=lambda p: (p["file"], p["reason"])),
        "skipped_records": dict(sorted(skipped.items())),
        "files": dict(sorted(files.items())),
        "failed_parts": failed,
        "parts": len(part_stats) + len(failed),
        "seconds": round(seconds, 3),
        "cpu_seconds_in_parts": round(sum(s["seconds"] for s in part_stats), 3),
    }


def _ordered(stages: dict, order: list[str]) -> dict:
    return {name: stages[name] for name in order if name in stages}
