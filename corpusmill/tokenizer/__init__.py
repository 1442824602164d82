"""SentencePiece training and parallel encoding (issue 5).

For `corpus mix` and the trainer: load_tokenizer / Tokenizer (sha256, dtype, special ids,
metadata()), encode_part / iter_encode_part (one parquet part) and encode_parts (many, on Ray).
Heavy imports (ray, sentencepiece) happen on use, not here.
"""
from corpusmill.tokenizer.encode import (Unit, encode_part, encode_parts, encode_table, iter_encode_part, read_encoded,
                                         write_encoded)
from corpusmill.tokenizer.model import Tokenizer, TokenizerError, load_tokenizer, token_type

__all__ = ["Tokenizer", "TokenizerError", "Unit", "encode_part", "encode_parts", "encode_table",
           "iter_encode_part", "load_tokenizer", "read_encoded", "token_type", "write_encoded"]
