"""The `auto` extract engine: its shipped model loads offline and decides deterministically,
trafilatura runs only when the model (or empty cheap texts) asks for it, the block model drops page
chrome and keeps prose, and on a few real pages of each WCXB type it is not worse than the `hybrid`
engine. How pages are cut into blocks: test_extract_blocks.py."""
import gzip
import json
import re
from collections import Counter
from importlib.resources import files

import numpy as np
import pytest

from corpusmill.stages.extract import ExtractOptions, extract_text
from corpusmill.stages.extract_blocks import block_features, second_features, segment
from corpusmill.stages.extract_chooser import CHEAP, cheap_texts, load_chooser, page_features, resiliparse_texts
from corpusmill.stages.extract_trees import Trees
from conftest import shared
from fixtures import article_html


def test_the_shipped_model_is_package_data_and_consistent():
    spec = json.loads(files("corpusmill.stages").joinpath("extract_chooser.json").read_text())
    assert spec["cross_validated"]["folds"] >= 5 and spec["cross_validated"]["wcxb_dev"]["pages"] > 1000
    blocks = segment(article_html(1))
    x = block_features(blocks)
    width2 = second_features(x, np.zeros(len(x)), blocks).shape[1]
    models = [("blocks1", x.shape[1]), ("blocks2", width2), ("gain", len(spec["features1"])),
              ("keep", len(spec["features2"]))]
    models += [(f"f1_{name}", len(spec["features1"])) for name in CHEAP]
    assert sorted(spec["models"]) == sorted(name for name, _ in models)
    for name, width in models:
        tree = spec["models"][name]
        assert np.max(tree["feature"]) < width  # every split reads a feature that exists
        assert np.asarray(tree["leaf"]).shape == (len(tree["feature"]), 2 ** tree["depth"])
    # the features the model was trained on are the ones the engine computes
    html = article_html(1)
    tree, main, page = resiliparse_texts(html)
    _, shares = cheap_texts(html, main, page, load_chooser().blocks)
    feats = {**page_features(tree, html, "https://example.org/news/1", main, page), **shares}
    assert list(feats) == spec["features1"]
    assert spec["features2"][:len(feats)] == spec["features1"] and spec["features2"][-1] == "pick"


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
    texts, _ = cheap_texts(html, main, page, chooser.blocks)
    assert first[0] in list(texts.values()) + ["trafilatura's text"]


def test_row_prediction_is_the_single_row_walk():
    first = load_chooser().blocks.first
    x = block_features(segment(article_html(2)))
    assert np.allclose(first.predict_rows(x), [first.predict(row) for row in x])
    tiny = Trees({"depth": 1, "base": 0.5, "feature": [[0]], "threshold": [[1.0]], "leaf": [[-0.25, 0.25]]})
    assert tiny.predict_rows(np.array([[0.0], [2.0]])).tolist() == [0.25, 0.75]


def test_the_block_model_drops_chrome_and_keeps_prose():
    """A menu and a copyright line in plain <div>s (no <nav>/<footer> for resiliparse to drop):
    resiliparse's whole page keeps them; the block model drops the menu's one-word blocks and the
    copyright line, and keeps every paragraph."""
    chooser = load_chooser()
    html = article_html(4).replace("<nav>", "<div class='top'>").replace("</nav>", "</div>")
    html = html.replace("<footer>", "<div class='end'>").replace("</footer>", "</div>")
    html = html.replace("<a href='/'>Home</a> <a href='/news'>News</a> <a href='/about'>About</a>",
                        "<div><a href='/'>Home</a></div><div><a href='/news'>News</a></div>"
                        "<div><a href='/about'>About</a></div><div><a href='/contact'>Contact</a></div>")
    _, main, page = resiliparse_texts(html)
    assert "All rights reserved" in page and "About" in page
    texts, shares = cheap_texts(html, main, page, chooser.blocks)
    kept = texts["blocks"]
    assert all(f"Paragraph {j} of story 4" in kept for j in range(4))
    assert not {"Home", "News", "About", "Contact"} & set(kept.splitlines())
    assert "All rights reserved" not in kept
    assert 0 < shares["blocks_share"] < 1


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
