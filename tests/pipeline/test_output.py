"""The output folder's config record: what refuses, what is accepted (an upgrade's older record)."""
import json

from corpusmill.pipeline.output import Output


def test_prepare_refuses_another_config_and_accepts_the_older_record_of_this_one(tmp_path):
    out = Output(tmp_path)
    new, legacy = {"config": {"a": 1, "b": [1, 2]}}, {"config": {"raw": True}}
    assert out.prepare(new) == []
    (out.parts_state / "p1.json").write_text("{}")  # a finished part: the record now binds
    assert out.prepare({"config": {"a": 2, "b": [1, 3]}}) == ["config.a", "config.b[1]"]
    assert json.loads((out.state / "config.json").read_text()) == new  # a refusal changes nothing
    (out.state / "config.json").write_text(json.dumps(legacy, sort_keys=True, indent=1))
    assert out.prepare(new, legacy) == []  # written by an older corpusmill for the same config
    assert json.loads((out.state / "config.json").read_text()) == new
