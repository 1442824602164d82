"""Artifacts: what a command leaves for the next one (a build output, a tokenizer, a mixture, a
training run) and the manifest that vouches for it, OUT/artifact.json, written last and atomically:

    kind, format, corpusmill version, config_sha256, fingerprint (cheap: sizes and hashes of what
    was written, never a re-read of the data), inputs (the artifacts or files it was made from,
    each with the fingerprint it had then: lineage), status (complete or not) and details.

A writer clears the manifest before it touches anything, so a killed or running command leaves no
`complete` manifest behind; every consumer goes through `require`, which refuses what is not there,
not finished, or not what it claims to be, saying what to run.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Iterable

from corpusmill import __version__
from corpusmill.common.config import ConfigError
from corpusmill.common.files import atomic_write_text

ARTIFACT_FILE = "artifact.json"
FORMAT = "corpusmill-artifact/1"
COMPLETE, INCOMPLETE = "complete", "incomplete"


class ArtifactError(ConfigError):
    """An input that is missing, unfinished, empty or of another kind than the command needs."""


def sha256_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def files_fingerprint(root: str | Path, files: Iterable[str | Path], extra: Any = None) -> str:
    """sha256 over (path relative to root, size) of each file, plus extra: cheap, and the same
    for the same bytes rewritten by a resume (mtimes would not be)."""
    root = Path(root).resolve()
    rows = sorted((str(Path(f).resolve().relative_to(root)), Path(f).stat().st_size) for f in files)
    return sha256_json({"files": rows, "extra": extra})


def content_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (relative path and bytes of each, in order):
    for inputs small enough to hash whole (evaluation sets), where a size is not proof enough."""
    p, h = Path(path), hashlib.sha256()
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    for f in files:
        if f != p:
            h.update(f.relative_to(p).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def manifest_path(root: str | Path) -> Path:
    return Path(root) / ARTIFACT_FILE


def read(root: str | Path) -> dict | None:
    p = manifest_path(root)
    if not p.is_file():
        return None
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and m.get("format") == FORMAT else None


def clear(root: str | Path) -> None:
    """A writer starts: whatever the folder held is no longer vouched for."""
    manifest_path(root).unlink(missing_ok=True)


def write(root: str | Path, kind: str, *, config: Any, fingerprint: str, inputs: list[dict] | None = None,
          status: str = COMPLETE, details: dict | None = None) -> dict:
    m = {"format": FORMAT, "kind": kind, "status": status, "corpusmill": __version__,
         "config_sha256": sha256_json(config), "fingerprint": fingerprint, "inputs": inputs or [],
         "details": details or {}, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_text(manifest_path(root), json.dumps(m, indent=1, ensure_ascii=False))
    return m


def input_ref(m: dict, root: str | Path, name: str | None = None) -> dict:
    """How an artifact names one of its inputs: kind, path, fingerprint at the time it was used."""
    ref = {"kind": m["kind"], "path": str(Path(root).resolve()), "fingerprint": m["fingerprint"]}
    return {"name": name, **ref} if name else ref


def require(root: str | Path, kind: str, needed_by: str) -> dict:
    """The manifest of a complete artifact of this kind at root, or an ArtifactError saying why not
    and what to run."""
    root = Path(root)
    m = read(root)
    if m is None:
        if not root.exists():
            raise ArtifactError(f"{needed_by}: {root} does not exist")
        hint = m_hint(kind, root)
        raise ArtifactError(f"{needed_by}: {root} is not a finished {kind} (no {ARTIFACT_FILE}: the command "
                            f"that writes it was interrupted, is still running, or is from an older corpusmill); {hint}")
    if m["kind"] != kind:
        raise ArtifactError(f"{needed_by}: {root} is a {m['kind']} output, not a {kind}")
    if m["status"] != COMPLETE:
        why = m["details"].get("unfinished") or "it did not finish"
        raise ArtifactError(f"{needed_by}: {root} is an unfinished {kind} ({why}); {m_hint(kind, root, m)}")
    return m


def m_hint(kind: str, root: Path, m: dict | None = None) -> str:
    command = (m or {}).get("details", {}).get("command")
    if command:
        return f"finish it with `{command}`"
    return {"build": "re-run `corpus build` on its build.yaml (it resumes and finishes)",
            "tokenizer": "re-run `corpus tokenizer train`",
            "mixture": "re-run `corpus mix` on its mixture.yaml",
            "run": "re-run `corpus train` on its train.yaml"}.get(kind, "re-run the command that writes it")


def is_build(root: Path) -> bool:
    """A `corpus build` output (finished or not), as opposed to a plain folder of parquet parts."""
    return (root / ARTIFACT_FILE).is_file() or (root / "_state").is_dir() or (root / "stats.json").is_file()


def parquet_files(folder: Path) -> list[Path]:
    """Parquet parts under folder, sorted; temp files of a killed writer (NAME.tmp-X) never match."""
    return sorted(f for f in folder.rglob("*.parquet") if f.is_file() and "_state" not in f.relative_to(folder).parts)


def build_documents(path: str | Path, needed_by: str) -> tuple[Path, dict]:
    """The kept-documents folder behind path, and how to name it as an input (lineage).

    path is a `corpus build` output, its documents/ folder (or a partition folder inside it), or a
    plain folder of parquet parts. A build is read only through its manifest: it must be complete and
    have kept documents, and only documents/ is ever read (never removed/)."""
    p = Path(path).resolve()
    for root in (p, p.parent, p.parent.parent):
        if is_build(root) and root != p and not p.is_relative_to(root / "documents"):
            raise ArtifactError(f"{needed_by}: {p} is inside the build {root} but not in its documents/: only "
                                f"kept documents are ever read as text; give {root} itself")
        if is_build(root):
            m = require(root, "build", needed_by)
            if not m["details"].get("documents"):
                raise ArtifactError(f"{needed_by}: the build {root} kept 0 documents (every one was removed: see "
                                    f"{root / 'stats.json'} and report.html); loosen its stages or check its "
                                    "inputs, then rebuild")
            folder = root / "documents" if root == p else p
            if not folder.is_file() and not (folder.is_dir() and parquet_files(folder)):
                raise ArtifactError(f"{needed_by}: {folder} holds no documents")
            return folder, input_ref(m, root)
    if not p.exists():
        raise ArtifactError(f"{needed_by}: {p} does not exist")
    files = [p] if p.is_file() else parquet_files(p)
    if not files:
        raise ArtifactError(f"{needed_by}: no *.parquet parts in {p}")
    base = p.parent if p.is_file() else p
    stamp = [(str(f.relative_to(base)), f.stat().st_mtime_ns) for f in files]  # a user's files: mtimes count
    return p, {"kind": "files", "path": str(p), "fingerprint": files_fingerprint(base, files, extra=stamp)}
