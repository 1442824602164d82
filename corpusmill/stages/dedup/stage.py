"""The `dedup` global stage: declares the phases of phases.py (units, function, marker) for the
engine to run on the workers, and sums the per-part counts for stats.json. No Ray here."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Generator

import pyarrow.parquet as pq

from corpusmill.common.config import ConfigError
from corpusmill.console import log
from corpusmill.pipeline.accounting import merge_stage_dicts
from corpusmill.pipeline.stage import GlobalStage, Phase
from corpusmill.stages.dedup import against, phases
from corpusmill.stages.dedup import final as final_phase
from corpusmill.stages.dedup.files import State, read_json, write_json
from corpusmill.stages.dedup.options import DedupOptions
from corpusmill.stages.dedup.undo import undo

KEYS_PER_PARTITION = 4_000_000  # ~100 MB of keys in memory per bucket task, ~10 per document
MAX_ROUNDS = 200


class Dedup(GlobalStage):
    name = "dedup"
    Options = DedupOptions

    def phases(self, out_root: str, part_ids: list[str], num_workers: int) -> Generator[Phase, list[dict], dict]:
        st = State(out_root, self.name)
        plan = self.plan(st, part_ids, num_workers)
        shared = (str(out_root), self.options.model_dump(mode="json"), plan)
        P, n = plan["partitions"], len(part_ids)

        def phase(name: str, fn: Callable, units: list[tuple], marker: Callable[..., object]) -> Phase:
            return Phase(name, fn, units, shared, finished=lambda *u: read_json(marker(*u)))

        older = [o["id"] for o in plan.get("older", [])]  # earlier builds' parts: numbered first, never written
        every, a = older + list(part_ids), len(older)
        sig = yield phase("sig", phases.sig_unit, [(i,) for i in range(a + n)], lambda i: st.sig(every[i], "json"))
        bucket = yield phase("bucket", phases.bucket_unit, [(q,) for q in range(P)], lambda q: st.edges(0, q, "json"))
        rnd = 1
        while True:  # large-star (odd) and small-star (even) rounds until a large-star finds only stars
            res = yield phase("components", phases.cc_unit, [(rnd, q) for q in range(P)],
                              lambda r, q: st.edges(r, q, "json"))
            if rnd % 2 and sum(r["bad"] for r in res) == 0:
                break
            rnd += 1
            if rnd > MAX_ROUNDS:
                raise RuntimeError(f"dedup: connected components did not converge in {MAX_ROUNDS} rounds")
        labels = yield phase("labels", phases.labels_unit, [(rnd - 1, q) for q in range(P)],
                             lambda r, q: st.labels(q, "json"))
        final = yield phase("final", final_phase.final_unit, [(a + i,) for i in range(n)],
                            lambda i: st.final(every[i], "json"))
        if not self.options.keep_state:
            for p in st.bulky():
                p.unlink(missing_ok=True)
        stats = summarize(sig[a:], bucket, labels, final, rnd, part_ids)
        if older:
            removed: dict[str, int] = {}
            for f in final:  # {build: n}; an int from a run started by an older corpusmill names none
                got = f.get("removed_against")
                for b, c in (got if isinstance(got, dict) else {}).items():
                    removed[b] = removed.get(b, 0) + c
            stats["stage"]["against"] = against.describe(plan, sig[:a], removed)
        return stats

    def check(self, out_root: str) -> None:
        """Before any work: every earlier build named in `against` is a finished build output."""
        against.check_builds(self.options.against, exclude=Path(out_root))
        for build in against.changed_since(read_json(State(out_root, self.name).root / "plan.json")):
            log.warning("dedup.against: %s was rebuilt since this build's dedup ran against it: its removals follow "
                        "the earlier one (`corpus lineage %s` shows it) until dedup runs again, with --fresh or when "
                        "this build's inputs change", build, out_root)

    def lineage(self, out_root: str, stage_stats: dict) -> list[dict]:
        return against.lineage(read_json(State(out_root, self.name).root / "plan.json"))

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
            changed = against.changed_since(plan)
            if changed:
                raise ConfigError(f"dedup.against: {changed[0]} changed since this build's dedup started; re-run "
                                  "with --fresh")
            return plan
        rows = [pq.ParquetFile(st.documents(p)).metadata.num_rows if st.documents(p).exists() else 0
                for p in part_ids]
        older = against.older_parts(self.options.against, st.out, self.options.model_dump(mode="json"))
        o = self.options
        per_doc = int(o.exact) + int(o.url) + (o.minhash.bands if o.minhash else 0)
        total = sum(rows) + sum(o["rows"] for o in older)
        partitions = max(1, num_workers, math.ceil(total * per_doc / KEYS_PER_PARTITION))
        plan = {"parts": list(part_ids), "rows": rows, "partitions": partitions, "older": older}
        write_json(path, plan)
        return plan


def summarize(sig: list[dict], bucket: list[dict], labels: list[dict], final: list[dict], rounds: int,
              part_ids: list[str]) -> dict:
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
