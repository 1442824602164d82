"""Pydantic models of build.yaml: validated before any work starts, unknown keys rejected."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from corpusmill.console import log
from corpusmill.common.config import (ConfigError, ConfigPath, Strict, format_validation_error, load_yaml,
                                      resolve_path, validate)

__all__ = ["BuildConfig", "ConfigError", "ConfigPath", "InputSpec", "Strict", "format_validation_error",
           "load_build_config"]

# Reader options that sat on the input itself before readers had their own `options:` (corpusmill
# 0.1): still accepted there, moved under `options` with a deprecation message. Their defaults are
# part of the build's config fingerprint, so a build made then is the same build now.
LEGACY_READER_KEYS = {"text_key": "text", "id_key": "id", "url_key": "url", "text_unit": "file"}


class InputSpec(Strict):
    name: str = Field(description="Name of this input; becomes the `source` column.")
    path: str | list[str] = Field(description="Glob(s) over local paths or fsspec URLs.")
    format: str | None = Field(None, description="A registered reader (warc, wet, arc, jsonl, parquet, text, "
                               "mediawiki, or a plugin's); inferred from the file name when omitted.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Options of the format's reader: jsonl/parquet `text_key` (default text), "
        "`id_key` (id), `url_key` (url); text `text_unit` (file or line). Validated before any work starts.")
    split_bytes: int = Field(
        256 << 20, gt=0, description="Split uncompressed jsonl/text-line files and Parquet into parts of about this size."
    )
    max_document_bytes: int = Field(
        16 << 20, gt=0, description="Larger records are removed at ingest (stage `ingest`, reason `too_large`)."
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy_reader_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(k in data for k in LEGACY_READER_KEYS):
            data = dict(data)
            moved = {k: data.pop(k) for k in LEGACY_READER_KEYS if k in data}
            given = data.get("options") or {}
            data["options"] = {**moved, **given}
            log.warning("inputs.%s: %s on the input is deprecated; write it under `options:` (%s)",
                        data.get("name", "?"), ", ".join(sorted(moved)),
                        ", ".join(f"options: {{{k}: {v!r}}}" for k, v in moved.items()))
        return data

    def reader_options(self, accepts: set[str]) -> tuple[dict[str, Any], list[str]]:
        """(options for a reader taking `accepts`, the ones dropped): an option of 0.1's that this
        format does not take is dropped, as 0.1 ignored it (a `text_key` on a WARC input); any
        other unknown option is kept, for the reader's validation to refuse."""
        dropped = sorted(k for k in self.options if k in LEGACY_READER_KEYS and k not in accepts)
        return {k: v for k, v in self.options.items() if k not in dropped}, dropped

    def fingerprint(self) -> dict[str, Any]:
        """The input as corpusmill 0.1 recorded it (reader options at the input's level, defaults
        filled), so that an upgrade does not make an old build "another configuration"."""
        d = self.model_dump(mode="json", exclude={"options"})
        return {**d, **LEGACY_READER_KEYS, **self.options}

    @field_validator("format")
    @classmethod
    def _a_known_format(cls, v: str | None) -> str | None:
        from corpusmill.pipeline.registry import formats

        if v is not None and v not in formats():
            raise ValueError(f"no reader for format {v!r}; known formats: {', '.join(formats())}")
        return v

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
        None, gt=0, description="Read only N records of each source, shared among its parts by their bytes (each part's first; "
        "the same N gives the same records) for quick tuning ("
        "`corpus build --limit N` sets it and writes to OUTPUT-limitN).")
    mode: Literal["build", "annotate"] = Field(
        "build", description="annotate: every per-document stage annotates every document and removes nothing "
        "(global stages such as dedup do not run); `corpus select OUT --set STAGE.KEY=VALUE -o OUT2` then applies "
        "thresholds to the annotations and equals a build with them, decision for decision.")
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
