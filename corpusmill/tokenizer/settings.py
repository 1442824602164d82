"""SentencePiece training settings, LLaMA's tokenizer by default, checked before any work starts."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Not offered: train_extremely_large_corpus. SentencePiece 0.2.3 says "deprecated and ignored"
# (its unigram index no longer needs it); the byte cap on the sample is what bounds memory.


class SpmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(32000, gt=0, description="Pieces in the vocabulary, special and byte pieces included.")
    model_type: Literal["bpe", "unigram"] = Field("bpe", description="SentencePiece algorithm.")
    # LLaMA: byte fallback for anything outside the vocabulary, digits split one by one, the text
    # left as it is (identity normalisation, whitespace kept) so decode(encode(x)) == x.
    byte_fallback: bool = Field(True, description="Unknown characters become UTF-8 byte pieces, never <unk>.")
    split_digits: bool = Field(True, description="Every digit is its own piece (LLaMA).")
    normalization_rule_name: str = Field("identity", description="SentencePiece normaliser; identity keeps text as is.")
    remove_extra_whitespaces: bool = Field(False,
                                           description="Collapse runs of whitespace before training and encoding.")
    allow_whitespace_only_pieces: bool = Field(True,
                                               description="Runs of spaces may form one piece (code, indentation).")
    add_dummy_prefix: bool = Field(True, description="Prepend a space so a word is one piece at line start too.")
    character_coverage: float = Field(0.99995, gt=0, le=1,
                                      description="Share of sample characters the vocabulary covers; the rest go to bytes.")
    unk_id: int = Field(0, description="Id of <unk> (required).")
    bos_id: int = Field(1, description="Id of <s>; -1: none.")
    eos_id: int = Field(2, description="Id of </s>; -1: none.")
    pad_id: int = Field(3, description="Id of <pad>; -1: none.")
    user_defined_symbols: list[str] = Field([], description="Always one piece, also when seen in text.")
    control_symbols: list[str] = Field([], description="Ids reserved, never produced from text.")
    max_sentence_length: int = Field(4192, gt=0,
                                     description="Longest training line in bytes; the sampler cuts lines to this.")
    max_sentencepiece_length: int = Field(16, gt=0, description="Longest piece in characters.")
    input_sentence_size: int = Field(0, ge=0,
                                     description="SentencePiece's own cap on lines; 0: every line of the (already capped) sample.")
    shuffle_input_sentence: bool = Field(True, description="Shuffle lines before SentencePiece's own cap applies.")
    num_threads: int | None = Field(None, gt=0, description="Training threads; null: the CPUs of this machine.")
    extra: dict[str, Any] = Field({}, description="Any other SentencePieceTrainer option, passed as is.")

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
