"""Finds stages and readers through entry points, so the engine never imports one by name
and a plugin package can add its own (group `corpusmill.stages` / `corpusmill.readers`)."""
from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from corpusmill.common.config import ConfigError, format_validation_error
from corpusmill.pipeline.stage import Stage
from corpusmill.stages.ingest.base import Reader

STAGE_GROUP = "corpusmill.stages"
READER_GROUP = "corpusmill.readers"


@cache
def _group(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def stage_names() -> list[str]:
    return sorted(_group(STAGE_GROUP))


def stage_class(name: str) -> type[Stage]:
    eps = _group(STAGE_GROUP)
    if name not in eps:
        raise ConfigError(f"unknown stage {name!r}; known stages: {', '.join(sorted(eps))}")
    return eps[name].load()


def build_stages(items: list[dict[str, dict | None]]) -> list[Stage]:
    """Instantiate the configured stages, validating each one's options (errors name the key)."""
    stages = []
    for i, item in enumerate(items):
        (name, options), = item.items()
        cls = stage_class(name)
        try:
            stages.append(cls(cls.Options.model_validate(options or {})))
        except ValidationError as e:
            raise ConfigError(format_validation_error(e, f"stages[{i}].{name}")) from None
    return stages


@cache
def reader_class(fmt: str) -> type[Reader]:
    """The Reader registered under the format's name. An entry point names the class; one that names
    a module (as corpusmill <= 0.1 did) means the Reader class in it with that name."""
    eps = _group(READER_GROUP)
    if fmt not in eps:
        raise ConfigError(f"no reader for format {fmt!r}; known formats: {', '.join(sorted(eps))}")
    obj = eps[fmt].load()
    if isinstance(obj, ModuleType):
        obj = next((c for c in vars(obj).values() if isinstance(c, type) and issubclass(c, Reader)
                    and getattr(c, "name", None) == fmt), None)
    if not (isinstance(obj, type) and issubclass(obj, Reader)):
        raise ConfigError(f"the reader registered for format {fmt!r} ({eps[fmt].value}) is not a "
                          "corpusmill.stages.ingest.base.Reader subclass")
    return obj


def formats() -> list[str]:
    return sorted(_group(READER_GROUP))


def reader(fmt: str, options: dict | None = None, where: str = "options") -> Reader:
    """A reader for the format with its options validated (errors name `where`)."""
    cls = reader_class(fmt)
    try:
        return cls(cls.Options.model_validate(options or {}))
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, where)) from None


def infer_format(name: str) -> str | None:
    """The format a (lowercase, compression suffix removed) file name means: the longest suffix any
    reader claims, else a reader's looser name test."""
    claims = sorted(((suf, fmt) for fmt in formats() for suf in reader_class(fmt).suffixes),
                    key=lambda sf: -len(sf[0]))
    for suffix, fmt in claims:
        if name.endswith(suffix):
            return fmt
    return next((fmt for fmt in formats() if reader_class(fmt).matches_name(name)), None)


def resolve_stage_paths(items: list[dict[str, dict | None]], base_dir) -> list[dict[str, dict | None]]:
    """Stage options with their ConfigPath fields made absolute against the config's folder.
    Unknown stages and invalid options are left for build_stages to report."""
    out = []
    for item in items:
        (name, options), = item.items()
        try:
            cls = stage_class(name)
            opts = cls.Options.model_validate(options or {}, context={"base_dir": str(base_dir)})
        except (ConfigError, ValidationError, ImportError):
            out.append(item)
            continue
        explicit = set(options or {})
        out.append({name: {k: v for k, v in opts.model_dump(mode="json").items() if k in explicit}})
    return out
