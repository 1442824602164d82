"""Builders of input files for the reader fuzz tests: plain functions from records to file bytes,
returning what a correct reader must produce, so that hypothesis strategies and the fixed
end-to-end build use the same code. Each Built knows, per expected document, the byte offset
where its record ends, so a test can tell which records lie wholly before a corruption."""
from __future__ import annotations

import bz2
import gzip
import io
import json
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SOURCE = "src"


@dataclass
class Doc:
    """A document the reader must produce: its id, text or raw content, url and where it ends."""

    id: str
    end: int  # offset just past the record, in `Built.plain` (the uncompressed bytes)
    text: str | None = None
    url: str | None = None
    content: bytes | None = None
    start: int = 0


@dataclass
class Built:
    plain: bytes  # the file before any whole-file compression
    docs: list[Doc]
    compression: str = "none"  # none | gz | bz2 | zst (of the whole file)
    bad: list[tuple[str, int]] = field(default_factory=list)  # (reason, position) of planted bad records
    skipped: dict[str, int] = field(default_factory=dict)
    ends: list[int] = field(default_factory=list)  # where every record ends (WARC: documents or not)

    @property
    def data(self) -> bytes:
        return compress(self.plain, self.compression)


def compress(data: bytes, how: str) -> bytes:
    if how == "gz":
        return gzip.compress(data, mtime=0)
    if how == "bz2":
        return bz2.compress(data)
    if how == "zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


SUFFIX = {"none": "", "gz": ".gz", "bz2": ".bz2", "zst": ".zst"}


# ----------------------------------------------------------------------------------- JSONL / text

# Lines that are not documents, each with the one problem it must cause.
BAD_JSONL = [
    (b"{not json", "invalid_json"),
    (b'{"text": "cut', "invalid_json"),
    (b"[1, 2]", "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b"42", "not_an_object"),
    (b"null", "not_an_object"),
    (b'{"body": "no text field"}', "missing_text_field"),
    (b'{"text": 5}', "missing_text_field"),
    (b'{"text": null}', "missing_text_field"),
    (b'{"text": ["a"]}', "missing_text_field"),
    (b"\xff\xfe\x00junk", "invalid_json"),
    (b'{"text": "\\ud800 lone surrogate"}', "invalid_json"),
]


def jsonl(rel: str, rows: list, *, crlf: bool = False, blank_every: int = 0, trailing_newline: bool = True,
          ascii_only: bool = False, compression: str = "none") -> Built:
    """rows: dicts (documents: text plus optional id/url/extra fields), or (bytes, reason) bad
    lines from BAD_JSONL, or (bytes, text) for a document whose text has invalid UTF-8."""
    out, docs, bad = io.BytesIO(), [], []
    nl = b"\r\n" if crlf else b"\n"
    for i, row in enumerate(rows):
        if blank_every and i % blank_every == 0:
            out.write(b"   " + nl)
        pos = out.tell()
        if isinstance(row, dict):
            out.write(json.dumps(row, ensure_ascii=ascii_only).encode())
            doc_id = str(row["id"]) if row.get("id") is not None else f"{SOURCE}/{rel}#{pos}"
            url = row.get("url") if isinstance(row.get("url"), str) else None
            end = out.tell() + len(nl)
            docs.append(Doc(doc_id, end, text=row["text"], url=url, start=pos))
        else:
            line, what = row
            out.write(line)
            if what in {r for _, r in BAD_JSONL}:
                bad.append((what, pos))
            else:  # bad UTF-8 inside a JSON string: kept with U+FFFD, and reported
                bad.append(("invalid_utf8_replaced", pos))
                docs.append(Doc(f"{SOURCE}/{rel}#{pos}", out.tell() + len(nl), text=what, start=pos))
        if i + 1 < len(rows) or trailing_newline:
            out.write(nl)
    return Built(out.getvalue(), docs, compression, bad)


def bad_utf8_line(text: str, junk: bytes) -> tuple[bytes, str]:
    """A valid JSON object whose text holds bytes that are not UTF-8 (junk: non-UTF-8 bytes)."""
    enc = json.dumps(text, ensure_ascii=True).encode()
    line = b'{"text": ' + enc[:-1] + junk + b'"}'
    return line, json.loads(enc) + junk.decode("utf-8", errors="replace")


def text_lines(rel: str, lines: list[str], *, crlf: bool = False, compression: str = "none") -> Built:
    out, docs = io.BytesIO(), []
    for line in lines:
        pos = out.tell()
        out.write(line.encode() + (b"\r\n" if crlf else b"\n"))
        if line.encode().strip():  # the reader skips lines of ASCII white space only
            docs.append(Doc(f"{SOURCE}/{rel}#{pos}", out.tell(), text=line, start=pos))
    return Built(out.getvalue(), docs, compression)


# ----------------------------------------------------------------------------------------- WARC

@dataclass
class WarcRec:
    rec_type: str  # response | request | resource | metadata | conversion | revisit
    url: str
    payload: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)  # extra HTTP headers
    bad_length: int = 0  # added to the WARC Content-Length (0: correct)


def warc(rel: str, recs: list[WarcRec], *, gzip_mode: str = "record", version: str = "WARC/1.0",
         warcinfo: bool = True, doc_type: str = "response") -> Built:
    """gzip_mode: record (one member per record), file (whole file; Built.compression gz) or none.
    Documents: records of `doc_type` (response for WARC, conversion for WET)."""
    raw = io.BytesIO()
    docs, skipped, index, ends = [], {}, 0, []
    all_recs = ([None] if warcinfo else []) + list(recs)
    for n, r in enumerate(all_recs):
        start = raw.tell()
        one = io.BytesIO()
        writer = WARCWriter(one, gzip=False, warc_version=version)
        if r is None:
            rec = writer.create_warcinfo_record(rel, {"software": "corpusmill-fuzz"})
        elif r.rec_type in ("response", "request", "revisit"):
            line = f"{r.status} {'OK' if r.status == 200 else 'Other'}" if r.rec_type != "request" else "GET /x HTTP/1.1"
            http = StatusAndHeaders(line, [("Content-Type", r.content_type), *r.headers,
                                           ("Content-Length", str(len(r.payload)))],
                                    protocol="HTTP/1.1", is_http_request=r.rec_type == "request")
            rec = writer.create_warc_record(r.url, r.rec_type, payload=io.BytesIO(r.payload), http_headers=http)
        else:
            rec = writer.create_warc_record(r.url, r.rec_type, payload=io.BytesIO(r.payload),
                                            warc_content_type=r.content_type)
        rec.rec_headers.replace_header("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{rel}/{n}')}>")
        rec.rec_headers.replace_header("WARC-Date", "2024-05-01T12:00:00Z")
        writer.write_record(rec)
        data = one.getvalue()
        if r is not None and r.bad_length:  # a wrong WARC Content-Length, the record otherwise intact
            head, sep, rest = data.partition(b"\r\n\r\n")
            lines = [ln if not ln.startswith(b"Content-Length: ") else
                     b"Content-Length: %d" % max(0, int(ln.split(b" ")[1]) + r.bad_length)
                     for ln in head.split(b"\r\n")]
            data = b"\r\n".join(lines) + sep + rest
        raw.write(gzip.compress(data, mtime=0) if gzip_mode == "record" else data)
        ends.append(raw.tell())
        kind = "warcinfo" if r is None else r.rec_type
        if kind == doc_type:
            if doc_type == "conversion":
                docs.append(Doc(f"{SOURCE}/{rel}#{index}", raw.tell(), url=r.url, start=start,
                                text=r.payload.decode("utf-8", errors="replace")))
            else:
                docs.append(Doc(f"{SOURCE}/{rel}#{index}", raw.tell(), url=r.url, content=r.payload, start=start))
        else:
            skipped[kind] = skipped.get(kind, 0) + 1
        index += 1
    return Built(raw.getvalue(), docs, "gz" if gzip_mode == "file" else "none", skipped=skipped, ends=ends)


def arc(rel: str, recs: list[WarcRec]) -> Built:
    """An ARC (v1) file: warcio reads it, converting records to WARC responses."""
    vb = b"1 0 corpusmill-fuzz\nURL IP-address Archive-date Content-type Archive-length\n"
    out = io.BytesIO()
    out.write(b"filedesc://%s 0.0.0.0 20240501120000 text/plain %d\n" % (rel.encode(), len(vb)) + vb + b"\n")
    docs, index, filedesc_end = [], 1, out.tell()
    for r in recs:
        start = out.tell()
        body = (f"HTTP/1.1 {r.status} {'OK' if r.status == 200 else 'Other'}\r\nContent-Type: {r.content_type}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in r.headers)
                + f"Content-Length: {len(r.payload)}\r\n\r\n").encode() + r.payload
        out.write(f"{r.url} 10.0.0.1 20240501120000 text/html {len(body) + r.bad_length}\n".encode() + body + b"\n")
        docs.append(Doc(f"{SOURCE}/{rel}#{index}", out.tell(), url=r.url, content=r.payload, start=start))
        index += 1
    return Built(out.getvalue(), docs, skipped={"warcinfo": 1}, ends=[filedesc_end] + [d.end for d in docs])


# ------------------------------------------------------------------------------------ MediaWiki

@dataclass
class WikiPage:
    title: str
    page_id: int
    wikitext: str
    ns: int = 0
    redirect: bool = False


WIKI_BASE = "https://xx.wikipedia.org/wiki"


def mediawiki(rel: str, pages: list[WikiPage], *, encoding: str = "utf-8", compression: str = "bz2",
              revisions: int = 1) -> Built:
    from corpusmill.stages.ingest.mediawiki import wikitext_to_text

    codec = "utf-16-le" if encoding == "utf-16" else encoding  # one byte order mark, at the start

    def enc(s: str) -> bytes:
        return s.encode(codec, errors="xmlcharrefreplace")

    out = io.BytesIO()
    if encoding == "utf-16":
        out.write(b"\xff\xfe")
    out.write(enc(f'<?xml version="1.0" encoding="{encoding}"?>\n'))
    out.write(enc('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="xx">\n'
                  f"<siteinfo><sitename>Fuzzpedia</sitename><base>{WIKI_BASE}/Main_Page</base></siteinfo>\n"))
    docs, skipped = [], {}
    for p in pages:
        start = out.tell()
        redirect = f"<redirect title={quoteattr(p.title)} />" if p.redirect else ""
        revs = "".join(f"<revision><id>{p.page_id * 10 + k}</id><contributor><id>7</id></contributor>"
                       f"<text xml:space=\"preserve\">{escape(p.wikitext)}</text></revision>\n"
                       for k in range(revisions))
        out.write(enc(f"<page>\n<title>{escape(p.title)}</title>\n<ns>{p.ns}</ns>\n<id>{p.page_id}</id>\n"
                      f"{redirect}{revs}</page>\n"))
        if p.ns != 0:
            skipped["wiki_namespace"] = skipped.get("wiki_namespace", 0) + 1
        elif p.redirect:
            skipped["wiki_redirect"] = skipped.get("wiki_redirect", 0) + 1
        else:
            from urllib.parse import quote

            docs.append(Doc(f"{SOURCE}/{rel}#{p.page_id}", out.tell(), text=wikitext_to_text(p.wikitext),
                            url=f"{WIKI_BASE}/{quote(p.title.replace(' ', '_'))}", start=start))
    out.write(enc("</mediawiki>\n"))
    return Built(out.getvalue(), docs, compression, skipped=skipped)


# -------------------------------------------------------------------------------------- Parquet

def parquet_bytes(table: pa.Table, *, row_group_size: int, compression: str = "snappy") -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=max(1, row_group_size), compression=compression)
    return buf.getvalue()


def parquet(rel: str, rows: list[dict], *, row_group_size: int, compression: str = "snappy",
            extra_columns: dict | None = None, text_type=pa.string()) -> Built:
    """rows: {text, id?, url?}; a column is written when any row has the key."""
    cols = {}
    for key in ("id", "text", "url"):
        if any(key in r for r in rows) or key == "text":
            cols[key] = [r.get(key) for r in rows]
    arrays = {k: pa.array(v, type=text_type if k == "text" else pa.string()) for k, v in cols.items()}
    arrays.update(extra_columns or {})
    table = pa.table(arrays)
    docs = [Doc(r["id"] if r.get("id") is not None else f"{SOURCE}/{rel}#{i}", 0, text=r["text"], url=r.get("url"))
            for i, r in enumerate(rows)]
    return Built(parquet_bytes(table, row_group_size=row_group_size, compression=compression), docs)


# ------------------------------------------------------------------------------------ Corruption

def mutate(data: bytes, kind: str, at: float, junk: bytes = b"\x00", count: int = 1) -> tuple[bytes, int]:
    """Damage `data` at the relative offset `at` (0..1). Returns the new bytes and the first offset
    whose byte is no longer what it was: records ending at or before it are intact."""
    if not data:
        return data, 0
    pos = min(len(data) - 1, int(at * len(data)))
    if kind == "flip":  # `count` bytes XORed with non-zero masks from `junk`
        b = bytearray(data)
        for k in range(count):
            i = min(len(b) - 1, pos + k * 7)
            b[i] ^= junk[k % len(junk)] or 0xFF
        return bytes(b), pos
    if kind == "truncate":
        return data[:pos], pos
    if kind == "insert":
        return data[:pos] + junk + data[pos:], pos
    if kind == "delete":
        return data[:pos] + data[pos + count:], pos
    raise ValueError(kind)
