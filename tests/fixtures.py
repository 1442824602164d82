"""Small input files the tests build themselves: WARCs with warcio, JSONL, Parquet, XML."""
from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PARAGRAPH = ("The river town kept its old stone bridge, and every spring the market filled the square "
             "with farmers, bakers and travelling musicians who stayed until the lanterns were lit. ")


def article_html(i: int, title: str | None = None, charset: str = "utf-8") -> str:
    title = title or f"Story number {i} about the river town"
    body = "".join(f"<p>{PARAGRAPH * 2} Paragraph {j} of story {i}.</p>\n" for j in range(4))
    return (f"<!DOCTYPE html><html><head><meta charset=\"{charset}\"><title>{title}</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/about'>About</a></nav>"
            f"<article><h1>{title}</h1>{body}</article>"
            "<footer>Copyright 2024 Example Town Gazette. All rights reserved.</footer></body></html>")


def write_warc(path: Path, pages: list[dict], gzip_mode: str = "record", version: str = "WARC/1.0") -> Path:
    """pages: {url, html (str) or body (bytes), status=200, content_type='text/html; charset=utf-8'}.
    gzip_mode: 'record' (one gzip member per record), 'file' (whole file), or 'none'."""
    raw = io.BytesIO()
    writer = WARCWriter(raw, gzip=(gzip_mode == "record"), warc_version=version)
    info = writer.create_warcinfo_record(path.name, {"software": "corpusmill-tests"})
    _fix_headers(info, path, 0)
    writer.write_record(info)
    for n, p in enumerate(pages, 1):
        body = p["body"] if "body" in p else p["html"].encode(p.get("charset", "utf-8"))
        status = p.get("status", 200)
        http = StatusAndHeaders(f"{status} {'OK' if status == 200 else 'Other'}",
                                [("Content-Type", p.get("content_type", "text/html; charset=utf-8")),
                                 ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        rec = writer.create_warc_record(p["url"], "response", payload=io.BytesIO(body), http_headers=http)
        _fix_headers(rec, path, n)
        writer.write_record(rec)
    data = raw.getvalue()
    path.write_bytes(gzip.compress(data, mtime=0) if gzip_mode == "file" else data)
    return path


def _fix_headers(rec, path: Path, n: int) -> None:
    """Fixed record ids and dates: the same fixture bytes on every run (no flaky cut points)."""
    import uuid

    rec.rec_headers.replace_header("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{path.name}/{n}')}>")
    rec.rec_headers.replace_header("WARC-Date", "2024-05-01T12:00:00Z")


def pages(n: int, start: int = 0, host: str = "www.river-town.test") -> list[dict]:
    return [{"url": f"https://{host}/story/{i}", "html": article_html(i)} for i in range(start, start + n)]


def write_jsonl(path: Path, rows: list[dict], compress: bool = False) -> Path:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def write_build_yaml(path: Path, inputs: list[dict], output: Path, stages: list | None = None) -> Path:
    import yaml

    cfg = {"inputs": inputs, "output": str(output),
           "stages": stages if stages is not None else [{"extract": {}}, {"normalize": {}}]}
    path.write_text(yaml.safe_dump(cfg))
    return path


# Plain news-like English sentences, written for these tests: test_inspect and test_select draw
# their articles from them.
TOWN_NEWS = [
    "The council voted on Tuesday to repair the old stone bridge before the winter floods.",
    "Farmers at the Saturday market said the late frost had cut their apple harvest by half.",
    "A new bus route will link the hospital with the railway station from next month.",
    "The library is asking readers to return overdue books without paying any fines this week.",
    "Volunteers planted two hundred trees along the river path, where the old mill once stood.",
    "The school choir won the regional competition with a song written by one of its pupils.",
    "Engineers found that the water pipes under the main street are more than a century old.",
    "The museum opened an exhibition of maps drawn by sailors who charted the northern coast.",
    "Local bakers have agreed to share their ovens with the soup kitchen during the holidays.",
    "The football club is looking for a new coach after a season with more losses than wins.",
    "Residents complained that the street lights on the hill have been dark for three weeks.",
    "A family of otters has returned to the canal, to the delight of walkers and children.",
]
