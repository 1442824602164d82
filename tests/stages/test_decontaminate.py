"""The decontaminate stage: n-grams over dedup's normalisation, the exact and Bloom indexes, reference
files of every kind, the three modes on planted passages, and a build with stats, the index shipped once
to the workers and `corpus contamination`."""
import hashlib
import json
import random
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from conftest import shared
from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.report import write_report
from corpusmill.stages.decontaminate import Decontaminate
from corpusmill.stages.decontaminate.index import BloomIndex, ExactIndex
from corpusmill.stages.decontaminate.ngrams import ngram_hashes, token_spans
from corpusmill.stages.decontaminate.references import read_texts
from corpusmill.stages.dedup.text import normalize_py

QUESTION = ("A farmer has seventeen sheep and all but nine run away into the hills during the storm; "
            "how many sheep does the farmer still have left in the field when the storm is over")
CLEAN = ("The river town holds a market every Saturday where growers from the valley sell apples, pears, "
         "cheese and bread to visitors who arrive on the early train from the city.")


def stage(tmp_path, **opts):
    ref = tmp_path / "eval.jsonl"
    ref.write_text(json.dumps({"question": QUESTION, "choices": ["eight", "nine"]}) + "\n"
                   + json.dumps({"question": "too short to index", "choices": []}) + "\n")
    return Decontaminate({"references": [{"name": "sheep", "path": str(ref), "text_key": ["question", "choices"]}],
                          **opts})


def test_tokens_and_ngrams_follow_dedup_normalisation():
    for text in ["Hello, WÖRLD: 12 345 apples—and pears!", "中文字，かな ok", "tab\tand\nnew  line", "",
                 "a\u0301b e\u0300 x"]:
        assert len(token_spans(text)) == len(normalize_py(text).split()), text
    a, _, _ = ngram_hashes(["The Quick, brown fox; jumps over 12 lazy dogs."], 3)
    b, _, _ = ngram_hashes(["the quick brown FOX jumps over 99 lazy dogs"], 3)
    assert len(a) == 7 and (a == b).all()  # case, punctuation and digit values do not matter
    h, off, ntok = ngram_hashes(["one two", "", None, "中文字很好"], 3)
    assert off.tolist() == [0, 0, 0, 0, 3] and ntok.tolist() == [2, 0, 0, 5]  # Han: one token a character


def test_token_spans_match_the_normaliser_on_real_text():
    texts = [p for p in shared("text", "en", "gutenberg", "austen-emma.txt").read_text(
        encoding="latin-1").split("\n\n")[:400] if p.strip()]
    texts += shared("text", "zh", "hongloumeng.txt").read_text(encoding="utf-8")[:20000].split("\n")[:200]
    _, _, ntok = ngram_hashes(texts, 13)
    assert [len(token_spans(t)) for t in texts] == ntok.tolist()


def test_bloom_has_no_false_negatives_and_its_measured_rate_near_the_target():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2 ** 63, 200_000, dtype=np.uint64)
    bloom = BloomIndex(len(keys), 1e-3)
    bloom.add(keys)
    assert bloom.contains(keys).all()
    others = rng.integers(2 ** 63, 2 ** 64 - 1, 400_000, dtype=np.uint64)
    measured = bloom.contains(others).mean()
    assert 0.3e-3 < measured < 3e-3 and 0.5e-3 < bloom.rate() < 2e-3
    assert bloom.nbytes < len(keys) * 8 / 4  # ~14.4 bits per key
    # a small set at a low rate: no false-positive floor of order 1/bits (double hashing had one:
    # 56 of these 3M where 3 are expected)
    small = BloomIndex(500, 1e-6)
    small.add(keys[:500])
    misses = rng.integers(2 ** 63, 2 ** 64 - 1, 3_000_000, dtype=np.uint64)
    assert small.contains(keys[:500]).all() and small.contains(misses).sum() <= 15  # 3 expected
    exact = ExactIndex(np.concatenate([keys, keys[:10]]))
    assert len(exact) == len(keys) and exact.contains(keys).all() and not exact.contains(others).any()
    edges = np.array([0, 1, 2 ** 64 - 1, keys.min(), keys.max()], np.uint64)
    for small in (keys[:0], keys[:1], keys[:7], np.append(keys[:100], edges[:3])):
        probe = np.concatenate([keys[:300], edges, others[:300]])
        assert (ExactIndex(small).contains(probe) == np.isin(probe, small)).all()


def test_modes_on_a_planted_question(tmp_path):
    docs = pa.table({"text": [f"{CLEAN} {QUESTION.upper()}? {CLEAN}", CLEAN, None, QUESTION]})
    remove = stage(tmp_path)
    d = remove.process(docs)
    assert d.reasons == ["contaminated:sheep", None, None, "contaminated:sheep"]
    rows = d.table.to_pylist()
    words = len(QUESTION.split())
    assert rows[0]["decontaminate.longest"] == words and rows[0]["decontaminate.ngrams"] == words - 12
    assert rows[0]["decontaminate.sets"] == ["sheep"] and rows[1]["decontaminate.sets"] == []
    assert rows[3]["decontaminate.share"] == 1.0 and 0 < rows[0]["decontaminate.share"] < 1
    assert d.counters == {"contamination.documents_by_set": {"sheep": 2},
                          "contamination.ngrams_by_set": {"sheep": 2 * (words - 12)}}
    assert remove.prepared["sets"]["sheep"]["short_texts"] == 1 and remove.prepared["sets"]["sheep"]["texts"] == 2

    assert stage(tmp_path, mode="annotate").process(docs).reasons == [None] * 4
    assert stage(tmp_path, min_matches=words).process(docs).reasons == [None] * 4

    red = stage(tmp_path, mode="redact", margin_chars=10).process(docs)
    assert red.reasons == [None, None, None, "contaminated:sheep"]  # nothing would be left of the last
    kept = red.table.column("text")[0].as_py()
    assert "sheep" not in kept and kept.startswith(CLEAN[:-10].strip()) and kept.endswith(CLEAN[10:].strip())
    assert red.table.column("decontaminate.redacted_chars")[0].as_py() == len(docs["text"][0].as_py()) - len(kept)


def test_reference_files_of_every_kind(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"q": "one", "a": ["x", 2]}\n\n{"q": "two", "a": null}\n')
    pq.write_table(pa.table({"q": ["three"], "a": [["y"]]}), tmp_path / "b.parquet")
    (tmp_path / "c.txt").write_text("para one\nwrapped\n\n\npara two\n")
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"q": ["four", "five"], "a": [["z"], []]}).save_to_disk(str(tmp_path / "hf"))
    datasets.DatasetDict({"test": datasets.Dataset.from_dict({"q": ["six"], "a": [["w"]]})}).save_to_disk(
        str(tmp_path / "hfd"))

    def texts(path, keys=("q", "a")):
        return [t for b in read_texts(str(tmp_path / path), list(keys), "s") for t in b]
    assert texts("a.jsonl") == ["one\nx\n2", "two\n"]
    assert texts("*.parquet") == ["three\ny"] and texts("c.txt") == ["para one\nwrapped", "para two"]
    assert texts("hf") == ["four\nz", "five\n"] and texts("hfd") == ["six\nw"]
    with pytest.raises(ConfigError, match=r"a\.jsonl:1: no field 'question'.*set `text_key`"):
        texts("a.jsonl", ["question"])
    with pytest.raises(ConfigError, match="nothing at"):
        texts("evals/*.jsonl")
    with pytest.raises(ValidationError, match="given twice"):
        Decontaminate({"references": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]})


@pytest.mark.slow
def test_build_reports_contamination_and_ships_the_index_once(tmp_path, ray_local):
    from corpusmill.cli import main
    from corpusmill.pipeline.config import load_build_config
    from corpusmill.pipeline.runner import run_build

    rng = random.Random(0)
    docs = [{"id": f"d{i}", "text": f"{CLEAN} {QUESTION if i % 5 == 0 else ''} {CLEAN}"} for i in range(40)]
    rng.shuffle(docs)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": QUESTION}) + "\n")
    (tmp_path / "other.txt").write_text("A second evaluation set whose passages never appear in the documents of "
                                        "this build, written only to be indexed and counted.\n")
    (tmp_path / "build.yaml").write_text(
        "inputs: [{name: web, path: in.jsonl}]\noutput: out\nstages:\n"
        "  - decontaminate:\n      references:\n        - {name: sheep, path: eval.jsonl, text_key: question}\n"
        "        - {name: fair, path: other.txt}\n")
    stats = run_build(load_build_config(tmp_path / "build.yaml"))
    st = stats["stages"]["decontaminate"]
    assert st["removed_by_reason"] == {"contaminated:sheep": 8} and stats["totals"]["kept"] == 32
    assert st["prepared"]["sets"]["sheep"]["index"] == "exact" and st["prepared"]["sets"]["fair"]["ngrams"] > 0
    removed = pq.read_table(tmp_path / "out" / "removed" / "decontaminate").to_pylist()
    assert sorted(r["id"] for r in removed) == sorted(f"d{i}" for i in range(0, 40, 5))
    result = CliRunner().invoke(main, ["contamination", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "40 documents checked against 2 reference sets (13-grams)" in result.output
    assert [ln.split()[7] for ln in result.output.splitlines()[2:]] == ["8", "0"]  # docs per set
    no = CliRunner().invoke(main, ["contamination", str(tmp_path)])
    assert no.exit_code == 1 and "no stats.json" in no.output

    # lineage: the build's manifest names each reference file with its content hash, checked now
    refs = [i for i in artifact.read(tmp_path / "out")["inputs"] if i["kind"] == "reference"]
    assert refs == [{"kind": "reference", "name": f"decontaminate.{n}", "path": str(tmp_path / f),
                     "sha256": hashlib.sha256((tmp_path / f).read_bytes()).hexdigest()}
                    for n, f in (("sheep", "eval.jsonl"), ("fair", "other.txt"))]
    tree = CliRunner().invoke(main, ["lineage", str(tmp_path / "out")]).output
    assert f"reference [decontaminate.sheep] {tmp_path / 'eval.jsonl'} fingerprint {refs[0]['sha256'][:12]} " \
           "(current)" in tree
    (tmp_path / "eval.jsonl").write_text(json.dumps({"question": QUESTION + " Changed."}) + "\n")
    tree = CliRunner().invoke(main, ["lineage", str(tmp_path / "out")]).output
    assert "eval.jsonl fingerprint" in tree and tree.count("changed since it was used") == 1
    # the report's section: documents and removals per set
    html = write_report(tmp_path / "out").read_text()
    section = html[html.index("<h2>Contamination per reference set</h2>"):]
    section = section[:section.index("</section>")]
    assert "40 documents looked up in each evaluation set by 13-grams (mode remove)" in section
    assert re.search(r"<td>sheep</td>.*?<td class=\"n\">8</td><td class=\"n\">20.0%</td>", section)

    # what the workers get: the index read in place from Ray's object store, not a private copy
    s = Decontaminate({"references": [{"name": "sheep", "path": str(tmp_path / "eval.jsonl"), "text_key": "question"}]})
    s.prepare()
    ref = ray_local.put([s])

    @ray_local.remote
    def probe(stages):
        return stages[0].indexes["sheep"].hashes.flags.writeable, stages[0].process(
            pa.table({"text": [QUESTION]})).reasons
    assert ray_local.get(probe.remote(ref)) == (False, ["contaminated:sheep"])
