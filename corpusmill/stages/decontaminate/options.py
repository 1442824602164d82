"""Options of the `decontaminate` stage:

    - decontaminate:
        references:
          - {name: mmlu, path: evals/mmlu/*.jsonl, text_key: [question, choices]}
          - {name: gsm8k, path: evals/gsm8k_saved}        # a `save_to_disk` folder
        ngram: 13
        mode: remove          # remove | redact | annotate
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from corpusmill.common.config import ConfigPath, Strict


class ReferenceSet(Strict):
    name: str = Field(description="The set's name, in reasons (contaminated:NAME), columns and stats.")
    path: ConfigPath = Field(description="A file, a glob or a `save_to_disk` folder: JSONL (.jsonl/.json, .gz/.zst), "
                             "Parquet, Arrow, or text (one reference per blank-line-separated paragraph).")
    text_key: str | list[str] = Field(
        "text", description="JSONL/Parquet/Arrow: the field(s) holding the text; several are joined, one per line "
        "(a list value, such as answer choices, one item a line).")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[\w.-]+", v):
            raise ValueError(f"{v!r}: use letters, digits, '_', '-' and '.' only (it becomes part of a reason)")
        return v

    def keys(self) -> list[str]:
        return [self.text_key] if isinstance(self.text_key, str) else list(self.text_key)


class DecontaminateOptions(Strict):
    references: list[ReferenceSet] = Field(min_length=1, description="The evaluation sets to look for.")
    ngram: int = Field(13, ge=1, le=64, description="Words per n-gram (characters in Chinese, Japanese, Thai...), "
                       "normalised as dedup does; 13 as GPT-3 and OLMo. References shorter than this are skipped "
                       "(counted in stats.json).")
    mode: Literal["remove", "redact", "annotate"] = Field(
        "remove", description="remove: reason contaminated:SET; redact: cut the matched spans, with `margin_chars` "
        "either side (GPT-3), keeping the rest; annotate: columns only.")
    min_matches: int = Field(1, ge=1, description="Matched n-grams that make a document contaminated.")
    margin_chars: int = Field(200, ge=0, description="redact: characters cut either side of a matched span.")
    index: Literal["auto", "exact", "bloom"] = Field(
        "auto", description="exact: sorted 64-bit hashes, 9-10 bytes per n-gram; bloom: a Bloom filter at "
        "`false_positive_rate`; auto: bloom above `bloom_above` n-grams per set.")
    bloom_above: int = Field(50_000_000, ge=1, description="auto: n-grams in a set above which it is a Bloom filter "
                             "(exact, 50M n-grams take ~500 MB).")
    false_positive_rate: float = Field(
        1e-8, gt=0, lt=0.1, description="Bloom filter: per look-up. A document of L n-grams is falsely flagged with "
        "probability ~ L x rate (min_matches 1): 1e-8 costs 4.8 bytes per n-gram and flags ~1 in 100,000 "
        "documents of 1,000 words.")

    @model_validator(mode="after")
    def _unique_names(self) -> "DecontaminateOptions":
        names = [r.name for r in self.references]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"reference set names must differ: {dup} given twice")
        return self
