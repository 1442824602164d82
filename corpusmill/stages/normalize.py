"""Unicode and whitespace normalisation. Changes text, never removes a document."""
from __future__ import annotations

import re
import unicodedata
from typing import Literal

import pyarrow as pa
from pydantic import Field

from corpusmill.common.config import Strict
from corpusmill.pipeline.stage import Decision, Stage

# C0/C1 controls except tab and newline; they break tokenizers and are never content.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TRAILING = re.compile(r" +\n")
_BLANK_LINES = re.compile(r"\n{3,}")


class NormalizeOptions(Strict):
    form: Literal["NFC", "NFKC", "none"] = Field("NFC", description="Unicode normalisation form.")
    whitespace: bool = Field(True, description="Collapse runs of spaces, unify newlines, at most one blank line.")
    strip_control: bool = Field(True, description="Drop control characters other than tab and newline.")


def normalize_text(text: str, opts: NormalizeOptions) -> str:
    if opts.form != "none":
        text = unicodedata.normalize(opts.form, text)
    if opts.strip_control or opts.whitespace:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if opts.strip_control:
        text = _CONTROL.sub("", text)
    if opts.whitespace:
        text = _SPACES.sub(" ", text)
        text = _TRAILING.sub("\n", text)
        text = _BLANK_LINES.sub("\n\n", text).strip()
    return text


class Normalize(Stage):
    name = "normalize"
    Options = NormalizeOptions

    def process(self, batch: pa.Table) -> Decision:
        texts = [None if t is None else normalize_text(t, self.options) for t in batch.column("text").to_pylist()]
        table = batch.set_column(batch.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        return Decision(table, [None] * batch.num_rows)
