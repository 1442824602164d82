"""Dedup against earlier builds (`against:`): which of their files are read, and where their
signatures live. An earlier build is read, never written: its signatures (exact and URL hashes,
band keys, shingle hashes) are cached beside this build, under OUT/_state/dedup-against/KEY/,
KEY naming the earlier build, its manifest fingerprint and the options that shape a signature, so
a rebuilt earlier build (or other options) lands in another folder and is computed afresh, never
served stale. Each cached file also records the size and mtime of the documents file it came
from: a file changed in place is computed again too. The cache survives what undoes this build's
dedup (inputs added or gone), so a re-run reads it instead of the earlier build's text; --fresh
drops it with the rest of _state/.

Where the earlier build kept its own dedup state (`keep_state: true`) with the same signature
options, its signatures are taken from there (the rows it removed dropped) instead of computed."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpusmill import __version__
from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.stages.dedup.files import read_arrow, read_json, write_arrow, write_json, write_npy

CACHE = "dedup-against"
SIG_OPTIONS = ("exact", "url", "minhash", "scope")  # what decides a document's keys


def check_builds(builds: list[str], exclude: Path) -> list[dict]:
    """Each earlier build's manifest, refusing one that is this build, missing, unfinished, empty or
    not a build, with what to do (artifact.require's messages)."""
    out = []
    for root in builds:
        root_p = Path(root).resolve()
        if root_p == Path(exclude).resolve():
            raise ConfigError(f"dedup.against: {root} is this build's own output; name earlier builds only")
        m = artifact.require(root_p, "build", "dedup.against")
        if m["details"].get("mode") == "annotate":  # its documents/ holds what its thresholds would remove
            raise artifact.ArtifactError(f"dedup.against: {root} is an annotate build (`mode: annotate`): its "
                                         "documents are not what a build keeps; run `corpus select` on it and "
                                         "name the select's output instead")
        if not m["details"].get("documents"):
            raise artifact.ArtifactError(f"dedup.against: {root} kept no documents; nothing to deduplicate against "
                                         "(drop it from `against`)")
        out.append(m)
    return out


def older_parts(builds: list[str], out: Path, options: dict) -> list[dict]:
    """The documents files of earlier builds, each {id, path, build, rows, fingerprint, cache}
    (cache: the stem of its cached signatures, relative to OUT). Cache folders of builds or
    fingerprints no longer named are removed."""
    parts, keep = [], set()
    for k, (root, m) in enumerate(zip(builds, check_builds(builds, out))):
        root_p = Path(root).resolve()
        key = cache_key(root_p, m["fingerprint"], options)
        keep.add(key)
        for f in sorted((root_p / "documents").rglob("part-*.parquet")):
            rel = f.relative_to(root_p / "documents").with_suffix("").as_posix().replace("/", "_")
            parts.append({"id": f"against{k}/{rel}", "path": str(f), "build": str(root_p),
                          "rows": pq.ParquetFile(f).metadata.num_rows, "fingerprint": m["fingerprint"],
                          "cache": f"_state/{CACHE}/{key}/{rel}"})
    folder = Path(out) / "_state" / CACHE
    for d in folder.iterdir() if folder.is_dir() else []:
        if d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)
    return parts


def cache_key(build: Path, fingerprint: str, options: dict) -> str:
    sig = {k: options.get(k) for k in SIG_OPTIONS}
    return artifact.sha256_json({"build": str(build), "fingerprint": fingerprint, "options": sig,
                                 "corpusmill": __version__})[:20]


def file_stamp(path: str | Path) -> dict:
    s = Path(path).stat()
    return {"size": s.st_size, "mtime_ns": s.st_mtime_ns}


class Cached:
    """One earlier documents file's cached signatures: STEM.arrow (id, exact and URL hashes per
    row), STEM.keys.arrow (kind, k1, k2, row: every key, unscattered), STEM.sh / STEM.npy (shingle
    hashes and offsets, when candidates are verified) and STEM.json, written last, saying which
    file (size, mtime) and build fingerprint they are of and how they were made."""

    def __init__(self, out_root: str | Path, older: dict):
        self.older = older
        self.stem = Path(out_root) / older["cache"]

    def path(self, ext: str) -> Path:
        return self.stem.with_name(f"{self.stem.name}.{ext}")

    def valid(self) -> bool:
        """Cached for this very file: same build fingerprint, same size and mtime."""
        m = read_json(self.path("json"))
        return m is not None and m.get("fingerprint") == self.older["fingerprint"] and \
            m.get("file") == file_stamp(self.older["path"]) and m.get("rows") == self.older["rows"]

    def mark(self, how: str) -> None:
        write_json(self.path("json"), {"build": self.older["build"], "fingerprint": self.older["fingerprint"],
                                       "file": file_stamp(self.older["path"]), "rows": self.older["rows"],
                                       "made": how})

    def keys(self) -> dict[str, np.ndarray]:
        t = read_arrow(self.path("keys.arrow"))
        return {c: t.column(c).to_numpy() for c in ("kind", "k1", "k2", "row")}


def from_kept_state(cached: Cached, options: dict, verify: bool) -> bool:
    """Fill the cache from the earlier build's own dedup state (kept with keep_state), dropping the
    rows its dedup removed; False (nothing written) when it has none, or made with other options,
    or not of this very documents file."""
    build, name = Path(cached.older["build"]), Path(cached.older["path"]).stem
    state = build / "_state" / "dedup"
    plan, config = read_json(state / "plan.json"), read_json(build / "_state" / "config.json")
    part = name.removeprefix("part-")
    if plan is None or config is None or part not in plan["parts"] or _their_options(config) != \
            {k: options.get(k) for k in SIG_OPTIONS}:
        return False
    files = {"sig": state / "sig" / f"{part}.arrow", "keys": state / "keys" / f"{part}.arrow",
             "mask": state / "final" / f"{part}.mask.npy"}
    if verify:
        files.update(sh=state / "sig" / f"{part}.sh", npy=state / "sig" / f"{part}.npy")
    if not all(p.exists() for p in files.values()):
        return False
    rows = plan["rows"][plan["parts"].index(part)]
    removed = np.unpackbits(np.load(files["mask"]))[:rows].astype(bool)
    sig = read_arrow(files["sig"])
    if sig.num_rows != rows or len(removed) != rows:
        return False
    kept_ids = sig.column("id").combine_chunks().filter(pa.array(~removed))
    ids = pq.read_table(cached.older["path"], columns=["id"]).column("id").combine_chunks().cast(pa.string())
    if not kept_ids.equals(ids):
        return False  # the documents are not what that dedup kept: compute instead
    write_arrow(cached.path("arrow"), sig.filter(pa.array(~removed)))
    new_row = np.cumsum(~removed) - 1
    k = read_arrow(files["keys"])
    row = k.column("gid").to_numpy() & 0xFFFFFFFF
    ok = ~removed[row]
    write_arrow(cached.path("keys.arrow"), pa.table({
        "kind": k.column("kind").to_numpy()[ok], "k1": k.column("k1").to_numpy()[ok],
        "k2": k.column("k2").to_numpy()[ok], "row": new_row[row[ok]].astype(np.int64)}))
    if verify:
        _kept_shingles(files["sh"], files["npy"], ~removed, cached)
    return True


def _their_options(config: dict) -> dict | None:
    for s in config.get("config", {}).get("stages", []):
        if "dedup" in s:
            return {k: s["dedup"].get(k) for k in SIG_OPTIONS}
    return None


def _kept_shingles(sh: Path, npy: Path, kept: np.ndarray, cached: Cached) -> None:
    off = np.load(npy)
    flat = np.memmap(sh, np.uint32, "r") if sh.stat().st_size else np.zeros(0, np.uint32)
    owner = np.repeat(np.arange(len(kept)), np.diff(off))
    lengths = np.diff(off)[kept]
    tmp = cached.path("sh.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    np.asarray(flat[kept[owner]]).tofile(tmp)
    tmp.replace(cached.path("sh"))
    write_npy(cached.path("npy"), np.r_[0, np.cumsum(lengths)].astype(off.dtype))


def describe(plan: dict, results: list[dict], removed: dict[str, int]) -> dict:
    """stats.json's dedup.against: per earlier build its fingerprint, documents and the documents of
    this build removed as its duplicates; and how its signatures were had (computed, cached, state)."""
    builds: dict[str, dict] = {}
    for o, r in zip(plan["older"], results):
        b = builds.setdefault(o["build"], {"fingerprint": o["fingerprint"], "documents": 0,
                                           "removed": removed.get(o["build"], 0),
                                           "signatures": {"computed": 0, "cached": 0, "state": 0}})
        b["documents"] += o["rows"]
        b["signatures"][r["signatures"]] += 1
    return {"builds": builds, "documents": sum(b["documents"] for b in builds.values()),
            "removed": sum(removed.values())}


def changed_since(plan: dict | None) -> list[str]:
    """The earlier builds whose manifest fingerprint is no longer the one the plan used."""
    return sorted({o["build"] for o in (plan or {}).get("older", [])
                   if (artifact.read(o["build"]) or {}).get("fingerprint") != o["fingerprint"]})


def lineage(plan: dict | None) -> list[dict]:
    """How the build's manifest names its earlier builds (lineage): kind, path, fingerprint then."""
    seen: dict[str, dict] = {}
    for o in (plan or {}).get("older", []):
        seen.setdefault(o["build"], {"kind": "build", "name": "dedup.against", "path": o["build"],
                                     "fingerprint": o["fingerprint"]})
    return list(seen.values())
