"""`corpus build`: plan parts, skip finished ones, run the rest on Ray actors, write stats.json."""
from __future__ import annotations

import json
import time

import ray
from ray.util import ActorPool

from corpusmill import __version__
from corpusmill.console import log, task
from corpusmill.faults import kill_point
from corpusmill.pipeline.config import BuildConfig, ConfigError
from corpusmill.pipeline.output import Output, atomic_write_text
from corpusmill.pipeline.parts import Part, file_signature, plan_parts
from corpusmill.common.ray_session import ray_session
from corpusmill.pipeline.registry import build_stages
from corpusmill.pipeline.stage import GlobalStage, Stage
from corpusmill.pipeline.stats import aggregate
from corpusmill.pipeline.worker import FINAL, INGEST, PartProcessor

RAW_FORMATS = {"warc", "arc"}


def check_config(cfg: BuildConfig) -> tuple[list[Part], list[str], list[Stage]]:
    """Everything that can be known wrong before work starts: the parts, the stage order (with the
    engine's own ingest/output steps) and the configured stages."""
    stages = build_stages(cfg.stages)
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ConfigError(f"stages: each stage may appear once, got {names}")
    is_global = [isinstance(s, GlobalStage) for s in stages]
    if any(is_global) and not all(is_global[is_global.index(True):]):
        raise ConfigError(f"stages: global stages ({[n for n, g in zip(names, is_global) if g]}) "
                          "must come after every per-document stage")
    parts = plan_parts(cfg)
    raw = sorted({p.source for p in parts if p.format in RAW_FORMATS})
    if raw and not any(s.produces_text for s in stages):
        raise ConfigError(f"inputs {raw} are WARC/ARC (raw HTML): add an `extract` stage to `stages`")
    if any(is_global) and cfg.partition_by:  # global stages read documents/part-*.parquet directly
        raise ConfigError("partition_by cannot be combined with global stages (dedup) yet: "
                          "partition the deduplicated output in a second build")
    local = [n for n, g in zip(names, is_global) if not g]
    return parts, [INGEST, *local, FINAL, *[n for n, g in zip(names, is_global) if g]], stages


def run_build(cfg: BuildConfig, *, fresh: bool = False, ray_address: str | None = None,
              num_cpus: int | None = None) -> dict:
    t0 = time.perf_counter()
    parts, stage_order, stages = check_config(cfg)
    out = Output(cfg.output)
    if fresh:
        out.reset()
    fingerprint = {"corpusmill": __version__, "config": cfg.model_dump(exclude={"ray"}, mode="json")}
    if not out.prepare(fingerprint):
        raise ConfigError(f"{cfg.output} holds a build made with another configuration or version; "
                          "re-run with --fresh to start over")
    done = {p.part_id: out.part_stats(p.part_id) for p in parts if out.is_done(p.part_id)}
    for p in parts:
        if p.part_id in done and done[p.part_id].get("input_signature") != file_signature(p.path):
            raise ConfigError(f"{p.path} changed since this output was built from it; re-run with --fresh")
    todo = [p for p in parts if p.part_id not in done]
    global_stages = [s for s in stages if isinstance(s, GlobalStage)]
    failed: list[dict] = []
    pending = [g for g in global_stages if not out.global_done(g.name)]
    log.info("build: %d parts from %d inputs (%d finished earlier); stages %s -> %s", len(parts),
             len(cfg.inputs), len(done), ", ".join(s.name for s in stages), out.root)
    if todo or pending:
        with ray_session(ray_address or cfg.ray.address, num_cpus or cfg.ray.num_cpus) as cpus:
            log.debug("ray: %d CPUs (%s)", cpus, ray_address or cfg.ray.address or "embedded")
            if todo:
                failed = _run_parts(cfg, todo, len(parts), cpus)
            for g in pending if not failed else []:  # global stages need every part
                log.info("%s: over all %d parts", g.name, len(parts))
                g.setup()
                out.mark_global_done(g.name, g.run_global(str(out.root), [p.part_id for p in parts], cpus))
    global_stats = {g.name: out.global_stats(g.name) for g in global_stages if out.global_done(g.name)}
    part_stats = [done.get(p.part_id) or out.part_stats(p.part_id) for p in parts
                  if p.part_id in done or out.is_done(p.part_id)]
    stats = aggregate(part_stats, failed, time.perf_counter() - t0, stage_order, global_stats)
    kill_point("build.stats")
    atomic_write_text(out.root / "stats.json", json.dumps(stats, indent=1, ensure_ascii=False))
    t = stats["totals"]
    log.info("build: %d documents in, %d kept, %d removed, %d input problems, %.1f s; wrote documents/, "
             "removed/<stage>/ and stats.json to %s", t["documents_in"], t["kept"], t["removed"],
             sum(p["count"] for p in stats["problems"]), stats["seconds"], out.root)
    if failed and pending:
        raise ConfigError(f"{len(failed)} parts failed, so {[g.name for g in pending]} did not run (it needs "
                          f"every part); see stats.json, fix and re-run (first: {failed[0]['file']}: "
                          f"{failed[0]['failed']})")
    _write_report(out.root)
    return stats


def _write_report(root) -> None:
    """report.html beside stats.json. A report that cannot be drawn is logged; it never fails the build."""
    try:
        from corpusmill.report import write_report

        log.info("report: %s", write_report(root))
    except Exception as e:  # noqa: BLE001 - the documents and stats.json are already written
        log.warning("report.html not written (%s: %s); the build is complete: `corpus report %s` retries",
                    type(e).__name__, e, root)


def _run_parts(cfg: BuildConfig, todo: list[Part], total: int, cpus: int) -> list[dict]:
    """The per-part phase on one actor per CPU; returns the parts that failed."""
    worker_cls = ray.remote(num_cpus=1)(PartProcessor)
    cfg_dict = cfg.model_dump(mode="json")
    actors = [worker_cls.remote(cfg_dict) for _ in range(min(cpus, len(todo)))]
    failed, done, docs = [], total - len(todo), 0
    try:
        with task("build", total=total, unit="parts") as advance:
            advance(completed=done)
            for result in ActorPool(actors).map_unordered(lambda a, p: a.run.remote(p.to_dict()), todo):
                done += 1
                docs += result.get("documents_in", 0)
                if "failed" in result:
                    failed.append(result)
                    log.warning("part failed: %s: %s", result.get("file"), result["failed"])
                advance(note=f"{docs:,} docs")
                kill_point("build.part")
    finally:
        for a in actors:
            ray.kill(a)
    return failed
