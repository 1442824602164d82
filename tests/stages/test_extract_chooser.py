"""The `auto` extract engine: its shipped model loads offline and decides deterministically,
trafilatura runs only when the model (or two empty resiliparse texts) asks for it, and on a few real
pages of each WCXB type it is not worse than the `hybrid` engine."""
import gzip
import json
import re
from collections import Counter
from importlib.resources import files

import numpy as np
import pytest

from corpusmill.stages.extract import ExtractOptions, extract_text
from corpusmill.stages.extract_chooser import load_chooser, page_features, resiliparse_texts
from conftest import shared
from fixtures import article_html


def test_the_shipped_model_is_package_data_and_consistent():
    spec = json.loads(files("corpusmill.stages").joinpath("extract_chooser.json").read_text())
    assert spec["cross_validated"]["folds"] >= 5 and spec["cross_validated"]["pages"] > 1000
    for name, features in (("page_vs_main", "features1"), ("gain", "features1"), ("keep", "features2")):
        tree = spec["models"][name]
        assert np.max(tree["feature"]) < len(spec[features])  # every split reads a feature that exists
        assert np.asarray(tree["leaf"]).shape == (len(tree["feature"]), 2 ** tree["depth"])
    # the features the model was trained on are the ones the engine computes
    html = article_html(1)
    tree, main, page = resiliparse_texts(html)
    assert list(page_features(tree, html, "https://example.org/news/1", main, page)) == spec["features1"]


def test_auto_is_deterministic_and_runs_trafilatura_only_when_asked():
    chooser = load_chooser()
    calls = []

    def traf(options):
        calls.append(options)
        return "trafilatura's text"

    html = article_html(3)
    first = [chooser.extract(html, "https://example.org/a", traf) for _ in range(3)]
    assert len(set(first)) == 1 and first[0]
    assert len(calls) in (0, 3)  # the same decision each time
    assert all(c == chooser.traf_options for c in calls)
    _, main, page = resiliparse_texts(html)
    assert first[0] in (main, page, "trafilatura's text")


def test_auto_asks_trafilatura_when_resiliparse_finds_nothing():
    calls = []
    html = "<html><head><title>t</title></head><body><script>var x = 1;</script></body></html>"
    out = load_chooser().extract(html, None, lambda options: calls.append(options) or "")
    assert out == "" and len(calls) == 1


def test_auto_through_extract_text_keeps_the_article():
    text = extract_text(article_html(5), ExtractOptions(engine="auto"), "https://example.org/news/5")
    assert "Paragraph 3 of story 5" in text and "All rights reserved" not in text


def test_a_missing_model_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="reinstall corpusmill, or set `engine: hybrid`"):
        load_chooser(str(tmp_path / "extract_chooser.json"))


def _words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def _f1(pred: str, gold: Counter) -> float:
    """WCXB's word-F1 of one page (benchmarks/extract_sets.py)."""
    p = _words(pred)
    common = sum((p & gold).values())
    return 0.0 if not common else 2 * common / (sum(p.values()) + sum(gold.values()))


@pytest.mark.slow
def test_auto_is_not_worse_than_hybrid_on_real_pages_of_each_type():
    """Two WCXB dev pages per type (the first two ids of each): a regression check that the live
    engine reproduces what training saw, not a generalisation figure (these are training pages;
    cross-validated figures: docs/benchmarks.md)."""
    from corpusmill.stages.extract import decode_html

    root = shared("html_extraction", "wcxb_dev")
    meta = json.loads((root / "metadata.json").read_text())["files"]
    picked: dict[str, list[str]] = {}
    for pid in sorted(meta):
        picked.setdefault(meta[pid]["page_type"], [])
        if len(picked[meta[pid]["page_type"]]) < 2:
            picked[meta[pid]["page_type"]].append(pid)
    scores = {"auto": [], "hybrid": []}
    for pid in (p for ids in picked.values() for p in ids):
        gt = json.loads((root / "ground-truth" / f"{pid}.json").read_text())
        gold = _words(gt["ground_truth"].get("main_content") or "")
        html = decode_html(gzip.decompress((root / "html" / f"{pid}.html.gz").read_bytes()), None)
        for engine in scores:
            scores[engine].append(_f1(extract_text(html, ExtractOptions(engine=engine), gt.get("url")), gold))
    assert len(scores["auto"]) == 14
    assert np.mean(scores["auto"]) >= np.mean(scores["hybrid"]) - 0.01, scores
