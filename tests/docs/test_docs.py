"""The generated configuration reference is current, every config key is described, and every
example config (committed and generated) validates against its model."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from corpusmill.docs import config_reference as ref

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated() -> str:
    return ref.generate()


def test_config_reference_is_current(generated):
    committed = REPO / ref.DOC_PATH
    assert committed.is_file(), f"{ref.DOC_PATH} is missing; generate it: {ref.REGENERATE}"
    assert committed.read_text() == generated, (
        f"{ref.DOC_PATH} is out of date with the config models; regenerate it: {ref.REGENERATE}")


def test_generation_is_deterministic(generated):
    assert ref.generate() == generated


def test_reference_lists_every_registered_stage(generated):
    from corpusmill.pipeline.registry import stage_names

    for name in stage_names():
        assert f"#### `{name}`" in generated


@pytest.mark.parametrize("config_file", ["build", "stages", "mixture", "train", "tokenizer"])
def test_every_config_field_has_a_description(config_file):
    missing = ref.missing_descriptions().get(config_file, [])
    assert not missing, (f"{len(missing)} {config_file} config keys have no Field(description=...):\n  "
                         + "\n  ".join(missing))


def validate(kind: str, raw: dict) -> None:
    """Validate one config as its command would, without touching input or output files."""
    if kind == "build":
        from corpusmill.pipeline.config import BuildConfig
        from corpusmill.pipeline.registry import build_stages

        build_stages(BuildConfig.model_validate(raw).stages)
    elif kind == "mixture":  # load_mixture_config also wants the sources to exist: not here
        from corpusmill.mixtures.spec import MixtureConfig

        MixtureConfig.model_validate(raw)
    elif kind == "search":
        from corpusmill.mix_search.spec import SearchConfig

        SearchConfig.model_validate(raw)
    elif kind == "train":
        from corpusmill.trainer.config import TrainConfig

        TrainConfig.model_validate(raw)
    else:  # pragma: no cover
        raise AssertionError(kind)


def kind_of(raw: dict) -> str | None:
    for key, kind in (("inputs", "build"), ("sources", "mixture"), ("data", "train")):
        if key in raw:
            return kind
    return None


EXAMPLES = sorted(p for ext in ("yaml", "yml") for p in (REPO / "examples").rglob(f"*.{ext}"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(REPO)) for p in EXAMPLES])
def test_example_config_validates(path):
    raw = yaml.safe_load(path.read_text())
    kind = kind_of(raw)
    assert kind, f"{path}: not a build (inputs:), mixture (sources:) or train (data:) config"
    validate(kind, raw)


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"build.yaml", "mixture.yaml", "train.yaml"} <= names


@pytest.mark.parametrize("kind", ["build", "mixture", "search", "train"])
def test_generated_example_validates(kind):
    text = ref.examples()[kind]
    validate(kind, yaml.safe_load(text))


def test_generated_stage_defaults_validate():
    for name, cls in ref.stage_classes():
        obj = ref.example_object(cls.Options, f"stages[].{name}", ref.EXAMPLE_VALUES["stages"])
        cls.Options.model_validate(yaml.safe_load(ref.block_yaml(obj)))


def test_readme_links_every_doc():
    readme = (REPO / "README.md").read_text()
    missing = [p.name for p in sorted((REPO / "docs").glob("*.md")) if f"(docs/{p.name})" not in readme]
    assert not missing, f"README.md does not link {missing} (add them to its Documentation list)"
