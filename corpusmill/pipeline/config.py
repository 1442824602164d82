"""Pydantic models of build.yaml: validated before any work starts, unknown keys rejected."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from corpusmill.common.config import (ConfigError, ConfigPath, Strict, format_validation_error, load_yaml,
                                      resolve_path, validate)

__all__ = ["BuildConfig", "ConfigError", "ConfigPath", "InputSpec", "Strict", "format_validation_error",
           "load_build_config"]

FORMATS = ("warc", "wet", "arc", "jsonl", "parquet", "text", "mediawiki")
Format = Literal["warc", "wet", "arc", "jsonl", "parquet", "text", "mediawiki"]


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
    limit: int | None = Field(
        None, gt=0, description="Read only the first N records of each source, in file order (quick tuning; "
        "`corpus build --limit N` sets it and writes to OUTPUT-limitN).")
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


def load_build_config(path: str | Path) -> BuildConfig:
    """Read and validate a build.yaml; relative paths are resolved against the file's folder."""
    path = Path(path)
    cfg = validate(BuildConfig, load_yaml(path, "build config"), path)
    base = path.parent.resolve()
    for spec in cfg.inputs:
        spec.path = [resolve_path(g, base) for g in spec.globs()]
    cfg.output = resolve_path(cfg.output, base)
    from corpusmill.pipeline.registry import resolve_stage_paths

    cfg.stages = resolve_stage_paths(cfg.stages, base)
    return cfg
