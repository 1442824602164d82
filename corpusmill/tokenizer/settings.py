"""SentencePiece training settings, LLaMA's tokenizer by default, checked before any work starts."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Not offered: train_extremely_large_corpus. SentencePiece 0.2.3 says "deprecated and ignored"
# (its unigram index no longer needs it); the byte cap on the sample is what bounds memory.


class SpmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(32000, gt=0)
    model_type: Literal["bpe", "unigram"] = "bpe"
    # LLaMA: byte fallback for anything outside the vocabulary, digits split one by one, the text
    # left as it is (identity normalisation, whitespace kept) so decode(encode(x)) == x.
    byte_fallback: bool = True
    split_digits: bool = True
    normalization_rule_name: str = "identity"
    remove_extra_whitespaces: bool = False
    allow_whitespace_only_pieces: bool = True
    add_dummy_prefix: bool = True
    character_coverage: float = Field(0.99995, gt=0, le=1)
    unk_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    pad_id: int = 3
    user_defined_symbols: list[str] = []  # always one piece, also when seen in text
    control_symbols: list[str] = []  # ids reserved, never produced from text
    max_sentence_length: int = Field(4192, gt=0)  # bytes; the sampler cuts lines to this
    max_sentencepiece_length: int = Field(16, gt=0)
    input_sentence_size: int = Field(0, ge=0)  # 0: every line of the (already capped) sample
    shuffle_input_sentence: bool = True
    num_threads: int | None = Field(None, gt=0)  # None: the CPUs of this machine
    extra: dict[str, Any] = {}  # any other SentencePieceTrainer option, passed as is

    @model_validator(mode="after")
    def _check(self) -> "SpmSettings":
        ids = {k: getattr(self, k) for k in ("unk_id", "bos_id", "eos_id", "pad_id") if getattr(self, k) >= 0}
        if self.unk_id < 0:
            raise ValueError("unk_id must be set (>= 0): SentencePiece requires an unknown piece")
        if len(set(ids.values())) != len(ids):
            raise ValueError(f"special ids must differ: {ids}")
        if max(ids.values()) >= self.vocab_size:
            raise ValueError(f"special ids {ids} must be below vocab_size {self.vocab_size}")
        specials = self.user_defined_symbols + self.control_symbols
        if len(set(specials)) != len(specials) or not all(specials):
            raise ValueError(f"special tokens must be distinct and non-empty: {specials}")
        clash = set(self.extra) & set(type(self).model_fields)
        if clash:
            raise ValueError(f"extra repeats settings that have their own option: {sorted(clash)}")
        return self

    def trainer_kwargs(self, cpus: int) -> dict[str, Any]:
        """Keyword arguments for SentencePieceTrainer.train (without input/model_prefix)."""
        kw = self.model_dump(exclude={"extra", "num_threads",
                                      "user_defined_symbols", "control_symbols"})
        if self.user_defined_symbols:
            kw["user_defined_symbols"] = self.user_defined_symbols
        if self.control_symbols:
            kw["control_symbols"] = self.control_symbols
        kw["num_threads"] = self.num_threads or cpus
        kw.update(self.extra)
        return kw
