"""Shared line reading for JSONL and one-document-per-line text: byte-range parts of large
uncompressed files, each line owned by the part its first byte falls in."""
from __future__ import annotations

from typing import Iterator

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part, file_size
from corpusmill.stages.ingest.base import Problem, open_binary, stream_error_reason, stream_errors

_COMPRESSED = (".gz", ".bz2", ".zst", ".zstd", ".xz")


def split_lines(path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
    """Byte ranges of about `split_bytes`; compressed files cannot be entered midway: one part."""
    if path.lower().endswith(_COMPRESSED):
        return [(0, None)]
    size = file_size(path)
    if size <= spec.split_bytes:
        return [(0, None)]
    starts = list(range(0, size, spec.split_bytes))
    return [(s, starts[i + 1] if i + 1 < len(starts) else None) for i, s in enumerate(starts)]


def iter_lines(part: Part, spec: InputSpec) -> Iterator[tuple[int, bytes] | Problem]:
    """(byte offset, line without its newline) for every non-empty line of the part.
    Lines longer than max_document_bytes come back cut at that size plus one byte, so
    callers can tell they were too long without holding them whole."""
    limit = spec.max_document_bytes
    with open_binary(part.path) as fh:
        pos = part.start
        if part.start > 0:  # skip the line that started in the previous part
            fh.seek(part.start - 1)
            pos = part.start - 1 + _skip_line(fh)
        first = True
        try:
            while part.end is None or pos < part.end:
                line = fh.readline(limit + 1)
                if not line:
                    if first and part.start == 0:
                        yield Problem("empty_file", "0")
                    return
                first = False
                n = len(line)
                if not line.endswith(b"\n") and n > limit:  # too long: drain the rest of it
                    n += _skip_line(fh)
                body = line.rstrip(b"\r\n")
                if body.strip():
                    yield pos, body
                pos += n
        except stream_errors() as e:  # fuzz: damaged gz/zst data raised past this; bz2 damage is not truncation
            yield Problem(stream_error_reason(e), f"byte {pos}", f"{type(e).__name__}: {e}"[:300])


def _skip_line(fh) -> int:
    """Read up to and including the next newline; returns the bytes consumed."""
    n = 0
    while True:
        chunk = fh.readline(1 << 20)
        n += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return n
