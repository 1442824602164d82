"""SentencePiece training and parallel encoding (issue 5).

For `corpus mix` and the trainer: load_tokenizer / Tokenizer (sha256, dtype, special ids,
metadata()), encode_part / iter_encode_part (one parquet part) and encode_parts (many, on Ray).
Names load on first use (PEP 562), so `corpus --help` does not import pyarrow through here.
"""
import importlib

_FROM = {**dict.fromkeys(("Unit", "encode_part", "encode_parts", "encode_table", "iter_encode_part", "read_encoded",
                          "write_encoded"), "corpusmill.tokenizer.encode"),
         **dict.fromkeys(("Tokenizer", "TokenizerError", "load_tokenizer", "token_type"), "corpusmill.tokenizer.model")}

__all__ = sorted(_FROM)


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module 'corpusmill.tokenizer' has no attribute {name!r}")
    return getattr(importlib.import_module(_FROM[name]), name)
