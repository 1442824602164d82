"""JSON Lines (.jsonl, .json, .ndjson; plain, .gz, .bz2, .zst): one document per line."""
from __future__ import annotations

import json
from typing import Iterator

import orjson

from corpusmill.pipeline.config import InputSpec
from corpusmill.pipeline.parts import Part
from corpusmill.stages.ingest.base import Problem, Reader, RecordFields, decode_utf8, record
from corpusmill.stages.ingest.lines import iter_lines, split_lines


class JsonlReader(Reader):
    name = "jsonl"
    suffixes = (".jsonl", ".ndjson", ".json")
    Options = RecordFields

    def split(self, path: str, spec: InputSpec) -> list[tuple[int, int | None]]:
        return split_lines(path, spec)

    def read(self, part: Part, spec: InputSpec) -> Iterator[dict | Problem]:
        return read(part, spec, self.options)


def read(part: Part, spec: InputSpec, opts: RecordFields) -> Iterator[dict | Problem]:
    for item in iter_lines(part, spec):
        if isinstance(item, Problem):
            yield item
            continue
        pos, line = item
        if pos == 0 and line.startswith(b"\xef\xbb\xbf"):  # fuzz: a UTF-8 BOM made line 1 invalid_json (orjson refuses it)
            line = line[3:]
        if len(line) > spec.max_document_bytes:
            yield record(part, pos, removed="too_large")
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            text, replaced = decode_utf8(line)
            if not replaced:
                yield Problem("invalid_json", f"byte {pos}", str(e)[:200])
                continue
            try:  # valid JSON apart from bad UTF-8: keep it, replacing the bad bytes
                obj = orjson.loads(text)
            except orjson.JSONDecodeError:
                yield Problem("invalid_json", f"byte {pos}", "not JSON (and not valid UTF-8)")
                continue
            yield Problem("invalid_utf8_replaced", f"byte {pos}", "bad bytes replaced by U+FFFD")
        if not isinstance(obj, dict):
            yield Problem("not_an_object", f"byte {pos}", type(obj).__name__)
            continue
        text = obj.get(opts.text_key)
        if not isinstance(text, str):
            yield Problem("missing_text_field", f"byte {pos}",
                          f"field {opts.text_key!r} is {type(text).__name__}")
            continue
        doc_id = obj.get(opts.id_key) if opts.id_key else None
        if isinstance(doc_id, float):  # orjson turns integers past 64 bits into floats: ids would collide
            doc_id = json.loads(line.decode("utf-8", "replace")).get(opts.id_key)
        url = obj.get(opts.url_key) if opts.url_key else None
        yield record(part, pos, text=text, url=url if isinstance(url, str) else None,
                     doc_id=str(doc_id) if doc_id is not None else None)
