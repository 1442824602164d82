"""`corpus inspect` through the CLI on a small real build: what it prints (terminal and --json),
checked against the build's own Parquet files read the plain way."""
import json
import random
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml
from click.testing import CliRunner

from corpusmill.cli import main
from corpusmill.inspection import select
from corpusmill.pipeline.config import load_build_config
from corpusmill.pipeline.runner import run_build
from fixtures import TOWN_NEWS as SENTENCES, write_jsonl



def article(seed: int) -> str:
    rnd = random.Random(seed)
    return " ".join(rnd.sample(SENTENCES, 9))


@pytest.fixture(scope="module")
def out(tmp_path_factory, ray_local) -> Path:
    tmp = tmp_path_factory.mktemp("inspect")
    docs = [{"id": f"a{i}", "text": article(i), "url": f"https://river.test/a{i}"} for i in range(8)]
    docs += [{"id": "copy-of-a3", "text": article(3), "url": "https://mirror.test/a3"},
             {"id": "tiny", "text": "Too short."},
             {"id": "mail", "text": article(20) + " Write to jane.doe@river-news.example.org for tickets."}]
    write_jsonl(tmp / "news.jsonl", docs)
    cfg = {"inputs": [{"name": "news", "path": str(tmp / "news.jsonl")}], "output": str(tmp / "out"),
           "batch_size": 4,  # several row groups per file: the scan crosses their borders
           "stages": [{"length": {"min_chars": 100}}, {"quality": {}},
                      {"sensitive": {"pii": "redact", "url_blocklist": False, "badwords": False}},
                      {"dedup": {"exact": True, "url": False, "minhash": None}}]}
    (tmp / "build.yaml").write_text(yaml.safe_dump(cfg))
    run_build(load_build_config(tmp / "build.yaml"))
    return tmp / "out"


def inspect(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["inspect", *args])
    return r.exit_code, r.output


def table(out: Path, folder: str):
    return ds.dataset(str(out / folder)).to_table()


def json_docs(*args: str) -> list[dict]:
    code, text = inspect(*args, "--json")
    assert code == 0, text
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_terminal_shows_duplicates_with_what_they_duplicate(out):
    removed = table(out, "removed/dedup").to_pylist()
    assert [(r["id"], r["reason"]) for r in removed] == [("copy-of-a3", "exact_duplicate")]
    code, text = inspect(str(out), "--removed", "dedup")
    assert code == 0, text
    assert "copy-of-a3" in text and "dedup: exact_duplicate" in text
    assert f"duplicate_of {removed[0]['duplicate_of']}" in text and removed[0]["duplicate_of"] == "a3"
    assert "https://mirror.test/a3" in text and "length       chars=" in text  # annotations of earlier stages
    assert "more characters: --full" in text  # 600 characters shown of a longer text
    assert "1 (the first, in file order) of 1 matching, among 1 documents removed by dedup" in " ".join(text.split())


def test_json_kept_documents_where_and_sample(out):
    kept = table(out, "documents")
    words = dict(zip(kept.column("id").to_pylist(), kept.column("length.words").to_pylist()))
    cut = sorted(words.values())[len(words) // 2]
    want = {i for i, w in words.items() if w > cut}
    docs = json_docs(str(out), "--where", f"length.words > {cut} and source == 'news'", "-n", "100")
    assert {d["id"] for d in docs} == want and want
    d = docs[0]
    assert d["annotations"]["length"]["words"] == words[d["id"]] and "gopher.mean_word_length" in d[
        "annotations"]["quality"]
    assert d["text_truncated"] and len(d["text"]) == 600 and d["text_chars"] > 600
    first = json_docs(str(out), "--seed", "7", "-n", "3")
    assert first == json_docs(str(out), "--seed", "7", "-n", "3")  # a seed gives the same sample
    assert len(first) == 3 and {d["id"] for d in first} <= set(words)
    assert [d["id"] for d in json_docs(str(out), "-n", "2")] == kept.column("id").to_pylist()[:2]


def test_removed_reason_id_and_full_text(out):
    docs = json_docs(str(out), "--reason", "too_short")  # --reason implies --removed
    assert [(d["id"], d["stage"], d["reason"], d["text"]) for d in docs] == [
        ("tiny", "length", "too_short", "Too short.")]
    (mail,) = json_docs(str(out), "--id", "mail", "--full")
    assert "email@example.com" in mail["text"] and "jane.doe" not in mail["text"]  # as written: redacted
    assert not mail["text_truncated"] and len(mail["text"]) == mail["text_chars"]
    assert mail["annotations"]["sensitive"]["pii.email"] == 1
    assert json_docs(str(out), "--source", "elsewhere") == []
    code, text = inspect(str(out), "--lang", "xx")
    assert code == 0 and "no document matches, among 9 kept documents" in " ".join(text.split())


def test_scan_streams_in_small_batches_with_the_same_result(out, monkeypatch):
    q = select.Query(n=100)
    everything = select.find(out, q)
    monkeypatch.setattr(select, "BATCH_ROWS", 2)
    again = select.find(out, q)
    assert [r["id"] for r in again.rows] == [r["id"] for r in everything.rows] == table(
        out, "documents").column("id").to_pylist()
    assert again.matched == again.scanned == 9 and again.complete


def test_mistakes_get_a_message_not_a_traceback(out, tmp_path):
    for args, message in [
        ([str(tmp_path)], "is not a finished build"),
        ([str(out / "documents")], f"is inside the build {out}"),
        ([str(out), "--removed", "langid"], "no removed/langid/ in"),
        ([str(out), "--where", "length.wrds > 3"], "did you mean length.words"),
        ([str(out), "--where", "__import__('os').system('true')"], "unknown function"),
        ([str(out), "--where", "length.words >"], "not an expression"),
    ]:
        code, text = inspect(*args)
        assert code == 1 and message in " ".join(text.split()) and "Traceback" not in text, (args, text)


def test_where_contains_on_a_list_column_matches_whole_items():
    import pyarrow as pa

    from corpusmill.inspection.where import parse

    t = pa.table({"id": ["a", "b", "c", "d"],
                  "sensitive.badwords.words": pa.array([["rape", "sex"], ["sexual"], None, []], pa.list_(pa.string())),
                  "url": ["https://x.test/sex", None, None, None]})
    where = parse("contains(sensitive.badwords.words, 'sex') or contains(url, 'sexual')")
    assert t.filter(where.compile(t.schema)).column("id").to_pylist() == ["a"]  # not 'sexual', not a null list
    assert t.filter(parse("contains(url, 'sex')").compile(t.schema)).column("id").to_pylist() == ["a"]  # substring
