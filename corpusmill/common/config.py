"""Config basics shared by every YAML: the strict base model, one error type, one loader with one
path rule (relative paths are relative to the YAML file's folder)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo


class ConfigError(ValueError):
    """A config or a request that cannot run; the message names the key or path and what to do."""


class Strict(BaseModel):
    """Base of every config model: a typo'd key is an error, not a silently ignored option."""

    model_config = ConfigDict(extra="forbid")


def resolve_path(value: str, base: str | Path | None) -> str:
    """The one path rule: URLs and absolute paths stay; a relative path is taken against base,
    and every path is normalised (so `./out` and `out/` are one path)."""
    if not value or "://" in value:
        return value
    if base is not None and not os.path.isabs(value):
        value = os.path.join(str(base), value)
    return os.path.normpath(value)


def _resolve_against_config(value: str, info: ValidationInfo) -> str:
    return resolve_path(value, (info.context or {}).get("base_dir"))


# A file path in a stage's options: relative paths are relative to the YAML file, like inputs.
ConfigPath = Annotated[str, AfterValidator(_resolve_against_config)]


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, each naming the full key path (e.g. stages[1].length.min_chars)."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "") or "(top level)"
        lines.append(f"{loc}: {e['msg']}")
    return "invalid config:\n  " + "\n  ".join(lines)


def load_yaml(path: str | Path, what: str = "config") -> dict[str, Any]:
    """A YAML file's top-level mapping, or a ConfigError saying what is wrong with the file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder; give the {what} YAML file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def validate(model: type[BaseModel], raw: dict, path: str | Path, context: dict | None = None):
    """model.model_validate with the error turned into a ConfigError naming the file and keys."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as e:
        raise ConfigError(f"{path}: " + format_validation_error(e)) from None


def diff_keys(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two JSON-like values (for 'what changed' messages)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            key = f"{prefix}.{k}" if prefix else str(k)
            if k not in a or k not in b:
                out.append(key)
            else:
                out += diff_keys(a[k], b[k], key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_keys(x, y, f"{prefix}[{i}]")
        return out
    return [] if a == b else [prefix or "(top level)"]
