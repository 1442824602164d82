"""What readers yield: record dicts (the columns of the document schema) and problems."""
from __future__ import annotations

from dataclasses import dataclass
import io
import lzma
from typing import Any
import zlib

import fsspec

from corpusmill.pipeline.parts import Part


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
