"""docs/config-reference.md, generated from the pydantic models at run time.

    python -m corpusmill.docs.config_reference > docs/config-reference.md   # or --write
    python -m corpusmill.docs.config_reference --check                      # exit 1 when stale

Stages are found through the `corpusmill.stages` entry points (pipeline.registry), so a stage
added by a package shows up without touching this file. The output depends only on the models
(no dates, no machine paths), so tests/docs/test_docs.py can compare it with the committed file.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from corpusmill.docs.introspect import (default_of, default_text, is_list, is_union, iter_fields, jsonable,
                                        nested_model, type_args, type_text)

DOC_PATH = "docs/config-reference.md"
REGENERATE = "python -m corpusmill.docs.config_reference --write"

# Values for required keys in the generated examples, per file (a key missing here gets a
# placeholder by type; every other key shows its default).
EXAMPLE_VALUES: dict[str, dict[str, Any]] = {
    "build": {"inputs[].name": "web", "inputs[].path": "dumps/*.warc.gz", "output": "out/web"},
    "stages": {"stages[].classifier.model": "q.bin", "stages[].decontaminate.references[].name": "mmlu",
               "stages[].decontaminate.references[].path": "evals/mmlu/*.jsonl"},
    "mixture": {"tokenizer": "tok/tokenizer.model", "output": "mix/v1", "total_tokens": 50_000_000,
                "sources[].name": "web", "sources[].path": "out/web", "sources[].weight": 1.0},
    "train": {"data": "mix/v1", "output": "runs/tiny"},
    "search": {"tokenizer": "tok/tokenizer.model", "output": "search/v1", "target.total_tokens": 50_000_000,
               "sources[].name": "web", "sources[].path": "out/web"},
}
# Usual order of the built-in stages in a build.yaml; other stages go before the global ones.
STAGE_ORDER = ["extract", "normalize", "length", "langid", "quality", "classifier", "sensitive", "decontaminate",
               "dedup"]


# ---------------------------------------------------------------- the models, found at run time

def _file_section(name: str, model, example: str, intro: list[str]) -> list[str]:
    """A YAML file's heading, intro, example and key tables."""
    return ([f'<a id="{name}-yaml"></a>', "", f"## {name}.yaml", "", *intro, "", "```yaml", example, "```", ""]
            + model_tables(name, model, "", "###", title=f"Top level ({model.__name__})"))


def stage_classes() -> list[tuple[str, type]]:
    """Every registered stage, in the usual pipeline order (unknown ones sorted, global ones last)."""
    from corpusmill.pipeline.registry import stage_class, stage_names

    names = stage_names()
    classes = {n: stage_class(n) for n in names}

    def rank(n: str) -> tuple:
        glob = getattr(classes[n], "scope", "") == "global"
        known = STAGE_ORDER.index(n) if n in STAGE_ORDER else len(STAGE_ORDER) - 1.5
        return (glob, known, n)

    return [(n, classes[n]) for n in sorted(names, key=rank)]


def reader_classes() -> list[tuple[str, type]]:
    """Every registered input format and its Reader class, by name."""
    from corpusmill.pipeline.registry import formats, reader_class

    return [(f, reader_class(f)) for f in formats()]


def all_models() -> dict[str, list[tuple[str, type[BaseModel]]]]:
    """Config file -> [(YAML path prefix, root model)]: what the reference and the tests cover."""
    from corpusmill.mix_search.spec import SearchConfig
    from corpusmill.mixtures.spec import MixtureConfig
    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.tokenizer.settings import SpmSettings
    from corpusmill.trainer.config import TrainConfig

    return {
        "build": [("", BuildConfig)],
        "readers": [(f"inputs[].options.{f}", cls.Options) for f, cls in reader_classes()],
        "stages": [(f"stages[].{n}", cls.Options) for n, cls in stage_classes()],
        "mixture": [("", MixtureConfig)],
        "search": [("", SearchConfig)],
        "train": [("", TrainConfig)],
        "tokenizer": [("", SpmSettings)],
    }


def missing_descriptions() -> dict[str, list[str]]:
    """Config file -> 'path (Model.field)' of every key without a description."""
    out: dict[str, list[str]] = {}
    for file, roots in all_models().items():
        for prefix, root in roots:
            for path, owner, name, info in iter_fields(root, prefix):
                if not (info.description or "").strip():
                    out.setdefault(file, []).append(f"{path} ({owner.__module__}.{owner.__qualname__}.{name})")
    return out


# ---------------------------------------------------------------- examples

def example_value(path: str, info: FieldInfo, values: dict[str, Any]) -> Any:
    if path in values:
        return values[path]
    if not info.is_required():
        return jsonable(default_of(info), full=True)
    sub = nested_model(info.annotation)
    if sub is not None:
        obj = example_object(sub, path + ("[]" if is_list(info.annotation) else ""), values)
        return [obj] if is_list(info.annotation) else obj
    tp = info.annotation
    if is_union(tp):
        tp = next(a for a in type_args(tp) if a is not type(None))
    return {int: 1, float: 1.0, bool: False}.get(tp, "VALUE")


def example_object(model: type[BaseModel], prefix: str = "", values: dict[str, Any] | None = None) -> dict:
    """Every key of the model with its default, required keys filled from EXAMPLE_VALUES."""
    return {name: example_value(f"{prefix}.{name}" if prefix else name, info, values or {})
            for name, info in model.model_fields.items()}


class _Dumper(yaml.SafeDumper):
    """Block YAML with list items indented under their key, as in the README and examples."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _short_lists(dumper: yaml.SafeDumper, data: list):
    flow = all(isinstance(x, (str, int, float, bool, type(None))) for x in data) and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _short_lists)


def block_yaml(obj: Any) -> str:
    """Block YAML; lists of scalars stay on one line (`languages: [en, zh]`)."""
    if isinstance(obj, list):  # a list of stage items: one `- name:` block each
        return "\n".join(block_yaml(x).replace("\n", "\n  ").join(["- ", ""]) for x in obj)
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, allow_unicode=True, sort_keys=False,
                     width=100).rstrip()


def build_example() -> str:
    from corpusmill.pipeline.config import BuildConfig

    obj = example_object(BuildConfig, values=EXAMPLE_VALUES["build"])
    obj["stages"] = [{n: {}} for n, cls in stage_classes()
                     if not any(f.is_required() for f in cls.Options.model_fields.values())]
    return block_yaml(obj)


def search_example(model) -> dict:
    """A search weighs at least two sources: the generated one plus a second, capped."""
    obj = example_object(model, values=EXAMPLE_VALUES["search"])
    obj["sources"] = [*obj["sources"], {"name": "books", "path": "out/books", "max_epochs": 4}]
    return obj


def examples() -> dict[str, str]:
    """File -> generated example YAML (the tests validate each against its model)."""
    from corpusmill.mix_search.spec import SearchConfig
    from corpusmill.mixtures.spec import MixtureConfig
    from corpusmill.trainer.config import TrainConfig

    return {"build": build_example(),
            "mixture": block_yaml(example_object(MixtureConfig, values=EXAMPLE_VALUES["mixture"])),
            "search": block_yaml(search_example(SearchConfig)),
            "train": block_yaml(example_object(TrainConfig, values=EXAMPLE_VALUES["train"]))}


# ---------------------------------------------------------------- Markdown

def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def anchor(key: str, path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{key}-{path.removeprefix('stages[].')}".lower()).strip("-")


def model_tables(key: str, model: type[BaseModel], prefix: str, heading: str, flags: dict[str, str] | None = None,
                 title: str | None = None) -> list[str]:
    """The table of one model's keys, then one subsection per nested model."""
    lines: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    if title is not None:
        lines += [f'<a id="{anchor(key, prefix or "top")}"></a>', "", f"{heading} {title}", ""]
    doc = inspect.getdoc(model) if model.__doc__ else ""
    if doc and not doc.startswith("Base of every config model") and model.__doc__ is not BaseModel.__doc__:
        lines += [doc.split("\n\n")[0].replace("\n", " "), ""]
    lines += ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = nested_model(info.annotation)
        sub_path = path + ("[]" if is_list(info.annotation) else "")
        link = (lambda m, p=sub_path: f"[{m.__name__}](#{anchor(key, p)})")
        desc = (info.description or "").strip()
        if flags is not None:  # tokenizer settings: the CLI flag, its help when the field has no description
            flag, help_text = flags.get(name, (None, ""))
            desc = (f"Flag `{flag}`. " if flag else "No flag (fixed). ") + (desc or help_text)
        desc = desc or "—"
        lines.append(f"| `{path}` | {_cell(type_text(info.annotation, info.metadata, link))} | "
                     f"{_cell(default_text(info))} | {_cell(desc)} |")
        if sub is not None:
            nested.append((sub_path, sub))
    lines.append("")
    for sub_path, sub in nested:
        lines += model_tables(key, sub, sub_path, heading if heading.count("#") >= 4 else heading + "#",
                              flags=None, title=f"`{sub_path}` ({sub.__name__})")
    return lines


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def stage_summary(cls: type) -> str:
    own = cls.__dict__.get("__doc__")
    module = sys.modules[cls.__module__].__doc__
    return _first_paragraph(module) or _first_paragraph(own)


def reader_section() -> list[str]:
    from corpusmill.pipeline.registry import READER_GROUP

    out = ['<a id="readers"></a>', "", "### Input formats and their options", "",
           f"`inputs[].format` names a reader found through the `{READER_GROUP}` entry-point group, so a",
           "package can add its own (a `corpusmill.stages.ingest.base.Reader` subclass); omitted, it is inferred",
           "from the file name (the longest suffix a reader claims, after .gz/.bz2/.zst/.xz). The reader's options",
           "go under `inputs[].options`; corpusmill 0.1's `text_key`, `id_key`, `url_key` and `text_unit` on the",
           "input itself still work, with a deprecation message.", "",
           "| Format | Class | File names | Raw HTML (needs `extract`) | Options |", "|---|---|---|---|---|"]
    for fmt, cls in reader_classes():
        opts = ", ".join(f"`{k}`" for k in cls.Options.model_fields) or "none"
        out.append(f"| `{fmt}` | `{cls.__module__}.{cls.__qualname__}` | {', '.join(f'`{x}`' for x in cls.suffixes)} | "
                   f"{'yes' if cls.raw_content else 'no'} | {opts} |")
    out.append("")
    seen: set = set()
    for fmt, cls in reader_classes():
        if cls.Options.model_fields and cls.Options not in seen:
            seen.add(cls.Options)
            users = ", ".join(f for f, c in reader_classes() if c.Options is cls.Options)
            out += model_tables(f"reader-{fmt}", cls.Options, "inputs[].options", "####",
                                title=f"{users} ({cls.Options.__name__})")
    return out


def tokenizer_flags() -> dict[str, tuple[str, str]]:
    """SpmSettings field -> (its `corpus tokenizer train` option, that option's help)."""
    from corpusmill.tokenizer.cli import train
    from corpusmill.tokenizer.settings import SpmSettings

    alias = {"user_defined_symbols": "uds", "control_symbols": "ctrl", "extra": "spm_extra",
             "unk_id": "special_ids", "bos_id": "special_ids", "eos_id": "special_ids", "pad_id": "special_ids"}
    opts = {p.name: (max(p.opts, key=len), getattr(p, "help", None) or "") for p in train.params if p.opts}
    return {f: opts[alias.get(f, f)] for f in SpmSettings.model_fields if alias.get(f, f) in opts}


def generate() -> str:
    from corpusmill.mix_search.spec import SearchConfig
    from corpusmill.mixtures.spec import MixtureConfig
    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.pipeline.registry import STAGE_GROUP
    from corpusmill.tokenizer.settings import SpmSettings
    from corpusmill.trainer.config import TrainConfig

    ex = examples()
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from the pydantic models by corpusmill/docs/config_reference.py; do not edit by hand.",
        f"     Regenerate: {REGENERATE}   (tests/docs/test_docs.py checks it is current) -->",
        "",
        "Every key of `build.yaml`, of each stage's options, of `mixture.yaml` and of `train.yaml`, and the",
        "tokenizer's training settings, as the code validates them. Unknown keys are errors in every file.",
        "Types: `int >= 1` and `float in (0, 1]` give the accepted range, `a | b` the accepted alternatives,",
        "`null` is YAML's null (`~` or `null`), `path` is a file path resolved against the YAML file's folder.",
        "",
        "Working examples: [examples/quickstart/build.yaml](../examples/quickstart/build.yaml),",
        "[mixture.yaml](../examples/quickstart/mixture.yaml), [train.yaml](../examples/quickstart/train.yaml)",
        "(`make demo` runs them in turn).",
        "",
        "- [build.yaml](#build-yaml)",
        "  - [reader options](#readers)",
        "  - [stages](#stages)",
    ]
    stages = stage_classes()
    out += [f"    - [{n}](#{anchor('stage', n)})" for n, _ in stages]
    out += ["- [mixture.yaml](#mixture-yaml)", "- [search.yaml](#search-yaml)", "- [train.yaml](#train-yaml)",
            "- [Tokenizer settings](#tokenizer-settings)", ""]

    out += _file_section("build", BuildConfig, ex["build"], [
        "`corpus build build.yaml` (`corpusmill.pipeline.config.BuildConfig`, loaded by `load_build_config`).",
        "Relative paths (inputs, output, stage `path` options) are relative to the YAML file."])

    out += reader_section()

    # stages
    out += ['<a id="stages"></a>', "", "### Stages", "",
            f"Each item of `stages` is `{{name: options}}` (options may be `{{}}` or empty). Stages are found through",
            f"the `{STAGE_GROUP}` entry-point group (`corpusmill.pipeline.registry`), so a package can add its own;",
            "this list is every stage registered in the installed environment. A *global* stage sees every",
            "document at once and must come after the per-part stages.", "",
            "| Stage | Class | Scope | Options model |", "|---|---|---|---|"]
    for n, cls in stages:
        scope = getattr(cls, "scope", "part")
        out.append(f"| [`{n}`](#{anchor('stage', n)}) | `{cls.__module__}.{cls.__qualname__}` | {scope} | "
                   f"`{cls.Options.__module__}.{cls.Options.__qualname__}` |")
    out.append("")
    for n, cls in stages:
        summary = stage_summary(cls)
        out += [f'<a id="{anchor("stage", n)}"></a>', "", f"#### `{n}`", ""]
        if summary:
            out += [summary, ""]
        out += model_tables("stage", cls.Options, f"stages[].{n}", "#####")
        required = [k for k, f in cls.Options.model_fields.items() if f.is_required()]
        obj = example_object(cls.Options, f"stages[].{n}", EXAMPLE_VALUES["stages"])
        out += ["Defaults" + (f" (required keys filled in: {', '.join(required)})" if required else "") + ":", "",
                "```yaml", block_yaml([{n: obj}]), "```", ""]

    out += _file_section("mixture", MixtureConfig, ex["mixture"], [
        "`corpus mix mixture.yaml` (`corpusmill.mixtures.spec.MixtureConfig`, loaded by `load_mixture_config`).",
        "Relative paths are relative to the YAML file; weights must sum to 1 unless `normalize: true`."])
    out += _file_section("search", SearchConfig, ex["search"], [
        "`corpus mix search search.yaml` (`corpusmill.mix_search.spec.SearchConfig`, loaded by",
        "`load_search_config`): proxy models on sampled weights, a fit, and a mixture.yaml with the proposal."])
    out += _file_section("train", TrainConfig, ex["train"], [
        "`corpus train train.yaml` (`corpusmill.trainer.config.TrainConfig`, loaded by `load_train_config`;",
        "under torchrun the same file). Relative paths are relative to the YAML file."])

    # tokenizer
    flags = tokenizer_flags()
    out += ['<a id="tokenizer-settings"></a>', "", "## Tokenizer settings", "",
            "`corpus tokenizer train` takes no YAML: its flags build `corpusmill.tokenizer.settings.SpmSettings`",
            "(SentencePiece trainer options, LLaMA's by default), validated before sampling starts and recorded",
            "under `settings` in `OUTPUT/tokenizer.json`. Keys without a flag keep their default; `--spm KEY=VALUE`",
            "passes any other SentencePiece option through `extra`.", ""]
    out += model_tables("tokenizer", SpmSettings, "", "###", flags=flags)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = generate()
    target = Path(__file__).resolve().parents[2] / DOC_PATH
    if "--check" in argv:
        if not target.is_file() or target.read_text() != text:
            print(f"{DOC_PATH} is out of date; regenerate: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    if "--write" in argv:
        target.write_text(text)
        print(f"wrote {target}", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
