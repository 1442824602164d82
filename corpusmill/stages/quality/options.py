"""Options of the quality stage. Defaults are FineWeb's published settings: datatrove's
GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(filter_no_terminal_punct=False)
and FineWebQualityFilter(), in that order."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from corpusmill.common.config import Strict


class GopherRepetitionOptions(Strict):
    dup_line_frac: float | None = Field(0.3, description="Max share of lines that repeat an earlier line.")
    dup_para_frac: float | None = Field(0.3, description="Max share of paragraphs that repeat an earlier one.")
    dup_line_char_frac: float | None = Field(0.2, description="Max share of characters in repeated lines.")
    dup_para_char_frac: float | None = Field(0.2, description="Max share of characters in repeated paragraphs.")
    top_n_grams: list[tuple[int, float]] = Field(
        [(2, 0.2), (3, 0.18), (4, 0.16)], description="(n, max share of characters in the most frequent n-gram).")
    dup_n_grams: list[tuple[int, float]] = Field(
        [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)],
        description="(n, max share of characters in repeated n-grams).")


class GopherQualityOptions(Strict):
    min_doc_words: int | None = Field(50, description="Min words that are not only punctuation.")
    max_doc_words: int | None = Field(100_000, description="Max words that are not only punctuation.")
    min_avg_word_length: float | None = Field(3, description="Min mean word length (skipped for scripts without spaces).")
    max_avg_word_length: float | None = Field(10, description="Max mean word length (skipped for scripts without spaces).")
    max_symbol_word_ratio: float | None = Field(0.1, description="Max '#' or ellipses per word.")
    max_bullet_lines_ratio: float | None = Field(0.9, description="Max share of lines starting with a bullet.")
    max_ellipsis_lines_ratio: float | None = Field(0.3, description="Max share of lines ending with an ellipsis.")
    max_non_alpha_words_ratio: float | None = Field(
        0.8, description="Min share of words with a letter (datatrove's name for it).")
    min_stop_words: int | None = Field(2, description="Min distinct stop words; only for languages with a list.")
    stop_words: dict[str, list[str]] = Field(
        default_factory=dict, description="Stop words per language code; English defaults to Gopher's list.")


class C4Options(Strict):
    split_paragraph: Literal[True] = Field(True, description="Lines are split on newlines (C4's choice).")
    remove_citations: bool = Field(True, description="Strip Wikipedia-style [1] [edit] citations.")
    filter_no_terminal_punct: bool = Field(False, description="Drop lines without terminal punctuation (FineWeb: off).")
    min_num_sentences: int = Field(5, description="Min sentences in kept lines; -1 disables.")
    min_words_per_line: int = Field(3, description="Drop lines with fewer words.")
    max_word_length: int = Field(1000, description="Drop lines with a longer word; -1 disables.")
    filter_lorem_ipsum: bool = Field(True, description="Remove documents containing 'lorem ipsum'.")
    filter_javascript: bool = Field(True, description="Drop lines mentioning javascript.")
    filter_curly_bracket: bool = Field(True, description="Remove documents containing '{'.")
    filter_policy: bool = Field(True, description="Drop lines about cookies and terms of use.")
    rewrite_text: bool = Field(True, description="Kept documents lose the dropped lines (as C4 and FineWeb do).")


class FineWebOptions(Strict):
    line_punct_thr: float = Field(0.12, description="Min share of lines ending in terminal punctuation.")
    line_punct_exclude_zero: bool = Field(False, description="Do not remove when no line ends in punctuation.")
    stop_chars: list[str] | None = Field(None, description="Terminal punctuation (datatrove's set when null).")
    short_line_thr: float = Field(0.67, description="Max share of short lines.")
    short_line_length: int = Field(30, description="A line this long or shorter is short (characters).")
    char_duplicates_ratio: float = Field(0.01, description="Max share of characters in repeated lines.")
    new_line_ratio: float = Field(0.3, description="Max newlines per word.")


class QualityOptions(Strict):
    gopher_repetition: GopherRepetitionOptions | None = Field(
        default_factory=GopherRepetitionOptions, description="Gopher repetition rules; false to switch off.")
    gopher: GopherQualityOptions | None = Field(
        default_factory=GopherQualityOptions, description="Gopher quality rules; false to switch off.")
    c4: C4Options | None = Field(default_factory=C4Options, description="C4 line rules; false to switch off.")
    fineweb: FineWebOptions | None = Field(default_factory=FineWebOptions, description="FineWeb rules; false to switch off.")
    word_tokenizer: Literal["fast", "spacy"] = Field(
        "fast", description="fast: one shared regex pass (see docs/benchmarks.md for agreement); spacy: datatrove's own.")
    default_language: str = Field("en", description="Language assumed where `lang` is null (no langid stage).")
    no_space_languages: list[str] = Field(
        ["zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"],
        description="Languages written without spaces: every character is a word, word-length rules are skipped.")
    no_space_ngram_scale: int = Field(
        2, ge=1, description="For those languages the repetition rules' n-grams are this many times longer "
        "(in characters): a word there is about two characters, and kana particles repeat at every turn.")
    no_space_short_line_length: int = Field(
        10, description="FineWeb's short-line length for those languages (their lines pack more per character).")
    skip_languages: list[str] = Field(default_factory=list, description="Languages the rules do not judge at all.")
    annotate_all: bool = Field(
        True, description="Compute every family's metrics for every document; false stops at the first failure.")

    @field_validator("gopher_repetition", "gopher", "c4", "fineweb", mode="before")
    @classmethod
    def _switch(cls, v):
        if v is False:
            return None
        if v is True:
            return {}
        return v
