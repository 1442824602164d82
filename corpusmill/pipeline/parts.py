"""Turns the configured inputs into parts: one per file, or per byte/row range of a large file.

A part is the unit of work, of output (one documents/ and one removed/ file) and of resume.
"""
from __future__ import annotations

import os
import posixpath
from dataclasses import asdict, dataclass

import fsspec
import xxhash

from corpusmill.console import log
from corpusmill.pipeline.config import BuildConfig, ConfigError, InputSpec
from corpusmill.pipeline.registry import infer_format as format_of_name
from corpusmill.pipeline.registry import reader, reader_class
from corpusmill.stages.ingest.base import Reader

_COMPRESSION = (".gz", ".bz2", ".zst", ".zstd", ".xz")


@dataclass(frozen=True)
class Part:
    source: str
    path: str  # full path or URL
    relpath: str  # path relative to the input's common folder: used in document ids
    format: str
    start: int = 0  # byte offset (line formats) or first row (parquet)
    end: int | None = None  # exclusive; None = to the end
    limit: int | None = None  # records read at most (`corpus build --limit`); not part of the id

    @property
    def part_id(self) -> str:
        key = f"{self.source}\0{self.path}\0{self.start}\0{self.end}"
        return f"{self.source}-{xxhash.xxh64_hexdigest(key)}"

    def to_dict(self) -> dict:
        return asdict(self)


def infer_format(path: str) -> str | None:
    name = posixpath.basename(path).lower()
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    return format_of_name(name)


def reader_for(spec: InputSpec, fmt: str, warn: bool = False) -> Reader:
    """The input's reader for files of this format, its options validated (errors name the input)."""
    options, dropped = spec.reader_options(set(reader_class(fmt).Options.model_fields))
    if dropped and warn:
        log.warning("inputs.%s: format %s takes no option %s; ignored", spec.name, fmt, ", ".join(dropped))
    return reader(fmt, options, where=f"inputs.{spec.name}.options")


def expand(spec: InputSpec) -> list[tuple[str, str]]:
    """(path, relpath) of every file the input's globs match, sorted, without repeats."""
    found: dict[str, None] = {}
    for pattern in spec.globs():
        fs, _, paths = fsspec.get_fs_token_paths(pattern)
        matches = [p for p in paths if fs.isfile(p)]
        if not matches:
            raise ConfigError(f"inputs.{spec.name}.path: {pattern!r} matched no files")
        proto = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
        for p in sorted(matches):
            found[p if proto in ("file", "local") else f"{proto}://{p}"] = None
    paths = list(found)
    root = posixpath.dirname(paths[0]) if len(paths) == 1 else posixpath.commonpath(
        [posixpath.dirname(p) for p in paths])
    return [(p, posixpath.relpath(p, root) if root else p) for p in paths]


def plan_parts(cfg: BuildConfig) -> list[Part]:
    parts: list[Part] = []
    for spec in cfg.inputs:
        readers: dict[str, Reader] = {}
        for path, relpath in expand(spec):
            fmt = spec.format or infer_format(path)
            if fmt is None:
                raise ConfigError(
                    f"inputs.{spec.name}.format: cannot infer the format of {path!r}; set `format:`")
            if fmt not in readers:
                readers[fmt] = reader_for(spec, fmt, warn=True)
            ranges = readers[fmt].split(path, spec)
            parts.extend(Part(spec.name, path, relpath, fmt, s, e) for s, e in ranges)
    ids = [p.part_id for p in parts]
    if len(set(ids)) != len(ids):
        raise ConfigError("two inputs list the same file; each file may be read once")
    return parts


def file_size(path: str) -> int:
    if "://" not in path:
        return os.path.getsize(path)
    fs, p = fsspec.core.url_to_fs(path)
    return fs.size(p)


def file_signature(path: str) -> dict:
    """Size and modification time: enough to notice an input replaced since it was processed."""
    if "://" not in path:
        st = os.stat(path)
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    fs, p = fsspec.core.url_to_fs(path)
    info = fs.info(p)
    return {"size": info.get("size"), "mtime": str(info.get("mtime") or info.get("LastModified") or "")}
