"""WARC (1.0, 1.1, 0.17, 0.18), WET and ARC through warcio, which reads every one of these
(per-record or whole-file gzip). A corrupt record is counted and reading resumes at the next
record boundary, so one bad record does not cost the rest of the file."""
from __future__ import annotations

import zlib
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import Problem, decode_utf8, open_binary, record

_DOC_TYPES = {"warc": "response", "arc": "response", "wet": "conversion"}
_READ_ERRORS = (ArchiveLoadFailed, zlib.error, EOFError, OSError, ValueError, IndexError, KeyError)
_SCAN_CHUNK = 1 << 20


class _WholeFileGzipIterator(ArchiveIterator):
    """warcio refuses a WARC gzipped as one stream (it cannot seek into it for replay); a
    sequential reader has no such need, so read on through the single stream."""

    def _raise_invalid_gzip_err(self):
        pass

    # warcio ends quietly when a gzip stream stops short: remember whether the last member
    # really ended, so a truncated file is reported instead of passing for a complete one.
    ended_cleanly = True

    def close(self):
        d = getattr(self.reader, "decompressor", None) if self.reader is not None else None
        if d is not None and hasattr(d, "eof"):
            self.ended_cleanly = d.eof
        super().close()


class Skipped:
    """A record that is not a document (request, metadata, warcinfo...): counted by type."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind


def read(part: Part, spec: InputSpec) -> Iterator[dict | Problem | Skipped]:
    doc_type = _DOC_TYPES[part.format]
    with open_binary(part.path, compression=None) as fh:
        head = fh.read(2)
        if not head:
            yield Problem("empty_file", "0")
            return
        gzipped = head == b"\x1f\x8b"
        pos, index, reported = 0, 0, False
        while pos is not None:
            fh.seek(pos)
            it = _WholeFileGzipIterator(fh, arc2warc=True)
            bad_at, parsed_here = pos, False
            try:
                for rec in it:
                    out = _convert(part, spec, rec, doc_type, index)
                    # after the content is read: asking warcio earlier makes it skip the content
                    bad_at = pos + it.get_record_offset()
                    index += 1
                    parsed_here = True
                    yield out
                if not it.ended_cleanly:
                    yield Problem("truncated_file", f"record {index}", "gzip stream ends before its end marker")
                return
            except _READ_ERRORS as e:
                if parsed_here or not reported:  # one problem per corrupt stretch, not per false start
                    yield Problem(_reason(e, gzipped), f"record {index} at byte {bad_at}",
                                  f"{type(e).__name__}: {e}"[:300])
                    index += 1
                reported = True
                pos = _next_boundary(fh, bad_at + 1, gzipped)


def _convert(part: Part, spec: InputSpec, rec, doc_type: str, index: int):
    if rec.rec_type != doc_type:
        return Skipped(rec.rec_type or "unknown")
    url = rec.rec_headers.get_header("WARC-Target-URI")
    limit = spec.max_document_bytes
    data = _read_at_most(rec.content_stream(), limit + 1)
    if doc_type == "conversion":  # WET: the text itself
        text, replaced = decode_utf8(data[:limit])
        return record(part, index, url=url, text=text, content_type="text/plain",
                      removed="too_large" if len(data) > limit else None)
    http = rec.http_headers
    status = None
    if http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    ctype = http.get_header("Content-Type") if http is not None else rec.rec_headers.get_header("Content-Type")
    if len(data) > limit:
        return record(part, index, url=url, content_type=ctype, http_status=status, removed="too_large")
    return record(part, index, url=url, content=data, content_type=ctype, http_status=status)


def _read_at_most(stream, n: int) -> bytes:
    """warcio's read(n) may return less than is there (one buffer at a time): loop to EOF or n."""
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(min(n - got, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _reason(e: Exception, gzipped: bool) -> str:
    if isinstance(e, EOFError) or "end-of-stream" in str(e) or "Compressed file ended" in str(e):
        return "truncated_file"
    if isinstance(e, zlib.error):
        return "corrupt_gzip"
    return "corrupt_record"


def _next_boundary(fh, start: int, gzipped: bool) -> int | None:
    """Offset of the next plausible record start at or after `start`: a gzip member header for
    per-record gzip files, a `WARC/` version line otherwise. None when there is none."""
    marker = b"\x1f\x8b\x08" if gzipped else b"\nWARC/"
    fh.seek(start)
    offset, tail = start, b""
    while True:
        chunk = fh.read(_SCAN_CHUNK)
        if not chunk:
            return None
        buf = tail + chunk
        i = buf.find(marker)
        if i >= 0:
            found = offset - len(tail) + i
            return found if gzipped else found + 1
        tail = buf[-(len(marker) - 1):]
        offset += len(chunk)
