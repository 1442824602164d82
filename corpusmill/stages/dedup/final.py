"""The last dedup phase, one task per part: the kept rows (with `dedup.cluster`) replace
documents/part-X.parquet, the removed ones go to removed/dedup/ with `duplicate_of`,
`dedup.cluster`, stage and reason (and, deduplicating against earlier builds, `duplicate_in`: the
build holding the kept document, null when it is this one). Crash-safe in three steps (see
final_unit). i is the part's index among all parts, earlier builds' first."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.pipeline.accounting import StageCounts
from corpusmill.stages.dedup.files import gather, read_json, tmp_name, write_json
from corpusmill.stages.dedup.phases import BATCH_ROWS, REASONS, Ctx
from corpusmill.stages.dedup.undo import save_mask


def final_unit(out_root: str, options: dict, plan: dict, i: int) -> dict:
    """Crash-safe in three steps: stage kept + write removed + counts; replace documents; mark."""
    ctx = Ctx(out_root, options, plan)
    part, st = ctx.parts[i], ctx.state
    counts_path, staged = st.final(part, "counts.json"), st.final(part, "documents.parquet")
    if not counts_path.exists():
        lab = gather([st.labels(q) for q in range(ctx.P)], i,
                     ["gid", "label", "reason", "duplicate_of", "duplicate_in"])
        _stage_part(ctx, i, lab, staged, counts_path)
    result = read_json(counts_path)
    if staged.exists():
        staged.replace(st.documents(part))
    elif result["counts"]["kept"] == 0:  # nothing left: like the engine, no documents file
        st.documents(part).unlink(missing_ok=True)
    write_json(st.final(part, "json"), result)
    return result


def _stage_part(ctx: Ctx, i: int, lab: dict, staged, counts_path) -> None:
    part, st, rows = ctx.parts[i], ctx.state, ctx.rows[i]
    cluster = np.full(rows, -1, np.int64)
    reason = np.zeros(rows, np.uint8)
    dup_of, dup_in = np.full(rows, None, object), np.full(rows, None, object)
    r = (lab["gid"] & 0xFFFFFFFF).astype(np.int64)
    cluster[r], reason[r], dup_of[r], dup_in[r] = lab["label"], lab["reason"], lab["duplicate_of"], lab["duplicate_in"]
    counts, source, kept_w, removed_w, n = StageCounts(), None, None, None, 0
    batches = pq.ParquetFile(st.documents(part)).iter_batches(BATCH_ROWS) if rows else []
    for batch in batches:
        t = pa.Table.from_batches([batch])
        sl = slice(n, n + t.num_rows)
        n += t.num_rows
        source = source or t.column("source")[0].as_py()
        cl = pa.array(cluster[sl], pa.int64(), mask=cluster[sl] < 0)
        t = t.append_column("dedup.cluster", cl)
        gone = reason[sl] > 0
        counts.add(t, [REASONS.get(int(x)) for x in reason[sl]])
        kept_w = _write(kept_w, staged, t.filter(pa.array(~gone)))
        if gone.any():
            rem = t.filter(pa.array(gone))
            rem = rem.append_column("duplicate_of", pa.array(dup_of[sl][gone], pa.string()))
            if ctx.older:
                rem = rem.append_column("duplicate_in", pa.array(dup_in[sl][gone], pa.string()))
            rem = rem.append_column("stage", pa.array(["dedup"] * rem.num_rows, pa.string()))
            rem = rem.append_column("reason", pa.array([REASONS[int(x)] for x in reason[sl][gone]], pa.string()))
            removed_w = _write(removed_w, st.removed(part), rem)
    for w in (kept_w, removed_w):
        if w:
            w[0].close()
            w[1].replace(w[2])
    if n != rows:
        raise RuntimeError(f"{st.documents(part)} has {n} rows, planned {rows}: was it changed during the run?")
    save_mask(st, part, reason > 0)  # lets undo.py restore documents/ when the inputs change
    builds, n_by = np.unique(dup_in[(reason > 0) & (dup_in != None)].astype(str), return_counts=True)  # noqa: E711
    write_json(counts_path, {"source": source, "counts": counts.to_dict(),
                             "removed_against": {b: int(c) for b, c in zip(builds.tolist(), n_by.tolist())}})


def _write(w, final_path, table: pa.Table):
    if not table.num_rows:
        return w
    if w is None:
        tmp = tmp_name(final_path)
        w = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp, final_path)
    w[0].write_table(table)
    return w
