"""The config of a `corpus select`: the annotate build's config with thresholds moved (`--set
STAGE.KEY=VALUE` or a `select:` mapping), refused where a change is not a threshold the stage
re-decides from its annotations (a change of what a stage computes needs a build)."""
from __future__ import annotations

import re
from typing import Any

import yaml

from corpusmill.common.config import ConfigError, diff_keys, validate
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.registry import build_stages
from corpusmill.pipeline.stage import GlobalStage, Stage


def parse_sets(items: list[str]) -> dict[str, Any]:
    """['quality.gopher.min_doc_words=30', ...] -> {'quality.gopher.min_doc_words': 30}; values read as YAML."""
    out: dict[str, Any] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or "." not in key:
            raise ConfigError(f"--set {item!r}: write STAGE.KEY=VALUE, e.g. quality.gopher.min_doc_words=30")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({e})") from None
    return out


def _set(options: dict, path: list[str], value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(options.get(key), dict):  # a short form (true, 'redact') or a family that was off
            options[key] = {}
        options = options[key]
    options[path[-1]] = value


def selected_config(annotated: BuildConfig, sets: dict[str, Any]) -> tuple[BuildConfig, list[Stage]]:
    """(the build config select reproduces, its stages), or a ConfigError naming the key it cannot apply."""
    raw = annotated.model_dump(mode="json")
    raw["mode"] = "build"
    names = [next(iter(item)) for item in raw["stages"]]
    for key, value in sets.items():
        stage, _, path = key.partition(".")
        if stage not in names:
            raise ConfigError(f"--set {key}: no stage {stage!r} in the annotate build (its stages: {', '.join(names)})")
        item = raw["stages"][names.index(stage)]
        if not isinstance(item[stage], dict):
            item[stage] = {}
        _set(item[stage], path.split("."), value)
    cfg = validate(BuildConfig, raw, "--set")
    before, after = build_stages(annotated.stages), build_stages(cfg.stages)
    for old, new in zip(before, after):
        if isinstance(new, GlobalStage):  # select runs it anew on what it keeps: any option goes
            continue
        _check_thresholds(old, new)
    return cfg, after


def _check_thresholds(old: Stage, new: Stage) -> None:
    changed = diff_keys(old.options.model_dump(mode="json"), new.options.model_dump(mode="json"))
    allowed = set(new.thresholds)
    for key in changed:
        plain = re.sub(r"\[\d+\]", "", key)
        if plain not in allowed:
            what = (f"its thresholds are {', '.join(f'{new.name}.{t}' for t in new.thresholds)}" if allowed
                    else "it has no thresholds to move")
            raise ConfigError(f"--set {new.name}.{plain}: not a threshold `corpus select` can re-apply from the "
                              f"annotations (it changes what the stage computes; {what}); rebuild with "
                              "`mode: annotate` and the new setting")
    problem = getattr(new, "select_problem", None)
    if changed and problem is not None and (why := problem(old.options)):
        raise ConfigError(f"--set {why}")
