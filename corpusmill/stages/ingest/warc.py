"""WARC (1.0, 1.1, 0.17, 0.18), WET and ARC through warcio, which reads every one of these
(per-record or whole-file gzip). A corrupt record is counted and reading resumes at the next
record boundary, so one bad record does not cost the rest of the file."""
from __future__ import annotations

import os
import zlib
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import Problem, Reader, Skipped, decode_utf8, open_binary, record

# warcio meets damaged input with all sorts of exceptions (AttributeError on a header cut short,
# among others): any of them means this record cannot be read; the file goes on.
_READ_ERRORS = (Exception,)
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


class WarcReader(Reader):
    name = "warc"
    suffixes = (".warc",)
    raw_content = True
    record_type = "response"  # the records that are documents

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        return split(path, spec)

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem | Skipped]:
        return read(part, spec, self.record_type)


class WetReader(WarcReader):
    name = "wet"
    suffixes = (".warc.wet", ".wet")
    raw_content = False  # WET records hold the text Common Crawl extracted
    record_type = "conversion"


class ArcReader(WarcReader):
    name = "arc"
    suffixes = (".arc",)

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        return [(0, None)]  # ARC records cannot be found from an arbitrary offset


def split(path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
    """Byte ranges of about split_bytes for a large local WARC/WET whose records can be found from
    any offset: uncompressed, or gzipped record by record. A part owns the records that start in
    its range. Whole-file gzip (and remote files) stay one part."""
    if "://" in path or os.path.getsize(path) <= spec.split_bytes:
        return [(0, None)]
    with open(path, "rb") as fh:
        try:
            if fh.read(2) == b"\x1f\x8b" and not _per_record_gzip(fh):
                return [(0, None)]
        except zlib.error:  # fuzz: a damaged first member raised here and failed the whole build's planning
            return [(0, None)]  # one part: the reader reports the damage
    size = os.path.getsize(path)
    starts = list(range(0, size, spec.split_bytes))
    return [(s, starts[i + 1] if i + 1 < len(starts) else None) for i, s in enumerate(starts)]


def _per_record_gzip(fh, limit: int = 64 << 20) -> bool:
    """Does the first gzip member end (with another after it) within `limit` bytes?"""
    fh.seek(0)
    d = zlib.decompressobj(wbits=31)
    read = 0
    while read < limit and not d.eof:
        chunk = fh.read(1 << 20)
        if not chunk:
            return False
        read += len(chunk)
        d.decompress(chunk, 1 << 20)
        while d.unconsumed_tail and not d.eof:  # keep memory flat: inflate in slices
            d.decompress(d.unconsumed_tail, 1 << 20)
    return d.eof and (bool(d.unused_data) or bool(fh.read(1)))


def read(part: Part, spec: InputSpec, doc_type: str) -> Iterator[dict | Problem | Skipped]:
    """Records whose start offset lies in [part.start, part.end). Ids are SOURCE/RELPATH#INDEX for
    a file read whole, SOURCE/RELPATH@OFFSET for one split into ranges (the same whatever the split)."""
    split_file = part.start > 0 or part.end is not None
    with open_binary(part.path, compression=None) as fh:
        head = fh.read(2)
        if not head:
            yield Problem("empty_file", "0")
            return
        gzipped = head == b"\x1f\x8b"
        pos = 0 if part.start == 0 else _first_record_from(fh, part.start, gzipped)
        index, reported = 0, False
        while pos is not None and (part.end is None or pos < part.end):
            fh.seek(pos)
            it = _WholeFileGzipIterator(fh, arc2warc=True)
            bad_at, parsed_here = pos, False
            try:
                for rec in it:
                    out, bad_utf8 = _convert(part, spec, rec, doc_type, index)
                    # after the content is read: asking warcio earlier makes it skip the content.
                    # warcio's offsets are fh.tell() based (absolute); meaningless in whole-file gzip.
                    offset = max(pos, it.get_record_offset())
                    if part.end is not None and offset >= part.end:
                        return  # the next part's record
                    bad_at = offset
                    if split_file and isinstance(out, dict):
                        out["id"] = f"{part.source}/{part.relpath}@{offset}"
                    index += 1
                    parsed_here = True
                    yield out
                    if bad_utf8:  # fuzz: WET text with invalid UTF-8 was replaced without a word
                        yield Problem("invalid_utf8_replaced", f"record {index - 1} at byte {offset}",
                                      "bad bytes replaced by U+FFFD")
                if not it.ended_cleanly:
                    yield Problem("truncated_file", f"record {index}", "gzip stream ends before its end marker")
                elif not gzipped and part.end is None:
                    cut = _cut_short_at(fh, bad_at, part.format == "arc")
                    if cut is not None:
                        yield Problem("truncated_file", f"record {index} at byte {cut}", "file ends inside a record")
                return
            except _READ_ERRORS as e:
                if parsed_here or not reported:  # one problem per corrupt stretch, not per false start
                    yield Problem(_reason(e, fh, bad_at, gzipped), f"record {index} at byte {bad_at}",
                                  f"{type(e).__name__}: {e}"[:300])
                    index += 1
                reported = True
                pos = _next_boundary(fh, bad_at + 1, gzipped)


def _cut_short_at(fh, start: int, arc: bool = False) -> int | None:
    """fuzz: warcio ends quietly where an uncompressed WARC stops inside a record (a header cut
    short, or less content than Content-Length says), so truncation went unreported. `start` is
    the last record read (or where reading began): the offset where the file stops short, or None
    when that record is whole and only white space follows it."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(start)
    head = fh.read(64 << 10)
    if not head.strip():
        return None
    blank = b"\n" if arc else b"\r\n\r\n"  # ARC: one header line ending in the length
    end = head.lstrip().find(blank) + len(head) - len(head.lstrip())
    if end < len(head) - len(head.lstrip()):
        return start if len(head) < 64 << 10 else None
    length = None
    if arc:
        fields = head[:end].split()
        length = int(fields[-1]) if fields and fields[-1].isdigit() else None
    for line in head[:end].split(b"\r\n") if not arc else []:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    if length is None:
        return None  # not a record warcio read: its own error path reports it
    record_end = start + end + len(blank) + length
    if record_end > size:
        return start
    fh.seek(record_end)
    return record_end if fh.read(64 << 10).strip() else None


def _first_record_from(fh, start: int, gzipped: bool) -> int | None:
    """The first record boundary at or after `start`: a gzip member that inflates to a WARC
    header (a chance match of the gzip magic inside compressed data does not), or a WARC line."""
    # fuzz: the marker `\nWARC/` begins a byte early, so a record starting exactly at `start` was
    # missed here and by the previous part (which stops at `start`): lost. Look from start - 1.
    pos = _next_boundary(fh, start if gzipped else start - 1, gzipped)
    while pos is not None and gzipped:
        fh.seek(pos)
        try:
            if zlib.decompressobj(wbits=31).decompress(fh.read(4096), 16).startswith(b"WARC/"):
                return pos
        except zlib.error:
            pass
        pos = _next_boundary(fh, pos + 1, gzipped)
    # fuzz: a `\nWARC/` inside a payload (a page quoting a WARC header) was taken for a record
    # start, so a split file reported a corrupt_record its whole read does not: check the header.
    while pos is not None and not gzipped and not _warc_header_at(fh, pos):
        pos = _next_boundary(fh, pos + 1, gzipped)
    return pos


def _warc_header_at(fh, pos: int) -> bool:
    """Does a WARC header block start at `pos`: `Name: value` lines up to a blank line, with
    WARC-Type and a numeric Content-Length (what every record has)?"""
    fh.seek(pos)
    head = fh.read(64 << 10)
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return False
    names = {}
    for line in head[:end].split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return False
        names[name.strip().lower()] = value.strip()
    return b"warc-type" in names and names.get(b"content-length", b"").isdigit()


def _convert(part: Part, spec: InputSpec, rec, doc_type: str, index: int):
    """The record as a document (or Skipped), and whether its text had invalid UTF-8 replaced."""
    if rec.rec_type != doc_type:
        return Skipped(rec.rec_type or "unknown"), False
    url = rec.rec_headers.get_header("WARC-Target-URI")
    limit = spec.max_document_bytes
    data = _read_at_most(rec.content_stream(), limit + 1)
    if doc_type == "conversion":  # WET: the text itself
        text, replaced = decode_utf8(data[:limit])
        return record(part, index, url=url, text=text, content_type="text/plain",
                      removed="too_large" if len(data) > limit else None), replaced and len(data) <= limit
    http = rec.http_headers
    status = None
    if http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            status = None
    ctype = http.get_header("Content-Type") if http is not None else rec.rec_headers.get_header("Content-Type")
    if len(data) > limit:
        return record(part, index, url=url, content_type=ctype, http_status=status, removed="too_large"), False
    return record(part, index, url=url, content=data, content_type=ctype, http_status=status), False


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


def _reason(e: Exception, fh, at: int, gzipped: bool) -> str:
    if isinstance(e, EOFError) or "end-of-stream" in str(e) or "Compressed file ended" in str(e):
        return "truncated_file"
    if gzipped and _gzip_cut_short(fh, at):
        return "truncated_file"
    if isinstance(e, zlib.error):
        return "corrupt_gzip"
    return "corrupt_record"


def _gzip_cut_short(fh, at: int) -> bool:
    """Does the gzip data from `at` run out before its member ends (only asked on errors)?"""
    fh.seek(at)
    d = zlib.decompressobj(wbits=31)
    try:
        while not d.eof:
            chunk = fh.read(1 << 20)
            if not chunk:
                return True
            d.decompress(chunk, 1 << 16)
            while d.unconsumed_tail and not d.eof:
                d.decompress(d.unconsumed_tail, 1 << 16)
    except zlib.error:
        return False
    return False


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
