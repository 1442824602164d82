"""The output folder: documents/, removed/STAGE/, stats.json and the resume state in _state/.

Every file is written under a temp name and renamed into place (atomic on one filesystem).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill.common.config import diff_keys
from corpusmill.common.files import atomic_write_text, remove_temp_files, temp_path

class Output:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.state = self.root / "_state"
        self.parts_state = self.state / "parts"

    def marker(self, part_id: str) -> Path:
        return self.parts_state / f"{part_id}.json"

    def is_done(self, part_id: str) -> bool:
        return self.marker(part_id).exists()

    def part_stats(self, part_id: str) -> dict:
        return json.loads(self.marker(part_id).read_text())

    def global_marker(self, name: str) -> Path:
        return self.state / name / "done.json"

    def global_done(self, name: str) -> bool:
        return self.global_marker(name).exists()

    def mark_global_done(self, name: str, result: dict) -> None:
        atomic_write_text(self.global_marker(name), json.dumps(result, indent=1))

    def global_stats(self, name: str) -> dict:
        return json.loads(self.global_marker(name).read_text())

    def save_prepared(self, name: str, info: dict) -> None:
        atomic_write_text(self.state / "prepared" / f"{name}.json", json.dumps(info, indent=1))

    def prepared(self) -> dict[str, dict]:
        """What each stage's `prepare` reported in the run that processed parts (kept for a resumed run)."""
        folder = self.state / "prepared"
        return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}

    def finished_parts(self) -> list[str]:
        return sorted(m.stem for m in self.parts_state.glob("*.json")) if self.parts_state.is_dir() else []

    def forget_part(self, part_id: str) -> str:
        """A part whose input file is gone: its files and marker go; returns the input's path."""
        stats = self.part_stats(part_id)
        for f in stats.get("files", []):
            (self.root / f).unlink(missing_ok=True)
        self.marker(part_id).unlink()
        return stats.get("path", part_id)

    def forget_global(self, name: str) -> None:
        self.global_marker(name).unlink(missing_ok=True)

    def reset(self) -> None:
        """--fresh: forget every earlier result in this output folder."""
        for name in ("documents", "removed", "_state", "stats.json", "report.html", "artifact.json"):
            p = self.root / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()

    def prepare(self, fingerprint: dict[str, Any], legacy: dict[str, Any] | None = None) -> list[str]:
        """Record the config this output is built from; when an earlier run used another, returns
        the keys that differ (and changes nothing). legacy: the same config as an older corpusmill
        recorded it, accepted (and rewritten) so an upgrade does not rebuild."""
        self.parts_state.mkdir(parents=True, exist_ok=True)
        path = self.state / "config.json"
        wanted = json.dumps(fingerprint, sort_keys=True, indent=1)
        old = json.dumps(legacy, sort_keys=True, indent=1) if legacy is not None else None
        if path.exists() and path.read_text() not in (wanted, old) and any(self.parts_state.iterdir()):
            try:
                earlier = json.loads(path.read_text())
            except ValueError:
                earlier = {}
            return diff_keys(earlier, fingerprint) or ["(unreadable earlier config)"]
        atomic_write_text(path, wanted)
        self._remove_temp_files()
        return []

    def _remove_temp_files(self) -> None:
        """Leftovers of a killed run; their parts have no marker and will be redone."""
        remove_temp_files(self.root)


class PartFiles:
    """The parquet files of one part, written batch by batch, renamed into place on commit."""

    def __init__(self, output: Output, part_id: str):
        self.output, self.part_id = output, part_id
        self.writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}

    def write(self, folder: str, table: pa.Table) -> None:
        if folder not in self.writers:
            final = self.output.root / folder / f"part-{self.part_id}.parquet"
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(final)
            self.writers[folder] = (pq.ParquetWriter(tmp, table.schema, compression="zstd"), tmp, final)
        writer = self.writers[folder][0]
        if table.schema != writer.schema:
            table = table.cast(writer.schema)
        writer.write_table(table)

    def commit(self, stats: dict) -> None:
        stats["files"] = []
        for writer, tmp, final in self.writers.values():
            writer.close()
            os.replace(tmp, final)
            stats["files"].append(str(final.relative_to(self.output.root)))
        stats["files"].sort()
        atomic_write_text(self.output.marker(self.part_id), json.dumps(stats, indent=1))

    def abort(self) -> None:
        for writer, tmp, _ in self.writers.values():
            try:
                writer.close()
            finally:
                tmp.unlink(missing_ok=True)
