"""Readers are plugins: a Reader class registered under `corpusmill.readers` is a format like the
built-in ones (inferred from its suffixes, its options validated under the input's `options:`), and
0.1's reader keys on the input itself still work, with a deprecation message, as the same build."""
import logging
from typing import Iterator

import pytest
from pydantic import Field

from corpusmill.common.config import ConfigError, Strict
from corpusmill.pipeline import registry
from corpusmill.pipeline.config import BuildConfig, InputSpec
from corpusmill.pipeline.parts import Part, infer_format, plan_parts, reader_for
from corpusmill.pipeline.runner import check_config, config_fingerprint
from corpusmill.stages.ingest.base import Reader, record


class TsvOptions(Strict):
    column: int = Field(0, ge=0, description="Which tab-separated column holds the text.")


class TsvReader(Reader):
    name = "tsv"
    suffixes = (".tsv",)
    Options = TsvOptions

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict]:
        with open(part.path, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                yield record(part, i, text=line.rstrip("\n").split("\t")[self.options.column])


class _EntryPoint:
    value = "tests:TsvReader"

    def load(self):
        return TsvReader


@pytest.fixture
def tsv_plugin(monkeypatch):
    real = registry._group

    def group(name):
        found = dict(real(name))
        if name == registry.READER_GROUP:
            found["tsv"] = _EntryPoint()
        return found

    monkeypatch.setattr(registry, "_group", group)
    registry.reader_class.cache_clear()
    yield
    registry.reader_class.cache_clear()


def test_a_plugin_reader_is_a_format_with_validated_options(tmp_path, tsv_plugin):
    (tmp_path / "a.tsv").write_text("x\tfirst text\nz\tsecond text\n")
    assert infer_format(str(tmp_path / "a.tsv.gz")) == "tsv"
    assert "tsv" in registry.formats()
    cfg = BuildConfig.model_validate({"inputs": [{"name": "t", "path": str(tmp_path / "*.tsv"),
                                                  "options": {"column": 1}}], "output": str(tmp_path / "out")})
    (part,) = plan_parts(cfg)
    assert part.format == "tsv"
    docs = list(reader_for(cfg.inputs[0], part.format).read(part, cfg.inputs[0]))
    assert [d["text"] for d in docs] == ["first text", "second text"]
    bad = BuildConfig.model_validate({"inputs": [{"name": "t", "path": str(tmp_path / "*.tsv"),
                                                  "options": {"column": -1, "colour": "red"}}], "output": "o"})
    with pytest.raises(ConfigError) as e:
        plan_parts(bad)
    assert "inputs.t.options.column" in str(e.value) and "inputs.t.options.colour" in str(e.value)


def test_legacy_reader_keys_are_the_same_build_with_a_deprecation_message(tmp_path, caplog):
    (tmp_path / "a.jsonl").write_text('{"body": "hello"}\n')
    (tmp_path / "b.warc").write_bytes(b"")
    new = {"name": "j", "path": str(tmp_path / "a.jsonl"), "options": {"text_key": "body"}}
    old = {"name": "j", "path": str(tmp_path / "a.jsonl"), "text_key": "body"}
    with caplog.at_level(logging.WARNING, logger="corpusmill"):
        cfg_old = BuildConfig.model_validate({"inputs": [old], "output": str(tmp_path / "o")})
    assert "inputs.j: text_key on the input is deprecated; write it under `options:`" in caplog.text
    cfg_new = BuildConfig.model_validate({"inputs": [new], "output": str(tmp_path / "o")})
    assert cfg_old.inputs[0].options == {"text_key": "body"}
    fp = config_fingerprint(cfg_new, check_config(cfg_new)[2])
    assert fp == config_fingerprint(cfg_old, check_config(cfg_old)[2])
    # recorded as corpusmill 0.1 did: reader keys at the input's level, their defaults filled in
    assert {k: fp["config"]["inputs"][0][k] for k in ("text_key", "id_key", "url_key", "text_unit")} == \
        {"text_key": "body", "id_key": "id", "url_key": "url", "text_unit": "file"}
    # a 0.1 key the format does not take was ignored then: dropped now, with a word
    caplog.clear()
    warc = BuildConfig.model_validate({"inputs": [{"name": "w", "path": str(tmp_path / "b.warc"),
                                                   "text_key": "body"}], "output": str(tmp_path / "o")})
    with caplog.at_level(logging.WARNING, logger="corpusmill"):
        plan_parts(warc)
    assert "inputs.w: format warc takes no option text_key; ignored" in caplog.text
