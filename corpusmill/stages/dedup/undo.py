"""Undo a (finished or partial) dedup run: every part's documents/ file back as it was before the
final phase, removed/dedup/ and the dedup state gone. The engine calls it when the set of parts
changed (a file added to or gone from the inputs), so dedup can run again over all of them and the
result equals a fresh build.

The final phase keeps, per part, one bit per document (removed or not) in _state/dedup/final/
PART.mask.npy: with it the original row order is the kept and removed rows interleaved again,
without keeping a copy of the documents."""
from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.common.files import atomic_path
from corpusmill.stages.dedup.files import State, read_json

ADDED_TO_KEPT = ["dedup.cluster"]
ADDED_TO_REMOVED = ["dedup.cluster", "duplicate_of", "duplicate_in", "stage", "reason"]


def save_mask(st: State, part: str, removed: np.ndarray) -> None:
    with atomic_path(st.final(part, "mask.npy"), fsync=False) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.packbits(removed.astype(bool)))


def _replaced(st: State, part: str) -> bool:
    """True when the final phase already replaced documents/PART (see final.final_unit's steps)."""
    if st.final(part, "json").exists():
        return True
    return st.final(part, "counts.json").exists() and not st.final(part, "documents.parquet").exists()


def _drop(table: pa.Table, names: list[str]) -> pa.Table:
    return table.drop_columns([n for n in names if n in table.column_names])


def restore_part(st: State, part: str, rows: int) -> None:
    docs, rem = st.documents(part), st.removed(part)
    already = docs.exists() and "dedup.cluster" not in pq.read_schema(docs).names  # restored by a killed undo
    if _replaced(st, part) and not already:
        mask_path = st.final(part, "mask.npy")
        if not mask_path.exists():
            raise RuntimeError(f"{st.root}: made by an older corpusmill without dedup masks; the inputs changed, "
                               "so re-run the build with --fresh")
        removed = np.unpackbits(np.load(mask_path))[:rows].astype(bool)
        kept_t = _drop(pq.read_table(docs), ADDED_TO_KEPT) if docs.exists() else None
        rem_t = _drop(pq.read_table(rem), ADDED_TO_REMOVED) if rem.exists() else None
        schema = (kept_t if kept_t is not None else rem_t).schema
        parts = [t.cast(schema) for t in (kept_t, rem_t) if t is not None]
        both = pa.concat_tables(parts) if parts else schema.empty_table()
        n_kept = int((~removed).sum())
        if both.num_rows != rows or (kept_t is not None and kept_t.num_rows != n_kept):
            raise RuntimeError(f"{docs}: {both.num_rows} rows where dedup saw {rows}; re-run the build with --fresh")
        order = np.empty(rows, np.int64)
        order[~removed] = np.arange(n_kept)
        order[removed] = n_kept + np.arange(rows - n_kept)
        if rows:
            with atomic_path(docs, fsync=False) as tmp:
                pq.write_table(both.take(pa.array(order)), tmp, compression="zstd")
    rem.unlink(missing_ok=True)
    st.final(part, "documents.parquet").unlink(missing_ok=True)


def undo(out_root: str, name: str = "dedup") -> list[str]:
    """Restore every part dedup planned over; returns those parts. Crash-safe: a part restored
    twice is restored once (its final marker goes only after its file is back), and the state
    folder goes last."""
    st = State(out_root, name)
    plan = read_json(st.root / "plan.json")
    if plan is None:
        shutil.rmtree(st.root, ignore_errors=True)
        return []
    for part, rows in zip(plan["parts"], plan["rows"]):
        restore_part(st, part, rows)
        for ext in ("json", "counts.json", "mask.npy"):
            st.final(part, ext).unlink(missing_ok=True)
    shutil.rmtree(st.root, ignore_errors=True)
    return list(plan["parts"])
