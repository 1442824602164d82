"""MediaWiki XML dumps (.xml, .xml.bz2): article pages, wikitext turned into plain text with
mwparserfromhell. Redirects and pages outside the main namespace are not documents."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Iterator
from urllib.parse import quote

import mwparserfromhell

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import Problem, Reader, Skipped, open_binary, record, stream_error_reason, stream_errors

# Links to files and categories carry no prose; their captions confuse sentences.
_DROP_LINK = re.compile(r"^\s*:?\s*(file|image|category|media)\s*:", re.I)
_BLANKS = re.compile(r"\n{3,}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def wikitext_to_text(wikitext: str) -> str:
    code = mwparserfromhell.parse(wikitext)
    for link in code.filter_wikilinks(recursive=False):
        if _DROP_LINK.match(str(link.title)):
            try:
                code.remove(link)
            except ValueError:
                pass
    for tag in code.filter_tags(recursive=False):
        if str(tag.tag).lower() in ("ref", "references", "gallery", "math", "table", "timeline"):
            try:
                code.remove(tag)
            except ValueError:
                pass
    text = code.strip_code(normalize=True, collapse=True)
    lines = [ln.strip() for ln in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(ln for ln in lines if not ln.startswith(("{|", "|}", "|-", "!")))).strip()


class MediaWikiReader(Reader):
    name = "mediawiki"
    suffixes = (".xml",)

    @classmethod
    def matches_name(cls, name: str) -> bool:
        return ".xml" in name  # Wikipedia dump names such as pages-articles1.xml-p10p30302.bz2

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem | Skipped]:
        return read(part, spec)


def read(part: Part, spec: InputSpec) -> Iterator[dict | Problem | Skipped]:
    base = None
    page: dict = {}
    count = 0
    try:
        with open_binary(part.path) as fh:
            context = ET.iterparse(fh, events=("start", "end"))
            _, root = next(context)
            for event, elem in context:
                tag = _local(elem.tag)
                if event == "start":
                    if tag == "page":
                        page = {}
                    continue
                if tag == "base" and base is None:
                    base = (elem.text or "").rsplit("/", 1)[0]
                elif tag in ("title", "ns", "id") and tag not in page:  # a page's first <id> is its own
                    page[tag] = elem.text or ""
                elif tag == "redirect":
                    page["redirect"] = True
                elif tag == "text":
                    page["text"] = elem.text or ""
                elif tag == "page":
                    count += 1
                    yield _page(part, spec, page, base)
                    root.clear()  # bounded memory: drop finished pages
    except ET.ParseError as e:
        yield Problem("corrupt_xml" if count else "not_mediawiki_xml", f"page {count}", str(e)[:300])
    except stream_errors() as e:  # fuzz: damaged bz2 data is corrupt_file, not truncated_file
        yield Problem(stream_error_reason(e), f"page {count}", f"{type(e).__name__}: {e}"[:300])
    except StopIteration:
        yield Problem("empty_file", "0")


def _page(part: Part, spec: InputSpec, page: dict, base: str | None):
    if page.get("ns", "0") != "0":
        return Skipped("wiki_namespace")
    if page.get("redirect"):
        return Skipped("wiki_redirect")
    title = page.get("title", "")
    url = f"{base}/{quote(title.replace(' ', '_'))}" if base else None
    wikitext = page.get("text", "")
    if len(wikitext) > spec.max_document_bytes:
        return record(part, page.get("id", title), url=url, removed="too_large")
    return record(part, page.get("id", title), url=url, text=wikitext_to_text(wikitext))
