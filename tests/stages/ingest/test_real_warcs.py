"""The real archives in ../shared/data/warc: HTML responses counted, text extracted, and the old
Internet Archive WARC/0.17 agreeing with its ARC twin."""
import pytest

from conftest import shared
from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.extract import ExtractOptions, decode_html, extract_text
from corpusmill.stages.ingest.base import Problem
from corpusmill.pipeline.registry import reader

# (file, format, HTML responses with status 200 or not, all responses); counted with warcio by hand.
EXPECTED = [
    ("cc_resiliparse/CC-MAIN-2020-34-sample.warc.gz", "warc", 16, 16),
    ("dolma_wget/sample-0000.warc.gz", "warc", 22, 22),
    ("dolma_wget/sample-0001.warc.gz", "warc", 15, 15),
    ("ia_heritrix_aut/example.warc.gz", "warc", 140, 299),
    ("ia_heritrix_aut/example.arc.gz", "arc", 140, 299),
]


def _docs(rel, fmt):
    path = shared("warc", rel)
    items = list(reader(fmt).read(Part("s", str(path), path.name, fmt), InputSpec(name="s", path=str(path))))
    assert [i for i in items if isinstance(i, Problem)] == []
    return [i for i in items if isinstance(i, dict)]


@pytest.mark.parametrize("rel,fmt,html,responses", EXPECTED)
def test_html_response_counts(rel, fmt, html, responses):
    docs = _docs(rel, fmt)
    assert len(docs) == responses
    assert sum("html" in (d["content_type"] or "").lower() for d in docs) == html


def test_extract_text_from_common_crawl_pages():
    docs = _docs("cc_resiliparse/CC-MAIN-2020-34-sample.warc.gz", "warc")
    texts = [extract_text(decode_html(d["content"], d["content_type"]), ExtractOptions(), d["url"])
             for d in docs if d["http_status"] == 200]
    nonempty = [t for t in texts if len(t) > 200]
    assert len(nonempty) >= 12, [len(t) for t in texts]
    # 11 of the 16 pages are Chinese (CC's own labels): their text must come out as Chinese
    assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in t[:500]) for t in nonempty) >= 9
    assert all("<div" not in t and "</p>" not in t for t in texts)


def test_ia_warc_017_and_arc_twin_give_the_same_documents():
    warc = _docs("ia_heritrix_aut/example.warc.gz", "warc")
    arc = _docs("ia_heritrix_aut/example.arc.gz", "arc")

    def key(d):
        return d["url"], d["http_status"], d["content"]

    assert sorted(map(key, warc)) == sorted(map(key, arc))
    html = [d for d in warc if "html" in (d["content_type"] or "") and d["http_status"] == 200]
    texts = [extract_text(decode_html(d["content"], d["content_type"]), ExtractOptions(), d["url"]) for d in html]
    assert sum(bool(t) for t in texts) >= len(html) // 2
