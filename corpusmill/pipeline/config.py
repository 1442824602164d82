"""Pydantic models of build.yaml: validated before any work starts, unknown keys rejected."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

FORMATS = ("warc", "wet", "arc", "jsonl", "parquet", "text", "mediawiki")
Format = Literal["warc", "wet", "arc", "jsonl", "parquet", "text", "mediawiki"]


def _resolve_against_config(value: str, info: ValidationInfo) -> str:
    base = (info.context or {}).get("base_dir")
    if base and value and "://" not in value and not os.path.isabs(value):
        return str(Path(base) / value)
    return value


# A file path in a stage's options: relative paths are relative to the YAML file, like inputs.
ConfigPath = Annotated[str, AfterValidator(_resolve_against_config)]


class Strict(BaseModel):
    """Base of every config model: a typo'd key is an error, not a silently ignored option."""

    model_config = ConfigDict(extra="forbid")


class InputSpec(Strict):
    name: str = Field(description="Name of this input; becomes the `source` column.")
    path: str | list[str] = Field(description="Glob(s) over local paths or fsspec URLs.")
    format: Format | None = Field(None, description="Inferred from the file name when omitted.")
    text_key: str = Field("text", description="jsonl/parquet: the field holding the text.")
    id_key: str | None = Field("id", description="jsonl/parquet: a field kept as the document id when present.")
    url_key: str | None = Field("url", description="jsonl/parquet: a field kept as the url when present.")
    text_unit: Literal["file", "line"] = Field("file", description="text: one document per file or per line.")
    split_bytes: int = Field(
        256 << 20, gt=0, description="Split uncompressed jsonl/text-line files and Parquet into parts of about this size."
    )
    max_document_bytes: int = Field(
        16 << 20, gt=0, description="Larger records are removed at ingest (stage `ingest`, reason `too_large`)."
    )

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("input name must be non-empty, without '/' and not start with '.'")
        return v

    def globs(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class RayConfig(Strict):
    address: str | None = Field(None, description="Address of an existing Ray cluster; null starts an embedded one.")
    num_cpus: int | None = Field(None, gt=0, description="CPUs of the embedded Ray (and workers to use on a cluster).")


class BuildConfig(Strict):
    inputs: list[InputSpec] = Field(min_length=1, description="The raw dumps to read; at least one.")
    output: str = Field(description="Output folder: documents/, removed/, stats.json, _state/.")
    stages: list[dict[str, dict[str, Any] | None]] = Field(
        default_factory=list, description="Applied in order; each item is {stage_name: options}."
    )
    ray: RayConfig = Field(default_factory=RayConfig, description="Where the build runs on Ray (`--ray-address` and "
                           "`--num-cpus` override these).")
    batch_size: int = Field(256, gt=0, description="Documents per batch handed to the stages.")
    partition_by: str | None = Field(
        None, description="Write kept documents to documents/COLUMN=VALUE/ folders (hive style), e.g. `lang`.")

    @field_validator("stages")
    @classmethod
    def _one_key_each(cls, v: list[dict]) -> list[dict]:
        for i, item in enumerate(v):
            if len(item) != 1:
                raise ValueError(f"stages[{i}] must have exactly one key (the stage name), got {sorted(item)}")
        return v

    @field_validator("inputs")
    @classmethod
    def _unique_names(cls, v: list[InputSpec]) -> list[InputSpec]:
        names = [i.name for i in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"input names must be unique; repeated: {dupes}")
        return v


class ConfigError(ValueError):
    """A config that cannot run; the message names the offending key."""


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem, each naming the full key path (e.g. stages[1].length.min_chars)."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "") or "(top level)"
        lines.append(f"{loc}: {e['msg']}")
    return "invalid config:\n  " + "\n  ".join(lines)


def load_build_config(path: str | Path) -> BuildConfig:
    """Read and validate a build.yaml; relative paths are resolved against the file's folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        cfg = BuildConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: " + format_validation_error(e)) from None
    base = path.parent.resolve()
    for spec in cfg.inputs:
        spec.path = [_resolve(g, base) for g in spec.globs()]
    cfg.output = _resolve(cfg.output, base)
    from corpusmill.pipeline.registry import resolve_stage_paths

    cfg.stages = resolve_stage_paths(cfg.stages, base)
    return cfg


def _resolve(p: str, base: Path) -> str:
    if "://" in p or Path(p).is_absolute():
        return p
    return str(base / p)
