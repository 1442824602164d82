"""The dedup stage's state files under OUT/_state/dedup/: atomic writes, markers, and
"scatter" files: one Arrow IPC file per producing unit, rows sorted by a `dest` column, so a
consuming unit memory-maps every producer's file and binary-searches its own slice. Nothing
passes through the Ray object store but paths and small dicts."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpusmill.common.files import atomic_write_text, temp_path


def tmp_name(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return temp_path(path)


def write_json(path: Path, obj: dict) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True))


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def write_arrow(path: Path, table: pa.Table) -> None:
    """One record batch (so columns read back zero-copy), written under a temp name, renamed."""
    table = table.combine_chunks()
    tmp = tmp_name(path)
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(1, table.num_rows))
    os.replace(tmp, path)


def write_npy(path: Path, arr: np.ndarray) -> None:
    tmp = tmp_name(path)
    with open(tmp, "wb") as fh:
        np.save(fh, arr)
    os.replace(tmp, path)


def read_arrow(path: Path) -> pa.Table:
    """Memory-mapped: pages are read when touched and belong to the page cache, not the heap."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def write_scatter(path: Path, dest: np.ndarray, columns: dict[str, np.ndarray | pa.Array]) -> None:
    order = np.argsort(dest, kind="stable")
    cols = {"dest": pa.array(dest[order].astype(np.int32))}
    for name, col in columns.items():
        cols[name] = col.take(pa.array(order)) if isinstance(col, pa.Array) else pa.array(col[order])
    write_arrow(path, pa.table(cols))


def read_slice(path: Path, dest: int) -> pa.Table:
    t = read_arrow(path)
    d = t.column("dest").to_numpy()
    lo, hi = np.searchsorted(d, [dest, dest + 1])
    return t.slice(int(lo), int(hi - lo))


def gather(paths: list[Path], dest: int, columns: list[str]) -> dict[str, np.ndarray]:
    """Every producer's slice for `dest`, concatenated, as numpy arrays. Each slice is copied
    out before the next file is mapped: one open file at a time, however many producers."""
    got: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for p in paths:
        if p.exists():
            t = read_slice(p, dest)
            for c in columns:
                got[c].append(np.array(t.column(c).to_numpy(zero_copy_only=False), copy=True))
            del t
    return {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in got.items()}


class State:
    """Paths of one output folder's dedup state."""

    def __init__(self, out_root: str | Path, name: str = "dedup"):
        self.out = Path(out_root)
        self.root = self.out / "_state" / name
        self.name = name

    def documents(self, part_id: str) -> Path:
        return self.out / "documents" / f"part-{part_id}.parquet"

    def removed(self, part_id: str) -> Path:
        return self.out / "removed" / self.name / f"part-{part_id}.parquet"

    def sig(self, part_id: str, ext: str) -> Path:
        return self.root / "sig" / f"{part_id}.{ext}"

    def keys(self, part_id: str) -> Path:
        return self.root / "keys" / f"{part_id}.arrow"

    def edges(self, rnd: int, q: int, ext: str = "arrow") -> Path:
        return self.root / "edges" / f"{rnd:03d}" / f"{q:05d}.{ext}"

    def labels(self, q: int, ext: str = "arrow") -> Path:
        return self.root / "labels" / f"{q:05d}.{ext}"

    def final(self, part_id: str, ext: str) -> Path:
        return self.root / "final" / f"{part_id}.{ext}"

    def bulky(self) -> list[Path]:
        """Data files that are no longer needed once every part is final (markers stay)."""
        found = []
        for sub in ("sig", "keys", "edges", "labels"):
            d = self.root / sub
            if d.exists():
                found += [p for p in d.rglob("*") if p.is_file() and p.suffix in (".arrow", ".npy", ".sh")]
        return found
