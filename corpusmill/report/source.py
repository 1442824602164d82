"""What a report reads from a build output: stats.json, the config fingerprint and the Parquet files."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from corpusmill.common.files import TMP_MARK

PSEUDO_STAGES = ("ingest", "output")  # the engine's own steps: reading records, dropping empty text


class ReportError(Exception):
    """The folder is not a (finished) build output."""


@dataclass
class BuildOutput:
    root: Path
    stats: dict
    config: dict | None = None  # _state/config.json: {"corpusmill": version, "config": BuildConfig}
    config_hash: str | None = None  # sha256 of _state/config.json, first 12 hex digits
    documents: list[Path] = field(default_factory=list)  # documents/**/part-*.parquet
    removed: dict[str, list[Path]] = field(default_factory=dict)  # stage -> removed/STAGE/*.parquet

    @property
    def stage_order(self) -> list[str]:
        return list(self.stats.get("stages", {}))

    def stage_options(self, name: str) -> dict | None:
        """The options the config gave stage `name` ({} when given none), None when not configured."""
        for item in ((self.config or {}).get("config") or {}).get("stages") or []:
            if name in item:
                return item[name] or {}
        return None


def open_build_output(out: str | Path) -> BuildOutput:
    root = Path(out)
    if not root.is_dir():
        raise ReportError(f"{root} is not a folder (expected the `output` folder of a `corpus build`)")
    path = root / "stats.json"
    if not path.is_file():
        what = "an unfinished build output (no stats.json yet)" if (root / "_state").is_dir() else "not a build output"
        raise ReportError(f"{root} is {what}: a `corpus build` output holds stats.json, documents/ and removed/")
    try:
        stats = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ReportError(f"{path} cannot be read as JSON: {e}") from None
    if not isinstance(stats, dict) or not {"totals", "stages", "sources"} <= set(stats):
        raise ReportError(f"{path} is not the stats.json of a `corpus build` (no totals/stages/sources)")
    build = BuildOutput(root=root, stats=stats, documents=_parquet(root / "documents"))
    cfg_path = root / "_state" / "config.json"
    if cfg_path.is_file():
        raw = cfg_path.read_bytes()
        build.config_hash = hashlib.sha256(raw).hexdigest()[:12]
        try:
            build.config = json.loads(raw)
        except ValueError:
            pass
    removed_root = root / "removed"
    if removed_root.is_dir():
        for d in sorted(p for p in removed_root.iterdir() if p.is_dir()):
            build.removed[d.name] = _parquet(d)
    return build


def _parquet(folder: Path) -> list[Path]:
    """Finished Parquet files under `folder` (partition folders included), in a stable order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if TMP_MARK not in p.name)
