"""`corpus lineage PATH`: the chain of artifacts behind a run, mixture, tokenizer or build, read
from their manifests, each input checked against what it is now (unchanged, changed, missing)."""
from __future__ import annotations

from pathlib import Path

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError

MAX_FILES_SHOWN = 5


def _root(path: Path) -> Path:
    """A checkpoint file or the checkpoints/ folder belong to their run; a tokenizer.model to its folder."""
    if path.is_file():
        path = path.parent
    if path.name == "checkpoints":
        path = path.parent
    return path


def trace(path: str | Path, used: dict | None = None, depth: int = 0) -> dict:
    """A tree: {kind, path, status, fingerprint, state, inputs: [...]}. used: how the consumer named
    this input (its fingerprint then), to tell whether it changed since."""
    root = _root(Path(path).resolve())
    m = artifact.read(root)
    node = {"kind": (used or {}).get("kind"), "name": (used or {}).get("name"), "path": str(root)}
    if m is None:
        if used is None:
            raise ConfigError(f"{root}: no {artifact.ARTIFACT_FILE} (not a corpusmill output, or one made by an "
                              "older version or not finished)")
        node["state"] = "missing" if not root.exists() else "no manifest"
        node["fingerprint"] = used.get("fingerprint")
        return node
    node.update(kind=m["kind"], status=m["status"], fingerprint=m["fingerprint"], written=m.get("written"),
                corpusmill=m.get("corpusmill"))
    node["state"] = ("current" if used is None or used.get("fingerprint") == m["fingerprint"]
                     else f"changed since it was used (then {str(used.get('fingerprint'))[:12]})")
    files = [i for i in m["inputs"] if i.get("kind") == "files"]
    node["inputs"] = [trace(i["path"], i, depth + 1) if i.get("kind") != "reference" else _reference(i)
                      for i in m["inputs"] if i.get("kind") != "files"]
    if files:
        node["files"] = {"count": len(files), "missing": sum(not Path(f["path"]).exists() for f in files),
                         "shown": [f["path"] for f in files[:MAX_FILES_SHOWN]]}
    return node


def _reference(ref: dict) -> dict:
    """A file read whole (an evaluation set): its content hash then, checked against now."""
    p = Path(ref["path"])
    now = artifact.content_sha256(p) if p.exists() else None
    state = "missing" if now is None else "current" if now == ref.get("sha256") else \
        f"changed since it was used (now {now[:12]})"
    return {"kind": "reference", "name": ref.get("name"), "path": ref["path"], "fingerprint": ref.get("sha256"),
            "state": state}


def format_tree(node: dict, prefix: str = "", last: bool = True, top: bool = True) -> list[str]:
    head = "" if top else prefix + ("└─ " if last else "├─ ")
    name = f" [{node['name']}]" if node.get("name") and node["name"] != node.get("kind") else ""
    status = f" {node['status']}" if node.get("status") else ""
    fp = str(node.get("fingerprint") or "?")[:12]
    lines = [f"{head}{node.get('kind') or '?'}{name} {node['path']}{status} fingerprint {fp} ({node['state']})"]
    child = "" if top else prefix + ("   " if last else "│  ")
    kids = node.get("inputs", [])
    files = node.get("files")
    for i, k in enumerate(kids):
        lines += format_tree(k, child, i == len(kids) - 1 and not files, top=False)
    if files:
        more = files["count"] - len(files["shown"])
        miss = f", {files['missing']} missing now" if files["missing"] else ""
        lines.append(f"{child}└─ {files['count']} input file(s){miss}: " + ", ".join(files["shown"])
                     + (f" and {more} more" if more > 0 else ""))
    return lines
