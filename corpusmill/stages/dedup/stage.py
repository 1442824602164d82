"""The `dedup` global stage: runs the phases of phases.py as Ray tasks, at most num_workers at
a time, skipping every unit whose marker exists, and sums the per-part counts for stats.json."""
from __future__ import annotations

import math
import time
from typing import Callable

import pyarrow.parquet as pq
import ray

from corpusmill.console import log, task
from corpusmill.faults import kill_point
from corpusmill.pipeline.accounting import merge_stage_dicts
from corpusmill.pipeline.stage import GlobalStage
from corpusmill.stages.dedup import final as final_phase
from corpusmill.stages.dedup import phases
from corpusmill.stages.dedup.files import State, read_json, write_json
from corpusmill.stages.dedup.options import DedupOptions
from corpusmill.stages.dedup.undo import undo

KEYS_PER_PARTITION = 4_000_000  # ~100 MB of keys in memory per bucket task, ~10 per document
MAX_ROUNDS = 200


class Dedup(GlobalStage):
    name = "dedup"
    Options = DedupOptions

    def run_global(self, out_root: str, part_ids: list[str], num_workers: int) -> dict:
        st = State(out_root, self.name)
        plan = self.plan(st, part_ids, num_workers)
        args = (str(out_root), self.options.model_dump(mode="json"), plan)
        P, n = plan["partitions"], len(part_ids)
        seconds: dict[str, float] = {}

        def phase(name: str, fn: Callable, units: list[tuple], marker: Callable[..., object]) -> list[dict]:
            t0 = time.perf_counter()
            out = run_units(fn, args, units, marker, num_workers, label=f"{self.name} {name}")
            seconds[name] = seconds.get(name, 0) + round(time.perf_counter() - t0, 3)
            return out

        sig = phase("sig", phases.sig_unit, [(i,) for i in range(n)], lambda i: st.sig(part_ids[i], "json"))
        bucket = phase("bucket", phases.bucket_unit, [(q,) for q in range(P)], lambda q: st.edges(0, q, "json"))
        rnd = 1
        while True:  # large-star (odd) and small-star (even) rounds until a large-star finds only stars
            res = phase("components", phases.cc_unit, [(rnd, q) for q in range(P)], lambda r, q: st.edges(r, q, "json"))
            if rnd % 2 and sum(r["bad"] for r in res) == 0:
                break
            rnd += 1
            if rnd > MAX_ROUNDS:
                raise RuntimeError(f"dedup: connected components did not converge in {MAX_ROUNDS} rounds")
        labels = phase("labels", phases.labels_unit, [(rnd - 1, q) for q in range(P)], lambda r, q: st.labels(q, "json"))
        final = phase("final", final_phase.final_unit, [(i,) for i in range(n)], lambda i: st.final(part_ids[i], "json"))
        if not self.options.keep_state:
            for p in st.bulky():
                p.unlink(missing_ok=True)
        return summarize(sig, bucket, labels, final, rnd, seconds, part_ids)

    def planned_parts(self, out_root: str) -> list[str] | None:
        plan = read_json(State(out_root, self.name).root / "plan.json")
        return None if plan is None else list(plan["parts"])

    def undo(self, out_root: str) -> None:
        undo(out_root, self.name)

    def plan(self, st: State, part_ids: list[str], num_workers: int) -> dict:
        """Fixed on the first run (the documents files change in the last phase): the parts,
        their row counts and the number of partitions, sized so a bucket task's keys fit."""
        path = st.root / "plan.json"
        plan = read_json(path)
        if plan is not None:
            if plan["parts"] != list(part_ids):
                raise RuntimeError(f"{path}: planned for other parts; re-run with --fresh")
            return plan
        rows = [pq.ParquetFile(st.documents(p)).metadata.num_rows if st.documents(p).exists() else 0
                for p in part_ids]
        o = self.options
        per_doc = int(o.exact) + int(o.url) + (o.minhash.bands if o.minhash else 0)
        partitions = max(1, num_workers, math.ceil(sum(rows) * per_doc / KEYS_PER_PARTITION))
        plan = {"parts": list(part_ids), "rows": rows, "partitions": partitions}
        write_json(path, plan)
        return plan


def run_units(fn: Callable, args: tuple, units: list[tuple], marker: Callable[..., object],
              num_workers: int, label: str = "dedup") -> list[dict]:
    """Results in unit order; finished units (marker present) are read back, not rerun."""
    results: dict[int, dict] = {}
    todo = []
    for k, u in enumerate(units):
        done = read_json(marker(*u))
        if done is not None:
            results[k] = done
        else:
            todo.append(k)
    if todo:
        remote = ray.remote(num_cpus=1)(fn)
        pending: dict[object, int] = {}
        if len(todo) < len(units):  # say where a resumed run picks up
            log.info("%s: resuming at unit %d of %d (%d finished earlier)", label, todo[0] + 1, len(units),
                     len(units) - len(todo))
        else:
            log.debug("%s: %d units", label, len(units))
        try:
            with task(label, total=len(units), unit="units") as advance:
                advance(completed=len(units) - len(todo))
                for k in todo:
                    while len(pending) >= num_workers:
                        advance(_collect(pending, results))
                        kill_point(label.replace(" ", "."))
                    pending[remote.remote(*args, *units[k])] = k
                while pending:
                    advance(_collect(pending, results))
                    kill_point(label.replace(" ", "."))
        finally:
            for ref in pending:  # a failed unit ends the phase; the others are redone next run
                ray.cancel(ref, force=True)
    return [results[k] for k in range(len(units))]


def _collect(pending: dict, results: dict) -> int:
    ready, _ = ray.wait(list(pending), num_returns=1)
    for ref in ready:
        results[pending.pop(ref)] = ray.get(ref)
    return len(ready)


def summarize(sig: list[dict], bucket: list[dict], labels: list[dict], final: list[dict], rounds: int,
              seconds: dict, part_ids: list[str]) -> dict:
    stage: dict = {}
    sources: dict[str, dict] = {}
    parts: dict[str, dict] = {}
    for part, f in zip(part_ids, final):
        if f["source"] is not None:
            merge_stage_dicts(stage, {"dedup": f["counts"]})
            merge_stage_dicts(sources, {f["source"]: f["counts"]})
            parts[part] = {"removed": f["counts"]["removed"], "removed_by_reason": f["counts"]["removed_by_reason"]}
    stage = stage.get("dedup") or {"in": 0, "kept": 0, "removed": 0, "removed_by_reason": {}, "bytes_in": 0,
                                   "bytes_removed": 0, "bytes_removed_by_reason": {}}
    sizes: dict[int, int] = {}
    for lab in labels:
        for s, c in lab["sizes"].items():
            sizes[int(s)] = sizes.get(int(s), 0) + c
    stage["clusters"] = {"count": sum(sizes.values()), "documents": sum(s * c for s, c in sizes.items()),
                         "largest": max(sizes, default=0), "sizes": _histogram(sizes)}
    stage["minhash"] = {"documents": sum(s["minhash_docs"] for s in sig),
                        "kernel": next((s["kernel"] for s in sig if s.get("kernel")), None),
                        "candidate_pairs": sum(b["candidates"] for b in bucket),
                        "rejected_below_threshold": sum(b["rejected"] for b in bucket),
                        "edges": sum(b["edges"] for b in bucket), "components_rounds": rounds}
    stage["seconds"] = seconds
    return {"stage": stage, "sources": dict(sorted(sources.items())), "parts": parts}


def _histogram(sizes: dict[int, int]) -> dict[str, int]:
    """Cluster sizes in powers of two: "2", "3-4", "5-8", ..."""
    out: dict[str, int] = {}
    for s, c in sorted(sizes.items()):
        hi = 1 << max(1, math.ceil(math.log2(s)))
        lo = hi // 2 + 1
        key = str(hi) if lo == hi else f"{lo}-{hi}"
        out[key] = out.get(key, 0) + c
    return out
