"""`corpus select OUT --set STAGE.KEY=VALUE -o OUT2`: re-apply thresholds to an annotate build
(`mode: annotate`) and write what a build with those thresholds writes, decision for decision:
documents/, removed/STAGE/ with stage and reason, the part markers, stats.json, then the global
stages (dedup) over the documents kept, and artifact.json. Nothing is recomputed but `decide`.

Per part: removals before the first stage that decides were final in the annotate build and are
copied; from there every stage's `decide` runs over the rows still kept, on the text that stage
was given (rebuilt from `_text_before.*`), and a removed row leaves with the columns and text a
build would have written at that stage."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.common.files import atomic_write_text
from corpusmill.common.lock import LOCK_FILE, exclusive
from corpusmill.common.ray_session import cluster_address, ray_session
from corpusmill.common.units import Tasks, run_units
from corpusmill.console import log
from corpusmill.pipeline import annotate
from corpusmill.pipeline.accounting import StageCounts
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.global_stages import run_global
from corpusmill.pipeline.output import Output, PartFiles
from corpusmill.pipeline.runner import ANNOTATE_CONFIG, config_fingerprint
from corpusmill.pipeline.schema import for_output
from corpusmill.pipeline.select_config import parse_sets, selected_config
from corpusmill.pipeline.stage import GlobalStage, Stage
from corpusmill.pipeline.stats import aggregate
from corpusmill.pipeline.worker import FINAL, INGEST, PartProcessor

NEEDED_BY = "corpus select"
SELECT_MARK = "_state/select.json"  # says the folder is a select's output, so a re-run may replace it
# Below this much annotated Parquet the parts run here, one after another: on 40 MB in 4 parts, 2 Ray
# workers took 17.8 s (most of it starting and importing the stages) where one process takes ~6 s.
IN_PROCESS_BELOW = 256 << 20


def run_select(source: str | Path, output: str | Path, sets: list[str] | dict, *, ray_address: str | None = None,
               num_cpus: int | None = None) -> dict:
    src, dst = Path(source).resolve(), Path(output).resolve()
    annotated, part_ids = _annotated_config(src)
    cfg, stages = selected_config(annotated, sets if isinstance(sets, dict) else parse_sets(list(sets)))
    cfg.output = str(dst)
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        raise ConfigError(f"{NEEDED_BY}: the output {dst} must be outside the annotate build {src} (and not hold it)")
    if dst.is_dir() and any(p.name != LOCK_FILE for p in dst.iterdir()) and not (dst / SELECT_MARK).is_file():
        # only an earlier select (finished or killed) is replaced: never a build or a user's folder
        raise ConfigError(f"{NEEDED_BY}: {dst} is not empty and not an earlier `corpus select` output; give a new "
                          "or empty folder (a select output is rewritten whole)")
    for s in stages:  # as a build does before any work: e.g. dedup.against's earlier builds complete
        s.check(str(dst))
    ray_address = cluster_address(ray_address or cfg.ray.address)
    src_out = Output(src)
    if sorted(part_ids) != src_out.finished_parts():
        raise ConfigError(f"{NEEDED_BY}: {src} does not hold the parts its annotate build planned: re-run it")
    markers = [src_out.part_stats(p) for p in part_ids]  # in plan order: dedup keeps the first copy
    if any("annotate" not in m for m in markers):
        raise ConfigError(f"{NEEDED_BY}: {src} has parts without an annotate record: rebuild it with --fresh")
    local = [s for s in stages if not isinstance(s, GlobalStage)]
    globals_ = [s for s in stages if isinstance(s, GlobalStage)]
    out = Output(dst)
    t0 = time.perf_counter()
    with exclusive(dst, "select output"):
        out.reset()  # a pure function of the annotate build and the thresholds: always written whole
        # the mark first: a select killed after this leaves a folder the next select may replace
        atomic_write_text(dst / SELECT_MARK, json.dumps({"from": str(src), "set": sets if isinstance(sets, dict) else list(sets)}))
        out.prepare(config_fingerprint(cfg, stages))
        artifact.clear(dst)
        if len(markers) == 1 and not globals_:  # nothing to share out: no Ray to start
            part_stats, seconds_parts = [select_part(src, out, markers[0], local)], time.perf_counter() - t0
        else:
            with ray_session(ray_address, num_cpus or cfg.ray.num_cpus) as cpus:
                t_parts = time.perf_counter()
                part_stats = _select_parts(src, dst, markers, local, cpus)
                seconds_parts = time.perf_counter() - t_parts
                for g in globals_:
                    log.info("%s: over all %d parts", g.name, len(part_stats))
                    g.ensure_setup()
                    out.mark_global_done(g.name, run_global(g, str(dst), [s["part"] for s in part_stats], cpus))
        order = [INGEST, *(s.name for s in local), FINAL, *(g.name for g in globals_)]
        stats = aggregate(part_stats, [], time.perf_counter() - t0, order, {g.name: out.global_stats(g.name) for g in globals_})
        stats["select"] = {"from": str(src), "seconds_parts": round(seconds_parts, 3),
                           "annotated_bytes": sum(f.stat().st_size for f in artifact.parquet_files(src))}
        atomic_write_text(dst / "stats.json", json.dumps(stats, indent=1, ensure_ascii=False))
        _write_artifact(cfg, stages, out, stats, artifact.read(src), src)
    t = stats["totals"]
    log.info("select: %d documents in, %d kept, %d removed, %.1f s (parts %.1f s); wrote %s", t["documents_in"],
             t["kept"], t["removed"], stats["seconds"], seconds_parts, dst)
    return stats


def _annotated_config(src: Path) -> tuple[BuildConfig, list[str]]:
    """The annotate build's config and parts in plan order, after checking it is a complete annotate build."""
    m = artifact.require(src, "build", NEEDED_BY)
    if m["details"].get("mode") != "annotate":
        raise ConfigError(f"{NEEDED_BY}: {src} is a plain build (removals already applied, later stages never saw the "
                          "removed documents): build it with `mode: annotate` in its build.yaml, then select from that")
    path = src / "_state" / ANNOTATE_CONFIG
    if not path.is_file():
        raise ConfigError(f"{NEEDED_BY}: {path} is missing: re-run the annotate build (`corpus build` resumes)")
    saved = json.loads(path.read_text())
    return BuildConfig.model_validate(saved["config"]), saved["parts"]


def _select_parts(src: Path, dst: Path, markers: list[dict], stages: list[Stage], cpus: int) -> list[dict]:
    """Every part, in marker order: on the workers, one CPU each (decide() needs no model: a task is
    enough), or here when there is one part or little to do."""
    if len(markers) == 1 or sum(_annotated_bytes(src, m) for m in markers) < IN_PROCESS_BELOW:
        return [select_part(src, Output(dst), m, stages) for m in markers]
    units = [(m,) for m in markers]
    return [r for _, r in run_units(units, Tasks(select_unit, (str(src), str(dst), stages)), window=cpus,
                                    label="select", unit_name="parts", ordered=True)]


def _annotated_bytes(src: Path, marker: dict) -> int:
    f = src / "documents" / f"part-{marker['part']}.parquet"
    return f.stat().st_size if f.exists() else 0


def select_unit(src: str, dst: str, stages: list[Stage], marker: dict) -> dict:
    return select_part(Path(src), Output(dst), marker, stages)


def select_part(src: Path, out: Output, marker: dict, stages: list[Stage]) -> dict:
    """One part: copy the final removals, re-decide the rest, write its files and marker."""
    first = annotate.first_deciding(stages)
    tail = [s.name for s in stages[first:]]
    columns = marker["annotate"]["columns"]
    counts = {name: StageCounts() for name in [*tail, FINAL]}
    files = PartFiles(out, marker["part"])
    documents = src / "documents" / f"part-{marker['part']}.parquet"
    if documents.exists():
        for batch in pq.ParquetFile(documents).iter_batches(batch_size=4096):
            _decide_batch(pa.Table.from_batches([batch]), stages[first:], tail, columns, counts, files)
    stage_dicts = {k: v for k, v in marker["stages"].items() if k not in counts}  # final before the first decider
    stage_dicts.update({name: c.to_dict() for name, c in counts.items()})
    stage_dicts = {name: stage_dicts[name] for name in [INGEST, *(s.name for s in stages), FINAL]}
    copied = [f for f in marker["files"] if f.startswith("removed/") and f.split("/")[1] not in tail]
    stats = {k: v for k, v in marker.items() if k not in ("annotate", "files")}
    stats.update(stages=stage_dicts, kept=stage_dicts[FINAL]["kept"],
                 removed=sum(d["removed"] for d in stage_dicts.values()))
    if stats["documents_in"] != stats["kept"] + stats["removed"]:
        raise AssertionError(f"accounting broken in part {marker['part']}")
    for f in copied:
        (out.root / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / f, out.root / f)
    files.commit(stats)  # its marker lists the files it wrote; add the copied ones
    stats["files"] = sorted(stats["files"] + copied)
    atomic_write_text(out.marker(marker["part"]), json.dumps(stats, indent=1))
    return stats


def _decide_batch(table: pa.Table, stages: list[Stage], tail: list[str], columns: dict[str, list[str]],
                  counts: dict[str, StageCounts], files: PartFiles) -> None:
    given = annotate.text_after(table, tail, -1)
    for k, stage in enumerate(stages):
        if table.num_rows == 0:
            return
        view = table.set_column(table.schema.get_field_index("text"), "text", given)
        verdict = stage.decide(view) if stage.decides() else None
        reasons = verdict.reasons if verdict else [None] * table.num_rows
        for name, column in (verdict.columns if verdict else {}).items():
            table = table.set_column(table.schema.get_field_index(name), name, column)
        removed = pa.array([r is not None for r in reasons], pa.bool_())
        written = annotate.text_after(table, tail, k)
        if stage.removed_keep_input_text:
            written = pc.if_else(removed, given, written)
        now = table.set_column(table.schema.get_field_index("text"), "text", written)
        if verdict:
            counts[stage.name].add_counters(verdict.counters)
        # counted and written as the build's worker does, with the columns a build has at this stage
        PartProcessor._apply(stage.name, now.select(columns[stage.name]), reasons, counts, files)
        if removed.true_count:
            table = table.filter(pc.invert(removed))
            written = annotate.text_after(table, tail, k)
        given = written  # what the next stage is given
    if table.num_rows == 0:
        return
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(table.column("text")), ""), True).to_pylist()
    kept = PartProcessor._apply(FINAL, table.select(columns[tail[-1]]), ["empty_text" if e else None for e in empty],
                                counts, files)
    if kept.num_rows:
        files.write("documents", for_output(kept))


def _write_artifact(cfg: BuildConfig, stages: list[Stage], out: Output, stats: dict, source: dict, src: Path) -> None:
    docs = sorted((out.root / "documents").rglob("*.parquet")) if (out.root / "documents").is_dir() else []
    artifact.write(out.root, "build", config=config_fingerprint(cfg, stages),
                   fingerprint=artifact.files_fingerprint(out.root, docs, extra={
                       "totals": stats["totals"], "config": artifact.sha256_json(config_fingerprint(cfg, stages))}),
                   inputs=[artifact.input_ref(source, src, "annotated")]
                   + [i for s in stages for i in s.lineage(str(out.root), stats["stages"].get(s.name, {}))],
                   details={"documents": stats["totals"]["kept"], "unfinished": None, "mode": "build",
                            "selected_from": str(src), "sources": {n: s["kept"] for n, s in stats["sources"].items()},
                            "command": None})
