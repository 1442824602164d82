"""Mixture config validation and the quota planner."""
import pytest

from corpusmill.mixtures.plan import format_plan, plan_quotas
from corpusmill.mixtures.spec import load_mixture_config
from corpusmill.pipeline.config import ConfigError


def test_downsample_and_repeat_within_caps():
    plans = {p.name: p for p in plan_quotas({"web": 0.7, "books": 0.3}, {"web": 1_000_000, "books": 100_000},
                                            {"web": 1, "books": 4}, 1_000_000)}
    assert plans["web"].quota_tokens == 700_000 and plans["web"].epochs == pytest.approx(0.7)
    assert plans["books"].quota_tokens == 300_000 and plans["books"].epochs == pytest.approx(3.0)
    assert not plans["books"].capped and plans["books"].share == pytest.approx(0.3)


def test_binding_cap_renormalizes_or_fails():
    args = ({"web": 0.5, "books": 0.3, "code": 0.2}, {"web": 10_000_000, "books": 50_000, "code": 1_000_000},
            {"web": None, "books": 2, "code": 1})
    plans = {p.name: p for p in plan_quotas(*args, 1_000_000)}
    assert plans["books"].capped and plans["books"].quota_tokens == 100_000 and plans["books"].epochs == 2
    # the missing 200k go to web and code in proportion 5:2
    assert plans["web"].quota_tokens == pytest.approx(500_000 + 200_000 * 5 / 7, abs=1)
    assert plans["code"].quota_tokens == pytest.approx(200_000 + 200_000 * 2 / 7, abs=1)
    assert sum(p.quota_tokens for p in plans.values()) == pytest.approx(1_000_000, abs=2)
    assert plans["books"].share == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="books.*max_epochs 2"):
        plan_quotas(*args, 1_000_000, on_cap="fail")
    table = format_plan(list(plans.values()), 1_000_000)
    assert "capped" in table and "books" in table


def test_every_source_capped_reports_the_shortfall():
    plans = plan_quotas({"a": 0.5, "b": 0.5}, {"a": 100, "b": 100}, {"a": 1, "b": 2}, 1_000)
    assert [p.quota_tokens for p in plans] == [100, 200]


def test_config_validation(tmp_path):
    (tmp_path / "docs").mkdir()
    y = tmp_path / "mix.yaml"
    y.write_text("tokenizer: tok/tokenizer.model\noutput: mix\ntotal_tokens: 1000\n"
                 "sources: [{name: web, path: docs, weight: 0.6}, {name: b, path: docs, weight: 0.6}]\n")
    with pytest.raises(ConfigError, match="sum to 1.2"):
        load_mixture_config(y)
    y.write_text(y.read_text() + "normalize: true\n")
    cfg = load_mixture_config(y)
    assert [s.weight for s in cfg.sources] == [0.5, 0.5] and cfg.output == str(tmp_path / "mix")
    y.write_text(y.read_text().replace("path: docs, weight: 0.6}]", "path: nowhere, weight: 0.6}]"))
    with pytest.raises(ConfigError, match="sources.b.path"):
        load_mixture_config(y)
    y.write_text("tokenizer: t\noutput: m\ntotal_tokens: 10\nsources: [{name: a, path: ., weight: 1, wieght: 2}]\n")
    with pytest.raises(ConfigError, match="sources.0.wieght"):
        load_mixture_config(y)
