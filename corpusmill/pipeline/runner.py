"""`corpus build`: plan parts, skip finished ones, run the rest on Ray actors, write stats.json."""
from __future__ import annotations

import json
import time
from pathlib import Path

import ray

from corpusmill import __version__
from corpusmill.common import artifact
from corpusmill.common.lock import exclusive
from corpusmill.common.units import Actors, run_units
from corpusmill.console import log
from corpusmill.faults import kill_point
from corpusmill.pipeline.config import BuildConfig, ConfigError
from corpusmill.pipeline import annotate
from corpusmill.pipeline.global_stages import run_global
from corpusmill.common.files import atomic_write_text
from corpusmill.pipeline.output import Output
from corpusmill.pipeline.parts import Part, file_signature, plan_parts
from corpusmill.common.ray_session import cluster_address, ray_session
from corpusmill.pipeline.limit import limit_parts
from corpusmill.pipeline.registry import build_stages, reader_class
from corpusmill.pipeline.stage import GlobalStage, Stage
from corpusmill.pipeline.stats import aggregate
from corpusmill.pipeline.worker import FINAL, INGEST, PartProcessor

ANNOTATE_CONFIG = "annotate_config.json"
LOW_YIELD_SHARE = 0.01  # a source keeping under 1% of its documents gets a warning


def check_config(cfg: BuildConfig) -> tuple[list[Part], list[str], list[Stage]]:
    """Everything that can be known wrong before work starts: the parts, the stage order (with the
    engine's own ingest/output steps) and the configured stages."""
    stages = build_stages(cfg.stages)
    if cfg.mode == "annotate":  # global stages run in `corpus select`, on what it keeps
        stages = annotate.check(cfg, stages)
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ConfigError(f"stages: each stage may appear once, got {names}")
    is_global = [isinstance(s, GlobalStage) for s in stages]
    if any(is_global) and not all(is_global[is_global.index(True):]):
        raise ConfigError(f"stages: global stages ({[n for n, g in zip(names, is_global) if g]}) "
                          "must come after every per-document stage")
    parts = plan_parts(cfg)
    if cfg.limit:
        parts = limit_parts(cfg, parts)
    for s in stages:
        s.check(cfg.output)
    for note in (n for s in stages for n in s.notices()):  # a changed default, said before any work
        log.warning("%s", note)
    raw = sorted({p.source for p in parts if reader_class(p.format).raw_content})
    raw_formats = sorted({p.format for p in parts if reader_class(p.format).raw_content})
    if raw and not any(s.produces_text for s in stages):
        raise ConfigError(f"inputs {raw} are {'/'.join(f.upper() for f in raw_formats)} (raw HTML): add an `extract` "
                          "stage to `stages`")
    if any(is_global) and cfg.partition_by:  # global stages read documents/part-*.parquet directly
        raise ConfigError("partition_by cannot be combined with global stages (dedup) yet: "
                          "partition the deduplicated output in a second build")
    local = [n for n, g in zip(names, is_global) if not g]
    return parts, [INGEST, *local, FINAL, *[n for n, g in zip(names, is_global) if g]], stages


def config_fingerprint(cfg: BuildConfig, stages: list[Stage]) -> dict:
    """What decides the output: every stage's options spelled out (defaults included, so `{}` and
    the defaults written out are one config), inputs with normalised paths; not where it runs
    (ray), not how it batches (batch_size), not the output folder itself."""
    # keys added later: at their defaults, earlier outputs still resume
    unset = ({"limit"} if cfg.limit is None else set()) | ({"mode"} if cfg.mode == "build" else set())
    config = cfg.model_dump(mode="json", exclude={"ray", "batch_size", "output", *unset})
    config["inputs"] = [spec.fingerprint() for spec in cfg.inputs]
    config["stages"] = [{s.name: s.options.model_dump(mode="json")} for s in stages]
    if cfg.limit is not None:  # which N records: an output limited by the earlier rule (first N) is another build
        config["limit_rule"] = "spread over parts by bytes"
    return {"corpusmill": __version__, "config": config}


def run_build(cfg: BuildConfig, *, fresh: bool = False, ray_address: str | None = None,
              num_cpus: int | None = None, config_path: str | None = None) -> dict:
    parts, stage_order, stages = check_config(cfg)
    ray_address = cluster_address(ray_address or cfg.ray.address)  # before --fresh touches anything
    out = Output(cfg.output)
    with exclusive(out.root, "build output"):  # one writer; taken before anything in OUT is touched
        if fresh:
            out.reset()
        stats = _build(cfg, out, parts, stage_order, stages, ray_address, num_cpus)
        if cfg.mode == "annotate":  # `corpus select`'s config, and the part order dedup keeps the first of
            atomic_write_text(out.state / ANNOTATE_CONFIG, json.dumps(
                {"config": cfg.model_dump(mode="json"), "parts": [p.part_id for p in parts]}, indent=1))
        _write_artifact(cfg, out, stats, stages, config_path)
    failed = stats["failed_parts"]
    pending = [s.name for s in stages if isinstance(s, GlobalStage) and not out.global_done(s.name)]
    if failed and pending:
        raise ConfigError(f"{len(failed)} parts failed, so {pending} did not run (it needs every part); see "
                          f"stats.json, fix and re-run (first: {failed[0]['file']}: {failed[0]['failed']})")
    return stats


def _build(cfg: BuildConfig, out: Output, parts: list[Part], stage_order: list[str], stages: list[Stage],
           ray_address: str | None, num_cpus: int | None) -> dict:
    t0 = time.perf_counter()
    # corpusmill <= dcfc3f4 recorded the raw config (ray left out): still the same build
    legacy_exclude = {"ray", "mode"} if cfg.mode == "build" else {"ray"}
    legacy = {"corpusmill": __version__, "config": {**cfg.model_dump(exclude=legacy_exclude, mode="json"),
                                                    "inputs": [spec.fingerprint() for spec in cfg.inputs]}}
    changed = out.prepare(config_fingerprint(cfg, stages), legacy)
    if changed:
        raise ConfigError(f"{cfg.output} holds a build made with another configuration or version (differs in: "
                          f"{', '.join(changed[:12])}); re-run with --fresh to start over")
    artifact.clear(out.root)  # from here the output changes: not complete until the end says so
    global_stages = [s for s in stages if isinstance(s, GlobalStage)]
    _follow_input_changes(out, parts, global_stages)
    done = {p.part_id: out.part_stats(p.part_id) for p in parts if out.is_done(p.part_id)}
    for p in parts:
        if p.part_id in done and done[p.part_id].get("input_signature") != file_signature(p.path):
            raise ConfigError(f"{p.path} changed since this output was built from it; re-run with --fresh")
    todo = [p for p in parts if p.part_id not in done]
    failed: list[dict] = []
    pending = [g for g in global_stages if not out.global_done(g.name)]
    log.info("build: %d parts from %d inputs (%d finished earlier); stages %s -> %s", len(parts),
             len(cfg.inputs), len(done), ", ".join(s.name for s in stages), out.root)
    if todo or pending:
        with ray_session(ray_address or cfg.ray.address, num_cpus or cfg.ray.num_cpus) as cpus:
            log.debug("ray: %d CPUs (%s)", cpus, ray_address or cfg.ray.address or "embedded")
            if todo:
                for stage in stages:  # state every worker shares, built here once (decontaminate's index)
                    info = None if isinstance(stage, GlobalStage) else stage.prepare()
                    if info is not None:
                        out.save_prepared(stage.name, info)
                failed = _run_parts(cfg, stages, todo, len(parts), cpus)
            for g in pending if not failed else []:  # global stages need every part
                log.info("%s: over all %d parts", g.name, len(parts))
                g.ensure_setup()
                out.mark_global_done(g.name, run_global(g, str(out.root), [p.part_id for p in parts], cpus))
    global_stats = {g.name: out.global_stats(g.name) for g in global_stages if out.global_done(g.name)}
    part_stats = [done.get(p.part_id) or out.part_stats(p.part_id) for p in parts
                  if p.part_id in done or out.is_done(p.part_id)]
    stats = aggregate(part_stats, failed, time.perf_counter() - t0, stage_order, global_stats)
    for name, info in out.prepared().items():
        if name in stats["stages"]:
            stats["stages"][name]["prepared"] = info
    kill_point("build.stats")
    atomic_write_text(out.root / "stats.json", json.dumps(stats, indent=1, ensure_ascii=False))
    t = stats["totals"]
    log.info("build: %d documents in, %d kept, %d removed, %d input problems, %.1f s; wrote documents/, "
             "removed/<stage>/ and stats.json to %s", t["documents_in"], t["kept"], t["removed"],
             sum(p["count"] for p in stats["problems"]), stats["seconds"], out.root)
    _warn_low_yield(stats)
    _warn_problems(stats)
    return stats


def _warn_problems(stats: dict) -> None:
    """One summary at the end: problems are counted per record as they happen, and easy to miss."""
    problems = stats["problems"]
    if not problems:
        return
    reasons: dict[str, int] = {}
    for p in problems:
        reasons[p["reason"]] = reasons.get(p["reason"], 0) + p["count"]
    files = sorted({p["file"] for p in problems})
    log.warning("input problems: %d in %d file(s) (%s), e.g. %s; each is in stats.json under `problems` with "
                "positions", sum(reasons.values()), len(files),
                ", ".join(f"{r} {n}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])), files[0])


def _follow_input_changes(out: Output, parts: list[Part], global_stages: list[GlobalStage]) -> None:
    """Files added to or gone from the inputs since the last run: global stages that ran over
    another set of parts are undone (documents/ restored) so they run again over all of them, and
    the documents of files that are gone are removed. The result equals a fresh build."""
    ids = [p.part_id for p in parts]
    gone = sorted(set(out.finished_parts()) - set(ids))
    for g in reversed(global_stages):
        earlier = g.planned_parts(str(out.root))
        if earlier is not None and earlier != ids:
            added = len(set(ids) - set(earlier))
            log.warning("%s: the inputs changed since it ran (%d parts added, %d gone): restoring documents/ and "
                        "running it again over all %d parts", g.name, added, len(set(earlier) - set(ids)), len(ids))
            g.undo(str(out.root))
            out.forget_global(g.name)
    for part_id in gone:
        path = out.forget_part(part_id)
        log.warning("build: %s is no longer among the inputs: its documents were removed from the output", path)


def _warn_low_yield(stats: dict) -> None:
    """Loudly: a source that keeps (almost) nothing is usually a wrong threshold or format, not data."""
    for name, s in stats["sources"].items():
        if s["documents_in"] and s["kept"] < LOW_YIELD_SHARE * s["documents_in"]:
            log.warning("source %s kept %d of %d documents (under %.0f%%): check its format and the stage "
                        "thresholds (stats.json, report.html, `removed/`)", name, s["kept"], s["documents_in"],
                        100 * LOW_YIELD_SHARE)


def _write_artifact(cfg: BuildConfig, out: Output, stats: dict, stages: list[Stage], config_path: str | None) -> None:
    pending = [s.name for s in stages if isinstance(s, GlobalStage) and not out.global_done(s.name)]
    failed = len(stats["failed_parts"])
    unfinished = ", ".join(([f"{failed} parts failed"] if failed else []) + [f"{n} did not run" for n in pending])
    docs = sorted(p for p in (out.root / "documents").rglob("*.parquet")) if (out.root / "documents").is_dir() else []
    command = f"corpus build {Path(config_path).resolve()}" if config_path else None
    artifact.write(out.root, "build", config=config_fingerprint(cfg, stages),
                   fingerprint=artifact.files_fingerprint(out.root, docs, extra={
                       "totals": stats["totals"], "config": artifact.sha256_json(config_fingerprint(cfg, stages))}),
                   inputs=[{"kind": "files", "path": f, "source": v["source"]} for f, v in stats["files"].items()]
                   + [i for s in stages for i in s.lineage(str(out.root), stats["stages"].get(s.name, {}))],
                   status=artifact.INCOMPLETE if unfinished else artifact.COMPLETE,
                   details={"documents": stats["totals"]["kept"], "unfinished": unfinished or None, "mode": cfg.mode,
                            "sources": {n: s["kept"] for n, s in stats["sources"].items()}, "command": command})


def _run_parts(cfg: BuildConfig, stages: list[Stage], todo: list[Part], total: int, cpus: int) -> list[dict]:
    """The per-part phase on one actor per CPU (each loads the stages' models once); returns the
    parts that failed."""
    worker_cls = ray.remote(num_cpus=1)(PartProcessor)
    local = [s for s in stages if not isinstance(s, GlobalStage)]
    shipped = ray.put(local)  # once: every actor reads the stages' arrays from the same object
    actors = [worker_cls.remote(cfg, shipped) for _ in range(min(cpus, len(todo)))]
    failed, docs = [], 0

    def note(result: dict) -> str:
        nonlocal docs
        docs += result.get("documents_in", 0)
        return f"{docs:,} docs"

    try:
        units = [(p.to_dict(),) for p in todo]
        for _, result in _results(run_units(units, Actors(actors, "run"), window=len(actors), label="build",
                                            unit_name="parts", note=note, kill="build.part",
                                            done_before=total - len(todo))):
            if "failed" in result:
                failed.append(result)
                log.warning("part failed: %s: %s", result.get("file"), result["failed"])
    finally:
        for a in actors:
            ray.kill(a)
    return failed


def _results(results):
    """A worker lost to Ray itself (a node gone, an actor that never started) is a message that
    says what to do, not Ray's traceback; finished parts are kept for the re-run."""
    try:
        yield from results
    except ray.exceptions.RayError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise ConfigError(f"Ray lost a build worker ({type(e).__name__}: {first}); the parts finished so far "
                          "are kept: check the cluster (`ray status`) and re-run the same command") from None
