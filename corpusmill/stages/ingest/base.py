"""The reader plugin base, and what readers yield: record dicts (the columns of the document
schema), problems and skipped records."""
from __future__ import annotations

from dataclasses import dataclass
import io
import lzma
from typing import Any, ClassVar, Iterator
import zlib

import fsspec
from pydantic import Field

from corpusmill.common.config import Strict

# Annotations name pipeline.parts.Part and pipeline.config.InputSpec without importing them: the
# engine imports readers, never the other way round.


class Reader:
    """One input format. A plugin subclasses this, sets the class attributes, implements `read` (and
    `split` when a large file can be cut into parts), and registers the class under the entry-point
    group `corpusmill.readers` with the format's name. Its options are given under the input's
    `options:` and validated by `Options` once, before any work starts."""

    name: ClassVar[str]
    # Lowercase file-name endings (after a compression suffix is removed) that mean this format;
    # the longest match over all readers wins.
    suffixes: ClassVar[tuple[str, ...]] = ()
    # Yields raw `content` (HTML) rather than `text`: the build needs a stage that makes text (extract).
    raw_content: ClassVar[bool] = False
    Options: ClassVar[type[Strict]] = Strict

    def __init__(self, options: Strict | dict[str, Any] | None = None):
        self.options = options if isinstance(options, Strict) else self.Options.model_validate(options or {})

    @classmethod
    def matches_name(cls, name: str) -> bool:
        """A looser test, tried when no suffix matched (e.g. Wikipedia's pages-articles1.xml-p10p30302)."""
        return False

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        """[start, end) ranges of the file, one part each: byte offsets or rows, as `read` takes them."""
        return [(0, None)]

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem | Skipped]:
        raise NotImplementedError


class RecordFields(Strict):
    """Options of the formats whose records are objects with named fields (jsonl, parquet)."""
    text_key: str = Field("text", description="The field holding the text.")
    id_key: str | None = Field("id", description="A field kept as the document id when present.")
    url_key: str | None = Field("url", description="A field kept as the url when present.")


class Skipped:
    """A record that is not a document (request, metadata, warcinfo...): counted by type."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind


@dataclass
class Problem:
    """Input that could not be read as a document: counted in stats.json with file and reason."""

    reason: str
    position: str  # record index, byte offset or line, as the format has it
    detail: str = ""


def record(part: Part, position: str | int, *, text: str | None = None, url: str | None = None,
           doc_id: str | None = None, content: bytes | None = None, content_type: str | None = None,
           http_status: int | None = None, removed: str | None = None) -> dict[str, Any]:
    """One document as readers emit it. `removed` set means ingest itself removes it, with that reason."""
    return {
        "id": doc_id if doc_id is not None else f"{part.source}/{part.relpath}#{position}",
        "source": part.source,
        "url": url,
        "text": text,
        "content": content,
        "content_type": content_type,
        "http_status": http_status,
        "_removed": removed,
    }


def open_binary(path: str, compression: str | None = "infer"):
    """A binary stream with readline over a local path or fsspec URL, decompressing by suffix."""
    if compression == "infer" and path.lower().endswith((".zst", ".zstd")):
        import zstandard

        raw = fsspec.open(path, "rb").open()
        # Multi-frame files are common (one frame per chunk written); read across them.
        reader = zstandard.ZstdDecompressor(max_window_size=2**31).stream_reader(raw, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return fsspec.open(path, "rb", compression=compression).open()


# What reading a damaged file can raise: EOFError (cut short), OSError (bad gzip header or CRC,
# bz2), and, found by fuzzing, zlib.error (damaged deflate data), lzma.LZMAError and
# zstandard.ZstdError, which are none of those and used to fail the whole part.
def stream_errors() -> tuple[type[BaseException], ...]:
    import zstandard

    return (EOFError, OSError, ValueError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


def stream_error_reason(e: BaseException) -> str:
    """truncated_file for a stream that stops short, corrupt_file for damaged (compressed) data."""
    text = str(e)
    if isinstance(e, EOFError) or "end-of-stream" in text or "ended before" in text:
        return "truncated_file"
    return "corrupt_file"


def decode_utf8(data: bytes) -> tuple[str, bool]:
    """Text and whether invalid bytes had to be replaced (reported, never fatal)."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True
