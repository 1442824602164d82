"""Streaming readers on files the tests write: every format, compressions, splits, bad input."""
import bz2
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from warcio.warcwriter import WARCWriter

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part, infer_format, reader_for
from corpusmill.stages.ingest.base import Problem
from fixtures import pages, write_jsonl, write_warc


def read_all(path, fmt, **spec_kw):
    """Every record and problem of a file, through its splits, as the engine would read it."""
    spec = InputSpec(name="src", path=str(path), format=fmt, **spec_kw)
    mod = reader_for(spec, fmt)
    ranges = mod.split(str(path), spec)
    docs, problems = [], []
    for s, e in ranges:
        for item in mod.read(Part("src", str(path), path.name, fmt, s, e), spec):
            if isinstance(item, dict):
                docs.append(item)
            elif isinstance(item, Problem):
                problems.append(item)
    return docs, problems, len(ranges)


@pytest.mark.parametrize("gzip_mode", ["record", "file", "none"])
@pytest.mark.parametrize("version", ["WARC/1.0", "WARC/1.1"])
def test_warc_compressions_and_versions(tmp_path, gzip_mode, version):
    path = write_warc(tmp_path / "a.warc.gz", pages(5), gzip_mode=gzip_mode, version=version)
    docs, problems, _ = read_all(path, "warc")
    assert problems == []
    assert [d["url"] for d in docs] == [f"https://www.river-town.test/story/{i}" for i in range(5)]
    assert all(d["http_status"] == 200 and b"<article>" in d["content"] for d in docs)
    assert [d["id"] for d in docs] == [f"src/a.warc.gz#{i}" for i in range(1, 6)]  # record 0 is warcinfo


def test_warc_corrupt_record_in_the_middle_is_skipped(tmp_path):
    path = write_warc(tmp_path / "a.warc.gz", pages(6), gzip_mode="record")
    data = bytearray(path.read_bytes())
    # Damage the 4th gzip member (warcinfo + 3 pages before it): keep its header, garble its body.
    starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\x1f\x8b\x08"]
    bad = starts[4]
    data[bad + 20: bad + 60] = b"\x00" * 40
    path.write_bytes(bytes(data))
    docs, problems, _ = read_all(path, "warc")
    urls = [d["url"] for d in docs]
    assert urls == [f"https://www.river-town.test/story/{i}" for i in (0, 1, 2, 4, 5)]
    assert len(problems) == 1 and problems[0].reason in ("corrupt_record", "corrupt_gzip")


def test_warc_uncompressed_corrupt_header_resyncs(tmp_path):
    path = write_warc(tmp_path / "a.warc", pages(4), gzip_mode="none")
    data = path.read_bytes()
    third = [i for i in range(len(data)) if data.startswith(b"WARC/1.0\r\n", i)][3]
    data = data[:third] + b"GARBAGE!" + data[third + 8:]
    path.write_bytes(data)
    docs, problems, _ = read_all(path, "warc")
    assert [d["url"][-1] for d in docs] == ["0", "1", "3"]
    assert [p.reason for p in problems] == ["corrupt_record"]


@pytest.mark.parametrize("gzip_mode", ["file", "record"])
@pytest.mark.parametrize("cut", [0.3, 0.45, 0.6, 0.75, 0.9, 0.97])
def test_truncated_gzip_keeps_what_came_before(tmp_path, gzip_mode, cut):
    path = write_warc(tmp_path / "a.warc.gz", pages(6), gzip_mode=gzip_mode)
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * cut)])
    docs, problems, _ = read_all(path, "warc")
    assert len(docs) <= 6 and (len(docs) >= 1 or cut < 0.4)  # a cut in the last trailer loses no text
    assert [p.reason for p in problems] == ["truncated_file"]


def test_empty_files_are_problems(tmp_path):
    for name, fmt in [("e.warc.gz", "warc"), ("e.jsonl", "jsonl"), ("e.txt", "text")]:
        (tmp_path / name).write_bytes(b"")
        docs, problems, _ = read_all(tmp_path / name, fmt)
        assert docs == [] and [p.reason for p in problems] == ["empty_file"], name


def test_wet_conversion_records(tmp_path):
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for i, text in enumerate(["Erster Text über die Stadt.", "第二个文档。"]):
        w.write_record(w.create_warc_record(f"https://h.test/{i}", "conversion",
                                            payload=io.BytesIO(text.encode()),
                                            warc_content_type="text/plain"))
    (tmp_path / "a.warc.wet.gz").write_bytes(buf.getvalue())
    assert infer_format("a.warc.wet.gz") == "wet"
    docs, problems, _ = read_all(tmp_path / "a.warc.wet.gz", "wet")
    assert [d["text"] for d in docs] == ["Erster Text über die Stadt.", "第二个文档。"]
    assert problems == []


def test_jsonl_plain_gz_zst_same_records(tmp_path):
    rows = [{"id": f"d{i}", "text": f"document {i} ü 中", "url": f"https://x.test/{i}"} for i in range(50)]
    write_jsonl(tmp_path / "a.jsonl", rows)
    write_jsonl(tmp_path / "b.jsonl.gz", rows, compress=True)
    (tmp_path / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress((tmp_path / "a.jsonl").read_bytes()))
    results = [read_all(tmp_path / n, "jsonl")[0] for n in ("a.jsonl", "b.jsonl.gz", "c.jsonl.zst")]
    for docs in results:
        assert [(d["id"], d["text"], d["url"]) for d in docs] == [(r["id"], r["text"], r["url"]) for r in rows]


def test_jsonl_byte_range_splits_give_the_same_documents(tmp_path):
    rows = [{"text": f"line {i} " + "x" * (i % 37)} for i in range(500)]
    write_jsonl(tmp_path / "a.jsonl", rows)
    whole, _, n1 = read_all(tmp_path / "a.jsonl", "jsonl")
    split, _, n2 = read_all(tmp_path / "a.jsonl", "jsonl", split_bytes=1000)
    assert n1 == 1 and n2 > 10
    assert [(d["id"], d["text"]) for d in split] == [(d["id"], d["text"]) for d in whole]
    assert len({d["id"] for d in whole}) == 500


def test_jsonl_bad_lines_counted_good_ones_kept(tmp_path):
    lines = [b'{"text": "good one"}', b"{not json", b'{"text": "bad \xff\xfe utf8"}', b"[1, 2]",
             b'{"body": "no text field"}', b'{"text": "good two"}']
    (tmp_path / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    docs, problems, _ = read_all(tmp_path / "a.jsonl", "jsonl")
    assert [d["text"] for d in docs] == ["good one", "bad \ufffd\ufffd utf8", "good two"]
    assert sorted(p.reason for p in problems) == ["invalid_json", "invalid_utf8_replaced",
                                                  "missing_text_field", "not_an_object"]


def test_binary_junk_named_jsonl(tmp_path):
    import random

    rnd = random.Random(0)
    (tmp_path / "junk.jsonl").write_bytes(bytes(rnd.randrange(256) for _ in range(20000)))
    docs, problems, _ = read_all(tmp_path / "junk.jsonl", "jsonl")
    assert docs == [] and problems and {p.reason for p in problems} <= {"invalid_json", "not_an_object"}


def test_oversized_line_is_removed_not_read_whole(tmp_path):
    big = {"text": "y" * 5000}
    write_jsonl(tmp_path / "a.jsonl", [{"text": "small"}, big, {"text": "after"}])
    docs, problems, _ = read_all(tmp_path / "a.jsonl", "jsonl", max_document_bytes=1000)
    assert [(d["text"], d["_removed"]) for d in docs] == [("small", None), (None, "too_large"), ("after", None)]


def test_text_per_file_and_per_line(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\nsecond line\n")
    docs, _, _ = read_all(tmp_path / "a.txt", "text")
    assert [d["text"] for d in docs] == ["first line\n\nsecond line\n"]
    docs, _, _ = read_all(tmp_path / "a.txt", "text", options={"text_unit": "line"})
    assert [(d["id"], d["text"]) for d in docs] == [("src/a.txt#0", "first line"), ("src/a.txt#12", "second line")]


def test_parquet_row_group_splits(tmp_path):
    table = pa.table({"id": [f"r{i}" for i in range(100)], "text": [f"row {i}" * 20 for i in range(100)]})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=10)
    whole, _, n1 = read_all(tmp_path / "a.parquet", "parquet")
    split, _, n2 = read_all(tmp_path / "a.parquet", "parquet", split_bytes=2000)
    assert n1 == 1 and n2 > 3
    assert [d["id"] for d in split] == [d["id"] for d in whole] == [f"r{i}" for i in range(100)]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    docs, problems, _ = read_all(tmp_path / "bad.parquet", "parquet")
    assert docs == [] and problems[0].reason == "unreadable_parquet"


WIKI = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">
<siteinfo><sitename>Wikipedia</sitename><base>https://en.wikipedia.org/wiki/Main_Page</base></siteinfo>
<page><title>River town</title><ns>0</ns><id>12</id><revision><id>999</id><text>
'''River town''' is a [[town]] on the [[River Test|river]].{{Infobox town|pop=5}}
[[File:Bridge.jpg|thumb|The bridge]]
== History ==
It was founded in 1200.<ref>A book, p. 3</ref>
[[Category:Towns]]</text></revision></page>
<page><title>Rivertown</title><ns>0</ns><id>13</id><redirect title="River town"/><revision><text>#REDIRECT [[River town]]</text></revision></page>
<page><title>Talk:River town</title><ns>1</ns><id>14</id><revision><text>Chat.</text></revision></page>
</mediawiki>"""


def test_mediawiki_xml_bz2(tmp_path):
    (tmp_path / "wiki.xml.bz2").write_bytes(bz2.compress(WIKI.encode()))
    assert infer_format("enwiki-pages-articles1.xml-p1p30.bz2") == "mediawiki"
    docs, problems, _ = read_all(tmp_path / "wiki.xml.bz2", "mediawiki")
    assert problems == [] and len(docs) == 1
    d = docs[0]
    assert d["id"] == "src/wiki.xml.bz2#12" and d["url"] == "https://en.wikipedia.org/wiki/River_town"
    assert d["text"].startswith("River town is a town on the river.")
    assert "History" in d["text"] and "founded in 1200." in d["text"]
    for junk in ("Infobox", "Bridge.jpg", "Category", "A book", "[[", "{{"):
        assert junk not in d["text"]


def test_format_inference():
    assert [infer_format(n) for n in ["x.warc.gz", "x.arc.gz", "x.jsonl.zst", "x.parquet", "x.txt", "x.bin"]] == [
        "warc", "arc", "jsonl", "parquet", "text", None]


def test_json_helper_roundtrip(tmp_path):
    # write_jsonl must write one object per line, as the readers expect
    write_jsonl(tmp_path / "a.jsonl", [{"text": "a"}, {"text": "b"}])
    assert [json.loads(x)["text"] for x in (tmp_path / "a.jsonl").read_text().splitlines()] == ["a", "b"]


def test_fsspec_url_globs(tmp_path):
    from corpusmill.pipeline.config import BuildConfig
    from corpusmill.pipeline.parts import plan_parts

    write_jsonl(tmp_path / "a.jsonl", [{"text": "one"}])
    write_jsonl(tmp_path / "b.jsonl.gz", [{"text": "two"}], compress=True)
    cfg = BuildConfig.model_validate({"inputs": [{"name": "u", "path": f"file://{tmp_path}/*.jsonl*"}], "output": "o"})
    parts = plan_parts(cfg)
    assert [p.relpath for p in parts] == ["a.jsonl", "b.jsonl.gz"]
    spec = cfg.inputs[0]
    texts = [r["text"] for p in parts for r in reader_for(spec, "jsonl").read(p, spec) if isinstance(r, dict)]
    assert texts == ["one", "two"]


@pytest.mark.parametrize("gzip_mode", ["record", "none"])
def test_large_warc_split_into_record_ranges(tmp_path, gzip_mode):
    path = write_warc(tmp_path / "big.warc.gz", pages(40), gzip_mode=gzip_mode)
    whole, p1, n1 = read_all(path, "warc")
    split, p2, n2 = read_all(path, "warc", split_bytes=path.stat().st_size // 7)
    assert n1 == 1 and n2 >= 7 and p1 == p2 == []
    assert [d["url"] for d in split] == [d["url"] for d in whole]  # every record once, in order
    assert len({d["id"] for d in split}) == 40 and all("@" in d["id"] for d in split)
    again, _, _ = read_all(path, "warc", split_bytes=path.stat().st_size // 3)
    assert [d["id"] for d in again] == [d["id"] for d in split]  # ids do not depend on the split


def test_whole_file_gzip_warc_is_not_split(tmp_path):
    path = write_warc(tmp_path / "w.warc.gz", pages(40), gzip_mode="file")
    docs, _, n = read_all(path, "warc", split_bytes=1000)
    assert n == 1 and len(docs) == 40
