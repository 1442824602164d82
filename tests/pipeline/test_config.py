"""build.yaml validation: bad configs fail before any work, naming the key."""
import pytest

from corpusmill.pipeline.config import ConfigError, load_build_config
from corpusmill.pipeline.runner import check_config
from fixtures import write_jsonl


def _load(tmp_path, text: str):
    p = tmp_path / "build.yaml"
    p.write_text(text)
    return load_build_config(p)


def test_typo_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs\.0\.txet_key"):
        _load(tmp_path, "inputs: [{name: a, path: x.jsonl, txet_key: body}]\noutput: out\n")


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"ray\.num_cpus"):
        _load(tmp_path, "inputs: [{name: a, path: x.jsonl}]\noutput: out\nray: {num_cpus: many}\n")


def test_unknown_format_and_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match=r"inputs\.0\.format"):
        _load(tmp_path, "inputs: [{name: a, path: x, format: pdf}]\noutput: out\n")
    with pytest.raises(ConfigError, match=r"outptu"):
        _load(tmp_path, "inputs: [{name: a, path: x}]\noutptu: out\n")


def test_stage_options_validated_with_key(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}])
    cfg = _load(tmp_path, "inputs: [{name: a, path: a.jsonl}]\noutput: out\n"
                          "stages: [{normalize: {}}, {length: {min_chars: lots}}]\n")
    with pytest.raises(ConfigError, match=r"stages\[1\]\.length.*min_chars"):
        check_config(cfg)
    cfg = _load(tmp_path, "inputs: [{name: a, path: a.jsonl}]\noutput: out\nstages: [{extract: {engnie: x}}]\n")
    with pytest.raises(ConfigError, match=r"stages\[0\]\.extract.*engnie"):
        check_config(cfg)


def test_unknown_stage_lists_known(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}])
    cfg = _load(tmp_path, "inputs: [{name: a, path: a.jsonl}]\noutput: out\nstages: [{dedupe: {}}]\n")
    with pytest.raises(ConfigError, match=r"unknown stage 'dedupe'.*extract"):
        check_config(cfg)


def test_glob_matching_nothing_and_warc_without_extract(tmp_path):
    cfg = _load(tmp_path, "inputs: [{name: a, path: 'nothing/*.jsonl'}]\noutput: out\n")
    with pytest.raises(ConfigError, match="matched no files"):
        check_config(cfg)
    (tmp_path / "x.warc.gz").write_bytes(b"")
    cfg = _load(tmp_path, "inputs: [{name: a, path: '*.warc.gz'}]\noutput: out\nstages: [{normalize: {}}]\n")
    with pytest.raises(ConfigError, match="extract"):
        check_config(cfg)


def test_relative_paths_resolve_against_yaml(tmp_path):
    cfg = _load(tmp_path, "inputs: [{name: a, path: 'data/*.jsonl'}]\noutput: out\n")
    assert cfg.output == str(tmp_path / "out")
    assert cfg.inputs[0].path == [str(tmp_path / "data/*.jsonl")]


def test_partition_by_with_a_global_stage_is_refused(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}])
    cfg = _load(tmp_path, "inputs: [{name: a, path: a.jsonl}]\noutput: out\npartition_by: lang\n"
                          "stages: [{langid: {}}, {dedup: {exact: true}}]\n")
    with pytest.raises(ConfigError, match="partition_by"):
        check_config(cfg)


def test_langid_second_opinion_with_a_model_by_path_is_refused(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"text": "hello"}])
    cfg = _load(tmp_path, "inputs: [{name: a, path: a.jsonl}]\noutput: out\n"
                          "stages: [{langid: {model: glotlid.bin, second_opinion: cld2}}]\n")
    with pytest.raises(ConfigError, match=r"stages\[0\]\.langid.*lid\.176 only.*second_opinion: none"):
        check_config(cfg)
