"""A trained tokenizer as the rest of the pipeline sees it: the model's bytes, their sha256, the
special ids and the token dtype; loaded with checks that fail with a message saying what to do."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

MODEL_FILE = "tokenizer.model"
CARD_FILE = "tokenizer.json"


class TokenizerError(Exception):
    """The tokenizer is missing, unreadable, or not the one a manifest or card expects."""


def token_type(vocab_size: int) -> pa.DataType:
    """uint16 when every id fits (vocab < 65,536), else uint32 (DESIGN.md, token shards)."""
    return pa.uint16() if vocab_size < 65536 else pa.uint32()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Tokenizer:
    """Picklable (it travels as the model's bytes): ray.put it once, load it in any worker."""

    def __init__(self, model_bytes: bytes, path: str | None = None):
        import sentencepiece as spm

        self.model_bytes, self.path = model_bytes, path
        self.sha256 = sha256_bytes(model_bytes)
        try:
            self.sp = spm.SentencePieceProcessor(model_proto=model_bytes)
        except (RuntimeError, OSError) as e:
            raise TokenizerError(f"{path or 'tokenizer'}: not a SentencePiece model ({e})") from None
        self.vocab_size = self.sp.get_piece_size()
        self.unk_id, self.bos_id = self.sp.unk_id(), self.sp.bos_id()
        self.eos_id, self.pad_id = self.sp.eos_id(), self.sp.pad_id()
        self.dtype = token_type(self.vocab_size)
        self.np_dtype = np.dtype(self.dtype.to_pandas_dtype())

    def __reduce__(self):
        return (Tokenizer, (self.model_bytes, self.path))

    def encode(self, texts: list[str] | list[bytes], add_bos: bool = True, add_eos: bool = True,
               num_threads: int = 1) -> list[np.ndarray]:
        """One int32 array per text (SentencePiece's own buffers, no Python ints); bytes are UTF-8."""
        if (add_bos and self.bos_id < 0) or (add_eos and self.eos_id < 0):
            raise TokenizerError(f"{self.path}: this model has no {'BOS' if add_bos and self.bos_id < 0 else 'EOS'} "
                                 "id; pass add_bos/add_eos=False")
        return self.sp.encode(texts, add_bos=add_bos, add_eos=add_eos, num_threads=num_threads,
                              return_type="numpy")

    def encode_arrow(self, texts: list[str] | list[bytes], add_bos: bool = True, add_eos: bool = True,
                     num_threads: int = 1) -> pa.LargeListArray:
        """large_list<uint16|uint32>, one row per text."""
        arrays = self.encode(texts, add_bos, add_eos, num_threads)
        offsets = np.zeros(len(arrays) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, arrays), np.int64, len(arrays)), out=offsets[1:])
        flat = np.concatenate(arrays).astype(self.np_dtype) if arrays else np.zeros(0, self.np_dtype)
        return pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat, self.dtype))

    def decode(self, ids) -> str:
        # a numpy array's tolist() gives Python ints in one C call
        return self.sp.decode(ids.tolist() if isinstance(ids, np.ndarray) else [int(i) for i in ids])

    def metadata(self) -> dict[str, str]:
        """What a token file's schema metadata must carry to be checked against this tokenizer."""
        return {"tokenizer_sha256": self.sha256, "vocab_size": str(self.vocab_size),
                "dtype": str(self.dtype), "bos_id": str(self.bos_id), "eos_id": str(self.eos_id),
                "pad_id": str(self.pad_id), "unk_id": str(self.unk_id)}

    def check(self, expected_sha256: str | None, expected_by: str = "the manifest") -> "Tokenizer":
        if expected_sha256 is not None and expected_sha256 != self.sha256:
            raise TokenizerError(
                f"tokenizer {self.path} does not match {expected_by}: its sha256 is {self.sha256}, "
                f"{expected_by} expects {expected_sha256}. Use the tokenizer the data was made with, "
                "or re-encode the data with this one.")
        return self


def model_path(path: str | os.PathLike) -> Path:
    """A tokenizer given as the model file or as the folder `corpus tokenizer train` wrote."""
    p = Path(path)
    return p / MODEL_FILE if p.is_dir() else p


def load_tokenizer(path: str | os.PathLike, expected_sha256: str | None = None,
                   expected_by: str = "the manifest") -> Tokenizer:
    """Loads DIR/tokenizer.model (or a .model file). Raises TokenizerError when it is missing,
    unreadable, differs from expected_sha256, or differs from the sha256 in its own card
    (tokenizer.json beside it: the model was replaced after training)."""
    p = model_path(path)
    if not p.is_file():
        hint = f" (no {MODEL_FILE} in that folder)" if Path(path).is_dir() else ""
        raise TokenizerError(f"tokenizer not found: {p}{hint}. Train one with "
                             "`corpus tokenizer train --input DIR --vocab-size N --output DIR`.")
    tok = Tokenizer(p.read_bytes(), str(p))
    card = p.with_name(CARD_FILE)
    if card.is_file():
        try:
            card_sha = json.loads(card.read_text()).get("sha256")
        except (json.JSONDecodeError, AttributeError):
            card_sha = None
        tok.check(card_sha, f"its card {card}")
    return tok.check(expected_sha256, expected_by)
