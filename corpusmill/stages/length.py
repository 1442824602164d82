"""Length filter: annotates characters and words, removes documents outside the bounds."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpusmill.common.config import Strict
from corpusmill.pipeline.stage import Decision, Stage, Verdict


# Scripts written without spaces (Han, kana): each character counts as a word, so a word bound
# tuned for English does not remove every Chinese or Japanese document.
_NO_SPACE = r"\x{3040}-\x{30ff}\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}\x{f900}-\x{faff}"
WORD_PATTERN = rf"[{_NO_SPACE}]|[^\s{_NO_SPACE}]+"


class LengthOptions(Strict):
    min_chars: int = Field(0, ge=0, description="Remove documents with fewer characters (too_short).")
    max_chars: int | None = Field(None, gt=0, description="Remove documents with more characters (too_long).")
    min_words: int = Field(0, ge=0, description="Remove documents with fewer words (too_few_words); a Han or kana character counts as one word.")

    @model_validator(mode="after")
    def _bounds(self) -> "LengthOptions":
        if self.max_chars is not None and self.max_chars < self.min_chars:
            raise ValueError(f"max_chars ({self.max_chars}) is below min_chars ({self.min_chars}): every "
                             "document would be removed")
        return self


class LengthFilter(Stage):
    name = "length"
    Options = LengthOptions

    thresholds = ("min_chars", "max_chars", "min_words")

    def process(self, batch: pa.Table) -> Decision:
        text = batch.column("text")
        chars = pc.fill_null(pc.utf8_length(text), 0)
        words = pc.fill_null(pc.count_substring_regex(text, WORD_PATTERN), 0)
        table = batch.append_column("length.chars", chars.cast(pa.int64())).append_column(
            "length.words", words.cast(pa.int64()))
        return Decision(table, self.decide(table).reasons)

    def decide(self, table: pa.Table) -> Verdict:
        o = self.options
        reasons = []
        for c, w in zip(table.column("length.chars").to_pylist(), table.column("length.words").to_pylist()):
            if c < o.min_chars:
                reasons.append("too_short")
            elif o.max_chars is not None and c > o.max_chars:
                reasons.append("too_long")
            elif w < o.min_words:
                reasons.append("too_few_words")
            else:
                reasons.append(None)
        return Verdict(reasons)
