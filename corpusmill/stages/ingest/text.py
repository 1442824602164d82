"""Plain text: one document per file (text_unit: file) or per non-empty line (text_unit: line)."""
from __future__ import annotations

from typing import Iterator, Literal

from pydantic import Field

from corpusmill.common.config import Strict
from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import (Problem, Reader, decode_utf8, open_binary, record, stream_error_reason,
                                           stream_errors)
from corpusmill.stages.ingest.lines import iter_lines, split_lines


class TextOptions(Strict):
    text_unit: Literal["file", "line"] = Field("file", description="One document per file or per non-empty line.")


class TextReader(Reader):
    name = "text"
    suffixes = (".txt", ".text")
    Options = TextOptions

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        return split_lines(path, spec) if self.options.text_unit == "line" else [(0, None)]

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem]:
        return read(part, spec, self.options)


def read(part: Part, spec: InputSpec, opts: TextOptions) -> Iterator[dict | Problem]:
    if opts.text_unit == "file":
        yield from _whole_file(part, spec)
        return
    for item in iter_lines(part, spec):
        if isinstance(item, Problem):
            yield item
            continue
        pos, line = item
        if len(line) > spec.max_document_bytes:
            yield record(part, pos, removed="too_large")
            continue
        text, replaced = decode_utf8(line)
        if replaced:
            yield Problem("invalid_utf8_replaced", f"byte {pos}", "bad bytes replaced by U+FFFD")
        yield record(part, pos, text=text)


def _whole_file(part: Part, spec: InputSpec) -> Iterator[dict | Problem]:
    try:
        with open_binary(part.path) as fh:
            data = fh.read(spec.max_document_bytes + 1)
    except stream_errors() as e:  # fuzz: damaged gz/zst data raised past this
        yield Problem(stream_error_reason(e), "0", f"{type(e).__name__}: {e}"[:300])
        return
    if not data:
        yield Problem("empty_file", "0")
        return
    if len(data) > spec.max_document_bytes:
        yield record(part, 0, removed="too_large")
        return
    text, replaced = decode_utf8(data)
    if replaced:
        yield Problem("invalid_utf8_replaced", "0", "bad bytes replaced by U+FFFD")
    yield record(part, 0, text=text)
