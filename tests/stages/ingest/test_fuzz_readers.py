"""Hypothesis fuzzing of every reader through the path the worker uses (plan_parts, then the
format's reader on each Part): no input raises; bad records become problems with a reason and a
position; valid records before a corruption come out once, with the right id and text; splits of
a file give the documents of the whole file. One build at the end runs bad files of every format
through `corpus build` on the session's Ray.

Reproducible by default (derandomize); CORPUSMILL_FUZZ_EXAMPLES=N runs N examples per test."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import fuzz_formats as ff
from corpusmill.pipeline.config import BuildConfig
from corpusmill.pipeline.parts import plan_parts, reader_for
from corpusmill.pipeline.schema import to_batch
from corpusmill.pipeline.worker import PartProcessor
from corpusmill.stages.ingest.base import Problem

EXAMPLES = int(os.environ.get("CORPUSMILL_FUZZ_EXAMPLES", "0"))


def fuzz(n: int):
    """n examples per test here (about a second each at most); CORPUSMILL_FUZZ_EXAMPLES overrides."""
    return settings(max_examples=EXAMPLES or n, deadline=None, derandomize=not EXAMPLES, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


REASONS = {
    "jsonl": {"invalid_json", "invalid_utf8_replaced", "not_an_object", "missing_text_field", "empty_file",
              "truncated_file", "corrupt_file"},
    "text": {"invalid_utf8_replaced", "empty_file", "truncated_file", "corrupt_file"},
    "parquet": {"unreadable_parquet", "missing_text_field", "corrupt_parquet", "duplicate_column"},
    "mediawiki": {"corrupt_xml", "not_mediawiki_xml", "truncated_file", "empty_file", "corrupt_file"},
    "warc": {"empty_file", "truncated_file", "corrupt_record", "corrupt_gzip", "invalid_utf8_replaced"},
}
REASONS["wet"] = REASONS["arc"] = REASONS["warc"]


@contextmanager
def workdir():
    d = Path(tempfile.mkdtemp(prefix="cm-fuzz-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Read:
    def __init__(self):
        self.docs: list[dict] = []
        self.problems: list[Problem] = []
        self.skipped: Counter = Counter()
        self.parts = 0

    @property
    def reasons(self) -> list[str]:
        return sorted(p.reason for p in self.problems)


def ingest(path: Path, fmt: str, **spec_kw) -> Read:
    """What the worker does with a file: plan its parts, run the reader on each, batch the records."""
    cfg = BuildConfig.model_validate({"inputs": [{"name": ff.SOURCE, "path": str(path), "format": fmt, **spec_kw}],
                                      "output": str(path.parent / "out")})
    spec, out = cfg.inputs[0], Read()
    for part in plan_parts(cfg):
        out.parts += 1
        for item in reader_for(spec, part.format).read(part, spec):
            if isinstance(item, dict):
                out.docs.append(item)
            elif isinstance(item, Problem):
                out.problems.append(item)
            else:
                out.skipped[item.kind] += 1
    if out.docs:  # the worker's first step with records: they must fit the batch schema
        to_batch([{k: v for k, v in d.items() if k != "_removed"} for d in out.docs])
    for p in out.problems:
        assert p.reason in REASONS[fmt], p
        assert isinstance(p.position, str) and p.position, p
    return out


def through_worker(path: Path, fmt: str, **spec_kw) -> list[dict]:
    """Every part of the file through PartProcessor in-process (no Ray, no stages): never failed,
    in = kept + removed, problems carry the file."""
    cfg = {"inputs": [{"name": ff.SOURCE, "path": str(path), "format": fmt, **spec_kw}],
           "output": str(path.parent / "wout"), "stages": []}
    cfg = BuildConfig.model_validate(cfg)
    proc = PartProcessor(cfg)
    results = [proc.run(p.to_dict()) for p in plan_parts(cfg)]
    for r in results:
        assert "failed" not in r, r.get("traceback")
        assert r["documents_in"] == r["kept"] + r["removed"]
        for p in r["problems"]:
            assert p["file"] == str(path) and p["reason"] in REASONS[fmt] and p["examples"][0]["position"]
    return results


def key(d: dict) -> tuple:
    return d["id"], d["text"], d["url"], d["content"]


def expect_key(doc: ff.Doc) -> tuple:
    return doc.id, doc.text, doc.url, doc.content


def assert_intact_prefix(got: list[dict], expected: list[ff.Doc], first_bad: int, ids: bool = True):
    """Records that end at or before the first damaged byte come out first, once, unchanged (ids
    aside for split reads, whose WARC ids are byte offsets)."""
    pick = (lambda k: k) if ids else (lambda k: k[1:])
    intact = [pick(expect_key(d)) for d in expected if d.end <= first_bad]
    assert [pick(key(d)) for d in got[:len(intact)]] == intact


def assert_loss_reported(got: Read, built: ff.Built):
    """Documents a damaged file no longer yields are never lost silently: a problem says so, or
    the damage turned them into records of another kind (counted in skipped_records)."""
    if len(got.docs) < len(built.docs):
        assert got.problems or sum(got.skipped.values()) > sum(built.skipped.values()) or \
            set(got.skipped) - set(built.skipped), (len(got.docs), len(built.docs), got.skipped)


def no_duplicate_ids(got: list[dict]):
    ids = [d["id"] for d in got]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


# ------------------------------------------------------------------------------------ strategies

texts = st.one_of(st.text(max_size=40), st.text(min_size=200, max_size=1500),
                  st.sampled_from(["", " ", "\u2028", "\x00", "a\r\nb", "\ufeffbom", "ü中😀"]))
ids = st.one_of(st.none(), st.text(max_size=12), st.integers(-(2**63), 2**63 - 1))
urls = st.one_of(st.none(), st.text(max_size=30).map(lambda s: "https://x.test/" + s))
json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                           max_leaves=6)


@st.composite
def json_rows(draw):
    row = {"text": draw(texts)}
    for k, s in (("id", ids), ("url", urls)):
        v = draw(s)
        if v is not None or draw(st.booleans()):
            row[k] = v
    for k, v in draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k not in ("text", "id", "url")),
                                     json_values, max_size=3)).items():
        row[k] = v
    return row


non_utf8 = st.sampled_from([b"\xff", b"\xc3", b"\xe4\xb8", b"\xed\xa0\x80", b"\x80\x80", b"\xf8\x88\x80\x80\x80"])
mutations = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.binary(min_size=1, max_size=4), st.integers(1, 4)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(b""), st.just(1)),
    st.tuples(st.just("insert"), st.floats(0, 1),
              st.one_of(st.binary(min_size=1, max_size=40),
                        st.sampled_from([b"\n", b"\x1f\x8b\x08", b"\nWARC/1.0\r\n", b"</page>", b"<page>",
                                         b"]]>", b"&bogus;", b"\r\n\r\n", b"PAR1"])), st.just(1)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.just(b""), st.integers(1, 64)),
)


def damaged_range(kind: str, pos: int, junk: bytes, count: int) -> tuple[int, int]:
    """[lo, hi) of original bytes a mutation touches (an insert touches the line it lands in)."""
    if kind == "flip":
        return pos, pos + 7 * (count - 1) + 1
    if kind == "delete":
        return pos, pos + count
    return pos, pos


# ----------------------------------------------------------------------------------------- JSONL

@fuzz(150)
@given(rows=st.lists(json_rows(), max_size=25), crlf=st.booleans(), blank_every=st.integers(0, 4),
       trailing=st.booleans(), ascii_only=st.booleans(), compression=st.sampled_from(["none", "gz", "zst", "bz2"]),
       split=st.floats(0.01, 1.2))
def test_jsonl_valid(rows, crlf, blank_every, trailing, ascii_only, compression, split):
    with workdir() as d:
        rel = "a.jsonl" + ff.SUFFIX[compression]
        built = ff.jsonl(rel, rows, crlf=crlf, blank_every=blank_every, trailing_newline=trailing,
                         ascii_only=ascii_only, compression=compression)
        (d / rel).write_bytes(built.data)
        got = ingest(d / rel, "jsonl", split_bytes=max(1, int(split * len(built.plain))))
        assert [key(x) for x in got.docs] == [expect_key(x) for x in built.docs]
        assert got.reasons == ([] if built.plain else ["empty_file"])


@fuzz(150)
@given(rows=st.lists(st.one_of(json_rows(), st.sampled_from(ff.BAD_JSONL),
                               st.builds(ff.bad_utf8_line, st.text(max_size=20), non_utf8)), max_size=25),
       crlf=st.booleans(), compression=st.sampled_from(["none", "gz"]), split=st.floats(0.01, 1.2))
@example(rows=[{"text": "a"}, (b"\xef\xbb\xbf", "invalid_json")], crlf=False, compression="none", split=1.0)
def test_jsonl_bad_lines_are_problems_at_their_byte(rows, crlf, compression, split):
    with workdir() as d:
        rel = "a.jsonl" + ff.SUFFIX[compression]
        built = ff.jsonl(rel, rows, crlf=crlf, compression=compression)
        (d / rel).write_bytes(built.data)
        got = ingest(d / rel, "jsonl", split_bytes=max(1, int(split * max(1, len(built.plain)))))
        assert [key(x) for x in got.docs] == [expect_key(x) for x in built.docs]
        want = sorted((r, f"byte {p}") for r, p in built.bad) or ([] if built.plain else [("empty_file", "0")])
        assert sorted((p.reason, p.position) for p in got.problems) == want


def test_jsonl_utf8_bom_is_not_a_bad_line(tmp_path):
    """Bug: a UTF-8 byte order mark made the first line invalid_json (orjson refuses BOMs)."""
    (tmp_path / "a.jsonl").write_bytes(b'\xef\xbb\xbf{"text": "first"}\n{"text": "second"}\n')
    got = ingest(tmp_path / "a.jsonl", "jsonl")
    assert [x["text"] for x in got.docs] == ["first", "second"] and got.problems == []


def test_jsonl_ids_past_64_bits_stay_exact(tmp_path):
    """orjson reads integers past 64 bits as floats: two such ids became the same string."""
    big = 2**70
    (tmp_path / "a.jsonl").write_text(f'{{"id": {big}, "text": "a"}}\n{{"id": {big + 1}, "text": "b"}}\n'
                                      '{"id": 1.5, "text": "c"}\n')
    got = ingest(tmp_path / "a.jsonl", "jsonl")
    assert [x["id"] for x in got.docs] == [str(big), str(big + 1), "1.5"] and got.problems == []


@fuzz(250)
@given(rows=st.lists(json_rows(), min_size=1, max_size=15), mutation=mutations, layer=st.sampled_from(["plain", "compressed"]),
       compression=st.sampled_from(["none", "gz", "zst", "bz2"]), split=st.floats(0.05, 1.2))
@example(rows=[{"text": "x" * 3000}] * 3, mutation=("flip", 0.5, b"\x55", 1), layer="compressed", compression="gz",
         split=1.0)  # bug: zlib.error from a damaged gzip stream escaped the reader
def test_jsonl_damaged(rows, mutation, layer, compression, split):
    with workdir() as d:
        rel = "a.jsonl" + ff.SUFFIX[compression]
        built = ff.jsonl(rel, rows, compression=compression)
        kind, at, junk, count = mutation
        if layer == "plain" or compression == "none":
            plain, first_bad = ff.mutate(built.plain, kind, at, junk, count)
            data = ff.compress(plain, compression)
        else:
            data, first_bad = ff.mutate(built.data, kind, at, junk, count)
            first_bad = 0  # no telling which documents a damaged compressed stream still holds
        (d / rel).write_bytes(data)
        got = ingest(d / rel, "jsonl", split_bytes=max(1, int(split * max(1, len(data)))))
        through_worker(d / rel, "jsonl", split_bytes=max(1, int(split * max(1, len(data)))))
        assert_intact_prefix(got.docs, built.docs, first_bad)
        if layer == "plain" or compression == "none":
            # whole lines after the damage come back too, default ids shifted by the bytes added/removed
            lo, hi = damaged_range(kind, first_bad, junk, count)
            if kind in ("flip", "insert"):  # (a cut or a deletion can remove whole lines: a valid file)
                assert_loss_reported(got, built)
            shift = len(junk) if kind == "insert" else -count if kind == "delete" else 0
            after = [(x.id if not x.id.startswith(f"{ff.SOURCE}/{rel}#") else f"{ff.SOURCE}/{rel}#{x.start + shift}",
                      x.text) for x in built.docs if x.start > hi and kind != "truncate"]
            got_pairs = [(x["id"], x["text"]) for x in got.docs]
            assert got_pairs[len(got_pairs) - len(after):] == after if after else True


# ------------------------------------------------------------------------------------------ text

@fuzz(80)
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                              max_size=50), max_size=20),
       crlf=st.booleans(), mutation=st.one_of(st.none(), mutations), unit=st.sampled_from(["line", "file"]),
       compression=st.sampled_from(["none", "gz"]))
def test_text_lines_and_files(lines, crlf, mutation, unit, compression):
    with workdir() as d:
        rel = "a.txt" + ff.SUFFIX[compression]
        built = ff.text_lines(rel, lines, crlf=crlf, compression=compression)
        data = built.data if mutation is None else ff.mutate(built.data, *mutation)[0]
        (d / rel).write_bytes(data)
        got = ingest(d / rel, "text", options={"text_unit": unit}, split_bytes=64)
        if mutation is None:
            if unit == "line":
                want = [(x.id, x.text) for x in built.docs]
                assert [(x["id"], x["text"]) for x in got.docs] == want
            elif built.plain:
                assert [x["text"] for x in got.docs] == [built.plain.decode()]
            assert got.reasons == ([] if built.plain else ["empty_file"])


# ----------------------------------------------------------------------------------- WARC / WET / ARC

_url_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\x85\xa0")
warc_urls = st.text(alphabet=_url_chars, min_size=1, max_size=20).map(lambda s: "https://h.test/" + s)
charsets = st.sampled_from(["utf-8", "latin-1", "cp1252", "shift_jis", "gb18030", "utf-16", "koi8-r"])
_fragments = st.sampled_from([b"\nWARC/1.0\r\n", b"\r\n\r\nWARC/1.1\r\nWARC-Type: response\r\n", b"\x1f\x8b\x08\x00",
                              b"\r\n\r\n", b"\nfiledesc://", b"HTTP/1.1 200 OK\r\n"])
payloads = st.lists(st.one_of(st.binary(max_size=120), _fragments,
                              st.builds(lambda t, c: t.encode(c, errors="replace"), st.text(max_size=60), charsets)),
                    max_size=5).map(b"".join)
header_values = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=20)


@st.composite
def warc_records(draw, doc_type="response", types=("response", "response", "request", "metadata", "resource", "revisit")):
    rtype = draw(st.sampled_from(types))
    charset = draw(charsets)
    if doc_type == "conversion" and rtype == "response":
        rtype = "conversion"
    payload = draw(payloads) if rtype != "conversion" else draw(st.one_of(
        st.text(max_size=300).map(str.encode),
        st.builds(lambda t, c: t.encode(c, errors="replace"), st.text(max_size=200), charsets)))
    return ff.WarcRec(rtype, draw(warc_urls), payload, status=draw(st.sampled_from([200, 200, 404, 301, 500])),
                      content_type=draw(st.sampled_from([f"text/html; charset={charset}", "text/plain",
                                                         "application/pdf", "text/html"])),
                      headers=draw(st.lists(st.tuples(st.sampled_from(["Server", "X-Fuzz", "Set-Cookie", "ETag"]),
                                                      header_values), max_size=3)))


def build_warc(rel, recs, gzip_mode, version, warcinfo, fmt):
    if fmt == "arc":
        return ff.arc(rel, recs)
    return ff.warc(rel, recs, gzip_mode=gzip_mode, version=version, warcinfo=warcinfo,
                   doc_type="conversion" if fmt == "wet" else "response")


def check_warc_docs(got: Read, built: ff.Built, fmt: str, rel: str):
    if got.parts > 1:  # ids of a split file are its records' byte offsets
        want = [(f"{ff.SOURCE}/{rel}@{x.start}", x.url, x.text, x.content) for x in built.docs]
    else:
        want = [(x.id, x.url, x.text, x.content) for x in built.docs]
    assert [(x["id"], x["url"], x["text"], x["content"]) for x in got.docs] == want


WARC_CASE = dict(recs=st.lists(warc_records(), max_size=8), gzip_mode=st.sampled_from(["record", "file", "none"]),
                 version=st.sampled_from(["WARC/1.0", "WARC/1.1"]), warcinfo=st.booleans(),
                 fmt=st.sampled_from(["warc", "warc", "wet", "arc"]))


@fuzz(150)
@given(**WARC_CASE, split=st.floats(0.02, 1.2))
@example(recs=[ff.WarcRec("response", "https://h.test/a", b"x\nWARC/1.0\r\nWARC-Type: response\r\n\r\n"),
               ff.WarcRec("response", "https://h.test/b", b"b" * 50)],
         gzip_mode="none", version="WARC/1.0", warcinfo=False, fmt="warc", split=0.3)
def test_warc_valid_and_any_split_gives_the_same_documents(recs, gzip_mode, version, warcinfo, fmt, split):
    if fmt == "wet":
        recs = [ff.WarcRec("conversion", r.url, r.payload, content_type="text/plain") if r.rec_type == "response"
                else r for r in recs]
    if fmt == "arc":
        recs, gzip_mode = [r for r in recs if r.rec_type == "response"], "none"
    with workdir() as d:
        rel = {"warc": "a.warc", "wet": "a.warc.wet", "arc": "a.arc"}[fmt] + (".gz" if gzip_mode != "none" else "")
        built = build_warc(rel, recs, gzip_mode, version, warcinfo, fmt)
        if fmt == "arc":
            built.compression = "gz" if gzip_mode == "file" else "none"
        (d / rel).write_bytes(built.data)
        whole = ingest(d / rel, fmt)
        check_warc_docs(whole, built, fmt, rel)
        bad_utf8 = [x for x in built.docs if x.text is not None and "\ufffd" in x.text]
        assert whole.reasons == (["invalid_utf8_replaced"] * len(bad_utf8) if fmt == "wet" else []) + (
            [] if built.data else ["empty_file"])
        assert dict(whole.skipped) == built.skipped
        parts = ingest(d / rel, fmt, split_bytes=max(1, int(split * len(built.data))))
        check_warc_docs(parts, built, fmt, rel)
        assert parts.reasons == whole.reasons and parts.skipped == whole.skipped


@fuzz(300)
@given(**WARC_CASE, mutation=mutations, split=st.floats(0.02, 1.2))
@example(recs=[ff.WarcRec("response", "https://h.test/a", b"aaaa"), ff.WarcRec("response", "https://h.test/b", b"bbbb")],
         gzip_mode="file", version="WARC/1.0", warcinfo=True, fmt="warc", mutation=("truncate", 0.9, b"", 1), split=1.0)
@example(recs=[ff.WarcRec("response", "https://h.test/0", b"")], gzip_mode="none", version="WARC/1.0", warcinfo=False,
         fmt="arc", mutation=("truncate", 0.5, b"", 1), split=1.0)  # bug: an ARC cut short passed for whole
@example(recs=[ff.WarcRec("response", "https://h.test/0", b"")], gzip_mode="none", version="WARC/1.0", warcinfo=False,
         fmt="warc", mutation=("truncate", 0.5, b"", 1), split=1.0)  # bug: so did an uncompressed WARC
@example(recs=[], gzip_mode="record", version="WARC/1.0", warcinfo=True, fmt="warc",
         mutation=("flip", 1.0, b"\x00", 1), split=0.5)  # bug: split planning raised zlib.error
def test_warc_damaged(recs, gzip_mode, version, warcinfo, fmt, mutation, split):
    if fmt == "arc":
        recs = [r for r in recs if r.rec_type == "response"]
    with workdir() as d:
        rel = {"warc": "a.warc", "wet": "a.warc.wet", "arc": "a.arc"}[fmt] + (".gz" if gzip_mode != "none" else "")
        built = build_warc(rel, recs, gzip_mode if fmt != "arc" else "none", version, warcinfo, fmt)
        if fmt == "arc" and gzip_mode == "record":
            gzip_mode = "none"
        if fmt == "arc" and gzip_mode == "file":
            built.compression = "gz"
        if built.compression == "gz" and mutation[0] == "truncate":  # cut the compressed stream
            data, first_bad = ff.mutate(built.data, *mutation)
            first_bad = 0
        else:
            plain, first_bad = ff.mutate(built.plain, *mutation)
            data = ff.compress(plain, built.compression)
        (d / rel).write_bytes(data)
        got = ingest(d / rel, fmt)
        assert_intact_prefix(got.docs, built.docs, first_bad)
        no_duplicate_ids(got.docs)
        lost = len([x for x in built.docs if x.end <= first_bad]) < len(built.docs)
        if data and data != built.data and mutation[0] == "truncate" and lost and built.compression == "gz":
            assert "truncated_file" in got.reasons
        if mutation[0] in ("flip", "insert") or (mutation[0] == "truncate" and first_bad not in built.ends
                                                 and built.compression == "none"):
            assert_loss_reported(got, built)
        split_got = ingest(d / rel, fmt, split_bytes=max(1, int(split * max(1, len(data)))))
        no_duplicate_ids(split_got.docs)
        assert_intact_prefix(split_got.docs, built.docs, first_bad, ids=False)
        through_worker(d / rel, fmt)


@fuzz(100)
@given(recs=st.lists(warc_records(types=("response",)), min_size=2, max_size=6), gzip_mode=st.sampled_from(["record", "none"]),
       bad=st.integers(0, 5), by=st.one_of(st.integers(-400, -1), st.integers(1, 400)), fmt=st.sampled_from(["warc", "arc"]))
def test_wrong_content_length(recs, gzip_mode, bad, by, fmt):
    """A record whose Content-Length lies: the records before it are intact, the run goes on."""
    bad = bad % len(recs)
    recs[bad].bad_length = by
    with workdir() as d:
        rel = "a.warc" + (".gz" if gzip_mode == "record" and fmt == "warc" else "") if fmt == "warc" else "a.arc"
        built = build_warc(rel, recs, gzip_mode, "WARC/1.0", True, fmt)
        (d / rel).write_bytes(built.data)
        got = ingest(d / rel, fmt)
        first_bad = built.docs[bad].start
        assert_intact_prefix(got.docs, built.docs, first_bad)
        no_duplicate_ids(got.docs)
        split_got = ingest(d / rel, fmt, split_bytes=max(1, len(built.data) // 3))
        assert_intact_prefix(split_got.docs, built.docs, first_bad, ids=False)


# -------------------------------------------------------------------------------------- MediaWiki

_xml_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
_wiki_bits = st.sampled_from(["[[", "]]", "{{", "}}", "'''", "''", "== H ==\n", "\n", "<ref>", "</ref>", "{|", "|}",
                              "|-", "[[File:x.jpg|thumb|cap]]", "[[Category:C]]", "<!--", "-->", "{{{1}}}", "<nowiki>",
                              "[http://x.test a]", "&amp;", "&nbsp;", "*", "#", ":", "<table>", "<math>x</math>",
                              "__NOTOC__", "{{#if:a|b}}", "<br/>", "[[a|b]]", "~~~~"])
wikitexts = st.lists(st.one_of(st.text(alphabet=_xml_chars, max_size=30), _wiki_bits), max_size=15).map("".join)
wiki_titles = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"),
                                             blacklist_characters="\ufffe\uffff"), min_size=1, max_size=15)


@st.composite
def wiki_pages(draw):
    n = draw(st.integers(0, 8))
    return [ff.WikiPage(draw(wiki_titles), 10 + i * draw(st.integers(1, 3)) + i, draw(wikitexts),
                        ns=draw(st.sampled_from([0, 0, 0, 1, 4, 14])), redirect=draw(st.booleans()) and draw(st.booleans()))
            for i in range(n)]


@fuzz(150)
@given(pages=wiki_pages(), encoding=st.sampled_from(["utf-8", "utf-16", "iso-8859-1", "windows-1252"]),
       compression=st.sampled_from(["bz2", "none"]), revisions=st.integers(1, 2))
def test_mediawiki_valid(pages, encoding, compression, revisions):
    with workdir() as d:
        rel = "wiki.xml" + ff.SUFFIX[compression]
        built = ff.mediawiki(rel, pages, encoding=encoding, compression=compression, revisions=revisions)
        (d / rel).write_bytes(built.data)
        got = ingest(d / rel, "mediawiki")
        assert [key(x) for x in got.docs] == [expect_key(x) for x in built.docs]
        assert got.problems == [] and dict(got.skipped) == built.skipped


@fuzz(250)
@given(pages=wiki_pages(), mutation=mutations, layer=st.sampled_from(["plain", "compressed"]),
       compression=st.sampled_from(["bz2", "none"]))
def test_mediawiki_damaged(pages, mutation, layer, compression):
    with workdir() as d:
        rel = "wiki.xml" + ff.SUFFIX[compression]
        built = ff.mediawiki(rel, pages, compression=compression)
        if layer == "plain" or compression == "none":
            plain, first_bad = ff.mutate(built.plain, *mutation)
            data = ff.compress(plain, compression)
        else:
            (data, _), first_bad = ff.mutate(built.data, *mutation), 0
        (d / rel).write_bytes(data)
        got = ingest(d / rel, "mediawiki")
        assert_intact_prefix(got.docs, built.docs, first_bad)
        if mutation[0] in ("flip", "insert"):
            assert_loss_reported(got, built)
        if mutation[0] == "truncate" and first_bad < len(built.plain) - len("</mediawiki>\n"):
            assert got.problems  # a cut document is never taken for a complete one
        through_worker(d / rel, "mediawiki")


@fuzz(200)
@given(wikitext=wikitexts)
def test_wikitext_to_text_never_raises(wikitext):
    from corpusmill.stages.ingest.mediawiki import wikitext_to_text

    assert isinstance(wikitext_to_text(wikitext), str)


# ---------------------------------------------------------------------------------------- Parquet

@st.composite
def parquet_rows(draw):
    has_id, has_url = draw(st.booleans()), draw(st.booleans())
    rows = []
    for i in range(draw(st.integers(0, 40))):
        r = {"text": draw(st.one_of(st.none(), texts) if draw(st.booleans()) else texts)}
        if has_id:
            r["id"] = draw(st.one_of(st.none(), st.just(f"r{i}")))
        if has_url:
            r["url"] = draw(urls)
        rows.append(r)
    return rows


PARQUET_CASE = dict(rows=parquet_rows(), rgs=st.integers(1, 12), codec=st.sampled_from(["snappy", "zstd", "none", "gzip"]),
                    large=st.booleans())


@fuzz(120)
@given(**PARQUET_CASE, split=st.integers(1, 5000))
def test_parquet_valid_and_any_split_gives_the_same_documents(rows, rgs, codec, large, split):
    with workdir() as d:
        built = ff.parquet("a.parquet", rows, row_group_size=rgs, compression=codec,
                           text_type=pa.large_string() if large else pa.string())
        (d / "a.parquet").write_bytes(built.data)
        for kw in ({}, {"split_bytes": split}):
            got = ingest(d / "a.parquet", "parquet", **kw)
            assert [(x["id"], x["text"], x["url"]) for x in got.docs] == [(x.id, x.text, x.url) for x in built.docs]
            assert got.problems == []


@fuzz(60)
@given(n=st.integers(1, 20), rgs=st.integers(1, 8),
       column=st.sampled_from(["missing", "int", "binary", "list", "null", "duplicate", "struct", "dictionary"]))
def test_parquet_wrong_columns(n, rgs, column):
    texts_ = [f"row {i}" for i in range(n)]
    arrays, names = [pa.array([f"r{i}" for i in range(n)])], ["id"]
    col = {"missing": ("body", pa.array(texts_)), "int": ("text", pa.array(range(n))),
           "binary": ("text", pa.array([t.encode() for t in texts_])), "list": ("text", pa.array([[t] for t in texts_])),
           "null": ("text", pa.nulls(n)), "struct": ("text", pa.array([{"a": t} for t in texts_])),
           "dictionary": ("text", pa.array(texts_).dictionary_encode()), "duplicate": ("text", pa.array(texts_))}[column]
    arrays.append(col[1])
    names.append(col[0])
    if column == "duplicate":
        arrays.append(pa.array(texts_))
        names.append("text")
    with workdir() as d:
        (d / "a.parquet").write_bytes(ff.parquet_bytes(pa.Table.from_arrays(arrays, names=names), row_group_size=rgs))
        got = ingest(d / "a.parquet", "parquet", split_bytes=200)
        through_worker(d / "a.parquet", "parquet", split_bytes=200)
        if column == "dictionary":
            assert [x["text"] for x in got.docs] == texts_ and got.problems == []
        elif column == "null":
            assert [x["text"] for x in got.docs] == [None] * n and got.problems == []
        elif column == "missing":
            assert got.docs == [] and got.reasons == ["missing_text_field"] * got.parts
        elif column == "duplicate":
            assert got.docs == [] and got.reasons == ["duplicate_column"] * got.parts
        else:
            assert got.docs == [] and got.reasons == ["missing_text_field"] * n
            assert [p.position for p in got.problems] == [f"row {i}" for i in range(n)]


def test_parquet_duplicate_text_column_is_a_problem(tmp_path):
    """Bug: two columns named `text` raised KeyError from pyarrow and failed the part."""
    t = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["text", "text"])
    (tmp_path / "a.parquet").write_bytes(ff.parquet_bytes(t, row_group_size=1))
    got = ingest(tmp_path / "a.parquet", "parquet")
    assert got.docs == [] and got.reasons == ["duplicate_column"]


@fuzz(250)
@given(**PARQUET_CASE, mutation=mutations, split=st.integers(1, 5000), footer=st.booleans())
def test_parquet_damaged(rows, rgs, codec, large, mutation, split, footer):
    with workdir() as d:
        built = ff.parquet("a.parquet", rows, row_group_size=rgs, compression=codec,
                           text_type=pa.large_string() if large else pa.string())
        kind, at, junk, count = mutation
        if footer:  # aim at the footer: metadata, its length and the closing magic
            at = 1 - (1 - at) * min(1.0, 64 / len(built.data))
        data, first_bad = ff.mutate(built.data, kind, at, junk, count)
        (d / "a.parquet").write_bytes(data)
        got = ingest(d / "a.parquet", "parquet")
        ingest(d / "a.parquet", "parquet", split_bytes=split)
        through_worker(d / "a.parquet", "parquet", split_bytes=split)
        if kind == "truncate" or (footer and kind != "flip"):
            assert got.docs == [] and got.reasons == ["unreadable_parquet"]
        for x in got.docs:  # whatever comes out of a damaged file is well-formed
            assert x["text"] is None or isinstance(x["text"], str)


# ------------------------------------------------------------------------------------- end to end

def _bad_files(d: Path) -> dict:
    """A handful of damaged files of every format, each with the documents that must survive."""
    made = {}

    def put(name, fmt, data, survivors, reasons):
        (d / fmt).mkdir(exist_ok=True)
        (d / fmt / name).write_bytes(data)
        made[str(d / fmt / name)] = (fmt, survivors, reasons)

    rows = [{"id": f"j{i}", "text": f"JSON document number {i} with some words."} for i in range(6)]
    b = ff.jsonl("a.jsonl", rows[:3] + [ff.BAD_JSONL[0], ff.BAD_JSONL[2], ff.BAD_JSONL[6]] + rows[3:])
    put("a.jsonl", "jsonl", b.data, b.docs, {"invalid_json", "not_an_object", "missing_text_field"})
    g = ff.jsonl("b.jsonl.gz", rows, compression="gz")
    put("b.jsonl.gz", "jsonl", g.data[: len(g.data) - 5], [], {"truncated_file"})
    text_of = lambda i: f"Page {i}: the river town kept its old stone bridge.".encode()
    pages = [f"<html><body><article><p>{text_of(i).decode() * 6}</p></article></body></html>".encode() for i in range(5)]
    w = ff.warc("c.warc.gz", [ff.WarcRec("response", f"https://h.test/{i}", p) for i, p in enumerate(pages)])
    data, first_bad = ff.mutate(w.plain, "flip", (w.docs[3].start + 30) / len(w.plain), b"\x42\x17", 3)
    put("c.warc.gz", "warc", data, [x for x in w.docs if x.end <= first_bad], {"corrupt_gzip", "corrupt_record"})
    wet = ff.warc("d.warc.wet.gz", [ff.WarcRec("conversion", f"https://h.test/{i}", text_of(i), content_type="text/plain")
                                    for i in range(4)], gzip_mode="file", doc_type="conversion")
    put("d.warc.wet.gz", "wet", wet.data[: int(len(wet.data) * 0.8)], [], {"truncated_file"})
    a = ff.arc("e.arc", [ff.WarcRec("response", f"https://h.test/arc{i}", p) for i, p in enumerate(pages[:3])])
    put("e.arc", "arc", a.plain[: a.docs[-1].start + 20], a.docs[:-1], {"corrupt_record", "truncated_file"})
    wiki = ff.mediawiki("f.xml.bz2", [ff.WikiPage(f"Town {i}", 100 + i, f"'''Town {i}''' is a [[town]]. " * 3)
                                      for i in range(4)])
    put("f.xml.bz2", "mediawiki", ff.compress(wiki.plain[: wiki.docs[2].end + 10] + b"<page><title>x</tit",
                                                 "bz2"), wiki.docs[:3], {"corrupt_xml"})
    put("g.xml.bz2", "mediawiki", wiki.data[:-30], [], {"truncated_file"})
    p = ff.parquet("h.parquet", [{"id": f"p{i}", "text": f"Parquet row {i} text."} for i in range(5)], row_group_size=2)
    put("h.parquet", "parquet", p.plain[:-3] + b"XYZ", [], {"unreadable_parquet"})
    put("i.parquet", "parquet", ff.parquet_bytes(pa.table({"body": ["x"]}), row_group_size=1), [], {"missing_text_field"})
    good = ff.parquet("j.parquet", [{"id": f"q{i}", "text": f"Good parquet row {i}."} for i in range(3)], row_group_size=1)
    put("j.parquet", "parquet", good.plain, good.docs, set())
    return made


def test_build_with_bad_files_of_every_format(tmp_path, ray_local):
    from corpusmill.pipeline.runner import run_build

    made = _bad_files(tmp_path)
    inputs = [{"name": fmt, "path": str(tmp_path / fmt / "*"), "format": fmt}
              for fmt in sorted({f for f, _, _ in made.values()})]
    cfg = BuildConfig.model_validate({"inputs": inputs, "output": str(tmp_path / "out"), "stages": [{"extract": {}}]})
    stats = run_build(cfg)
    on_disk = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert on_disk["totals"] == stats["totals"] and stats["failed_parts"] == []
    t = stats["totals"]
    assert stats["accounting_ok"] and t["documents_in"] == t["kept"] + t["removed"]
    reported: dict[str, set] = {}
    for p in on_disk["problems"]:
        assert p["file"] and p["reason"] and p["count"] >= 1 and p["examples"][0]["position"]
        reported.setdefault(p["file"], set()).add(p["reason"])
    ids = set()
    for folder in ("documents", "removed"):
        if (tmp_path / "out" / folder).exists():
            ids |= set(ds.dataset(str(tmp_path / "out" / folder), format="parquet").to_table(columns=["id"])
                       .column("id").to_pylist())
    for path, (fmt, survivors, reasons) in made.items():
        if reasons:
            assert reported.get(path, set()) & reasons, (path, reported.get(path))
        else:
            assert path not in reported
        for doc in survivors:  # the build names the source after the input and ids the file by its name
            want = f"{fmt}/{doc.id[len(ff.SOURCE) + 1:]}" if doc.id.startswith(f"{ff.SOURCE}/") else doc.id
            assert want in ids, (path, want)


# ------------------------------------------------------------------ reproducers of bugs found here

def test_warc_record_starting_exactly_at_a_split_boundary_is_read(tmp_path):
    """Bug: a record starting exactly at a part's start was skipped by that part (the `\\nWARC/`
    marker begins a byte earlier) and by the part before (it stops there): lost."""
    recs = [ff.WarcRec("response", "https://h.test/0", b"\x00" * 17, status=404),
            ff.WarcRec("response", "https://h.test/1", b"")]
    built = ff.warc("a.warc", recs, gzip_mode="none")
    (tmp_path / "a.warc").write_bytes(built.data)
    step = next(n for n in range(40, 1, -1) if built.docs[1].start % n == 0)  # a boundary right at record 2
    got = ingest(tmp_path / "a.warc", "warc", split_bytes=step)
    assert got.parts > 2 and [x["url"] for x in got.docs] == ["https://h.test/0", "https://h.test/1"]


def test_uncompressed_warc_cut_short_is_reported(tmp_path):
    """Bug: warcio ends quietly when an uncompressed WARC stops inside a record: nothing said."""
    built = ff.warc("a.warc", [ff.WarcRec("response", f"https://h.test/{i}", b"hello " * 30) for i in range(3)],
                    gzip_mode="none", warcinfo=False)
    for cut in (built.ends[1] + 40, built.ends[1] + 300, built.ends[2] - 10):
        (tmp_path / "a.warc").write_bytes(built.data[:cut])
        got = ingest(tmp_path / "a.warc", "warc")
        assert got.reasons in (["truncated_file"], ["corrupt_record"]), cut  # (warcio raises on some cuts)
        assert [x["url"] for x in got.docs][:2] == ["https://h.test/0", "https://h.test/1"]
    (tmp_path / "a.warc").write_bytes(built.data[:built.ends[1]])  # a cut between records: a valid file
    assert ingest(tmp_path / "a.warc", "warc").problems == []


def test_parquet_invalid_utf8_in_a_damaged_page_is_a_problem(tmp_path):
    """Bug: a flipped byte in a string page made to_pylist raise UnicodeDecodeError: part failed."""
    rows = [{"text": f"row {i} é"} for i in range(20)]
    data = bytearray(ff.parquet("a.parquet", rows, row_group_size=20, compression="none").data)
    i = data.index("row 7 é".encode()) + 6
    data[i] ^= 0x40  # é's lead byte 0xc3 -> 0x83: not UTF-8, and no checksum to notice
    (tmp_path / "a.parquet").write_bytes(bytes(data))
    got = ingest(tmp_path / "a.parquet", "parquet")
    assert got.reasons == ["corrupt_parquet"] and got.problems[0].position.startswith("row ")
    through_worker(tmp_path / "a.parquet", "parquet")
