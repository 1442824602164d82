"""`corpus build` end to end on the session's Ray: outputs, accounting, ids, resume, bad input."""
import json
import random

import pyarrow.dataset as ds
import pytest

from corpusmill.pipeline.config import ConfigError, load_build_config
from corpusmill.pipeline.runner import run_build
from fixtures import pages, write_build_yaml, write_jsonl, write_warc

pytestmark = pytest.mark.usefixtures("ray_local")


def build(yaml_path, **kw):
    cfg = load_build_config(yaml_path)
    return cfg, run_build(cfg, **kw)


def table(out, folder):
    d = out / folder
    if not d.exists():
        return []
    return ds.dataset(str(d), format="parquet").to_table().to_pylist()


def test_build_outputs_accounting_and_resume(tmp_path):
    web = [*pages(6), {"url": "https://www.river-town.test/logo.png", "body": b"\x89PNG....",
                       "content_type": "image/png"},
           {"url": "https://www.river-town.test/gone", "html": "<html>gone</html>", "status": 404}]
    write_warc(tmp_path / "a.warc.gz", web[:4])
    write_warc(tmp_path / "b.warc.gz", web[4:])
    write_jsonl(tmp_path / "c.jsonl", [{"id": "j1", "text": "Ein kurzer Text."}, {"id": "j2", "text": "  "}])
    y = write_build_yaml(tmp_path / "build.yaml",
                         [{"name": "web", "path": "*.warc.gz"}, {"name": "js", "path": "c.jsonl"}],
                         tmp_path / "out", [{"extract": {}}, {"normalize": {}}, {"length": {"min_chars": 10}}])
    cfg, stats = build(y)
    out = tmp_path / "out"
    t = stats["totals"]
    assert (t["documents_in"], t["kept"], t["removed"]) == (10, 7, 3)
    assert stats["accounting_ok"] and stats["sources"]["web"]["documents_in"] == 8
    assert stats["stages"]["extract"]["removed_by_reason"] == {"http_404": 1, "not_html": 1}
    assert stats["stages"]["length"]["removed_by_reason"] == {"too_short": 1}
    assert stats["stages"]["output"]["removed_by_reason"] == {}
    docs = table(out, "documents")
    assert sorted(d["url"] for d in docs if d["source"] == "web") == sorted(p["url"] for p in web[:6])
    assert all("river town" in d["text"] and "Copyright" not in d["text"] for d in docs if d["source"] == "web")
    assert {"id", "source", "url", "text", "lang", "lang_score", "length.chars"} <= set(docs[0])
    removed = table(out, "removed")
    assert sorted((r["stage"], r["reason"]) for r in removed) == [
        ("extract", "http_404"), ("extract", "not_html"), ("length", "too_short")]
    ids = sorted(d["id"] for d in docs + removed)
    assert len(set(ids)) == 10 and "j1" in ids and "web/a.warc.gz#1" in ids
    on_disk = json.loads((out / "stats.json").read_text())
    assert on_disk["totals"] == t and on_disk["files"][str(tmp_path / "a.warc.gz")]["documents_in"] == 4

    # re-run: every part is done, nothing is recomputed, the same stats come out
    markers = {p: p.stat().st_mtime_ns for p in (out / "_state" / "parts").iterdir()}
    _, again = build(y)
    assert again["totals"] == t
    assert {p: p.stat().st_mtime_ns for p in (out / "_state" / "parts").iterdir()} == markers
    # --fresh recomputes and gives the same documents and ids
    _, fresh = build(y, fresh=True)
    assert sorted((d["id"], d["text"]) for d in table(out, "documents")) == sorted((d["id"], d["text"]) for d in docs)
    # a changed input file is refused until --fresh
    write_jsonl(tmp_path / "c.jsonl", [{"id": "j1", "text": "Ein anderer Text."}])
    with pytest.raises(ConfigError, match="c.jsonl changed"):
        build(y)
    _, fresh = build(y, fresh=True)
    # a changed config is refused until --fresh
    y.write_text(y.read_text().replace("min_chars: 10", "min_chars: 30"))
    with pytest.raises(ConfigError, match="--fresh"):
        build(y)


def test_bad_input_is_counted_and_nothing_valid_is_lost(tmp_path):
    good = pages(5)
    write_warc(tmp_path / "ok.warc.gz", good)
    t = write_warc(tmp_path / "truncated.warc.gz", pages(6, start=10), gzip_mode="file")
    t.write_bytes(t.read_bytes()[: int(t.stat().st_size * 0.7)])
    c = write_warc(tmp_path / "corrupt.warc.gz", pages(5, start=20))
    data = bytearray(c.read_bytes())
    members = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\x1f\x8b\x08"]
    data[members[3] + 20: members[3] + 50] = b"\xff" * 30  # the 3rd page record
    c.write_bytes(bytes(data))
    (tmp_path / "empty.warc.gz").write_bytes(b"")
    (tmp_path / "bad_utf8.jsonl").write_bytes(b'{"text": "caf\xe9 au lait, good text"}\n{"text": "fine"}\n')
    rnd = random.Random(1)
    (tmp_path / "junk.jsonl").write_bytes(bytes(rnd.randrange(256) for _ in range(50000)))
    write_jsonl(tmp_path / "big.jsonl", [{"text": "x " * (25 << 20)}, {"text": "small neighbour"}, {"text": " \n "}])
    y = write_build_yaml(tmp_path / "build.yaml",
                         [{"name": "web", "path": "*.warc.gz"}, {"name": "js", "path": "*.jsonl"}],
                         tmp_path / "out")
    _, stats = build(y)
    by_file = {(p["file"].rsplit("/", 1)[-1], p["reason"]) for p in stats["problems"]}
    assert ("truncated.warc.gz", "truncated_file") in by_file
    assert ("corrupt.warc.gz", "corrupt_record") in by_file or ("corrupt.warc.gz", "corrupt_gzip") in by_file
    assert ("empty.warc.gz", "empty_file") in by_file
    assert ("bad_utf8.jsonl", "invalid_utf8_replaced") in by_file
    assert {r for f, r in by_file if f == "junk.jsonl"} <= {"invalid_json", "not_an_object"}
    assert any(f == "junk.jsonl" for f, _ in by_file)
    assert stats["files"][str(tmp_path / "big.jsonl")]["removed"] == {"ingest/too_large": 1, "output/empty_text": 1}
    assert stats["failed_parts"] == [] and stats["accounting_ok"]
    texts = {d["text"] for d in table(tmp_path / "out", "documents")}
    urls = {d["url"] for d in table(tmp_path / "out", "documents")}
    assert {p["url"] for p in good} <= urls  # every valid page of the good file
    assert {f"https://www.river-town.test/story/{i}" for i in (20, 21, 23, 24)} <= urls  # around the bad record
    assert stats["files"][str(t)]["kept"] >= 1  # the pages before the cut
    assert {"caf\ufffd au lait, good text", "fine", "small neighbour"} <= texts


def test_documents_partitioned_by_language(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [
        {"id": "en1", "text": "The river town kept its old stone bridge and the market filled the square every spring."},
        {"id": "de1", "text": "Die kleine Stadt am Fluss hat eine alte Brücke, und im Frühling ist der Markt voller Menschen."},
        {"id": "en2", "text": "Farmers, bakers and musicians stayed in the square until the lanterns were lit at night."}])
    y = write_build_yaml(tmp_path / "build.yaml", [{"name": "a", "path": "a.jsonl"}], tmp_path / "out",
                         [{"langid": {}}])
    y.write_text(y.read_text() + "partition_by: lang\n")
    _, stats = build(y)
    assert stats["totals"]["kept"] == 3
    out = tmp_path / "out" / "documents"
    assert sorted(p.name for p in out.iterdir()) == ["lang=de", "lang=en"]
    en = ds.dataset(str(out / "lang=en"), format="parquet").to_table()
    assert sorted(en.column("id").to_pylist()) == ["en1", "en2"]
    both = ds.dataset(str(out), format="parquet", partitioning="hive").to_table()
    assert both.num_rows == 3
