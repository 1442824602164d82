"""The small real stages and extract on hand-made batches."""
import pyarrow as pa
import pytest

from corpusmill.pipeline.schema import to_batch
from corpusmill.stages.extract import Extract, decode_html
from corpusmill.stages.length import LengthFilter
from corpusmill.stages.normalize import Normalize
from fixtures import article_html


def batch(rows):
    base = {"id": None, "source": "s", "url": None, "text": None, "content": None, "content_type": None,
            "http_status": None}
    return to_batch([{**base, "id": str(i), **r} for i, r in enumerate(rows)])


@pytest.mark.parametrize("engine", ["hybrid", "auto"])
def test_extract_reasons_and_passthrough(engine):
    html = article_html(1).encode()
    b = batch([
        {"content": html, "content_type": "text/html; charset=utf-8", "http_status": 200},
        {"content": html, "content_type": "text/html", "http_status": 404},
        {"content": b"\x89PNG", "content_type": "image/png", "http_status": 200},
        {"content": b"<html><body><script>var x = 1;</script></body></html>", "content_type": "text/html",
         "http_status": 200},
        {"text": "already text, from jsonl"},
        {"content": b"plain words here", "content_type": "text/plain", "http_status": 200},
        {"content": html, "content_type": None, "http_status": 200},  # sniffed as HTML
    ])
    d = Extract({"plain_text": True, "engine": engine}).process(b)
    assert d.reasons == [None, "http_404", "not_html", "empty_extraction", None, None, None]
    assert Extract().process(b).reasons[5] == "not_html"  # text/plain is off by default
    texts = d.table.column("text").to_pylist()
    assert "river town" in texts[0] and "Copyright" not in texts[0] and "Home" not in texts[0]
    assert texts[4] == "already text, from jsonl" and texts[5] == "plain words here"
    assert texts[6] == texts[0]


def test_decode_html_charsets():
    page = "<html><head><meta charset='windows-1252'></head><body>Café über — naïve</body></html>"
    assert "Café über — naïve" in decode_html(page.encode("cp1252"), None)  # from <meta>
    assert "Café" in decode_html(page.encode("cp1252"), "text/html; charset=windows-1252")  # from HTTP
    zh = "<html><body>中文网页，编码是GBK。</body></html>"
    assert "中文网页" in decode_html(zh.encode("gbk"), "text/html; charset=GBK")
    assert "中文网页" in decode_html(zh.encode("utf-8"), "text/html; charset=bogus-charset")
    # a wrong HTTP charset falls through to what decodes strictly
    assert "Café" in decode_html("<p>Café</p>".encode("utf-8"), "text/html; charset=ascii")


def test_normalize():
    b = batch([{"text": "Cafe\u0301  and\u00a0\ttabs \r\nline\x00two\n\n\n\nend  "}, {"text": None}])
    d = Normalize().process(b)
    assert d.table.column("text").to_pylist() == ["Café and tabs\nlinetwo\n\nend", None]
    assert d.reasons == [None, None]


def test_length_filter_counts_cjk_characters_as_words():
    b = batch([{"text": "one two three four"}, {"text": "这是一个中文句子没有空格"}, {"text": "short"},
               {"text": "x" * 50}])
    d = LengthFilter({"min_chars": 6, "max_chars": 40, "min_words": 4}).process(b)
    assert d.reasons == [None, None, "too_short", "too_long"]
    assert d.table.column("length.words").to_pylist() == [4, 12, 1, 1]
    assert d.table.column("length.chars").type == pa.int64()
