"""Word splitting for the quality rules, done once per document and shared by every rule.

datatrove's rules run spaCy's whole pipeline per filter (80-99% of their time). `Words` runs
the same tokenizer *algorithm* with the same rules (spaCy's prefix, suffix and infix patterns
and special cases for the language, read from its blank model) in plain Python, and remembers
how each whitespace-separated chunk splits: most chunks are common words seen before, so a
document costs one `str.split` and a dict lookup per chunk. tests/stages/test_quality.py checks the
tokens and the rules' decisions against datatrove's. For scripts written without spaces
(Han, kana, Thai...) every such character is a word.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from operator import attrgetter

_NO_SPACE = re.compile(r"([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u0f00-\u0fff\u3040-\u30ff"
                       r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])")
_CACHE_LIMIT = 500_000


def _sentence_end_chars() -> frozenset[str]:
    from spacy.pipeline.sentencizer import Sentencizer

    return frozenset(Sentencizer.default_punct_chars)


SENTENCE_END = _sentence_end_chars()
_ALPHA = re.compile(r"[^\W\d_]")


def _non_symbol_pattern() -> re.Pattern:
    from datatrove.utils.text import PUNCTUATION_SET

    return re.compile("[^" + re.escape("".join(sorted(PUNCTUATION_SET))) + "]")


_NON_SYMBOL = _non_symbol_pattern()


class Chunk:
    """How one whitespace-separated chunk splits, with what the Gopher rules count of it."""

    __slots__ = ("tokens", "ids", "lens", "n_tokens", "stats", "sentences")

    def __init__(self, tokens: tuple[str, ...], vocab: dict[str, int]):
        self.tokens = tokens
        self.ids = tuple(vocab.setdefault(t, len(vocab)) for t in tokens)
        self.lens = tuple(len(t) for t in tokens)
        non_symbol = [t for t in tokens if _NON_SYMBOL.search(t)]
        self.n_tokens = len(tokens)
        # what the Gopher rules count: tokens, tokens not only punctuation, their characters,
        # tokens with a letter
        self.stats = (len(tokens), len(non_symbol), sum(map(len, non_symbol)),
                      sum(1 for t in tokens if _ALPHA.search(t)))
        # spaCy's sentencizer run over these tokens, entered with seen_end False / True:
        # (sentence starts found, seen_end on leaving). Lets a line be scanned chunk by chunk.
        self.sentences = (_scan(tokens, False), _scan(tokens, True))


def _scan(toks: tuple[str, ...], seen_end: bool) -> tuple[int, bool]:
    starts = 0
    for t in toks:
        if t in SENTENCE_END:
            seen_end = True
        elif seen_end and not is_punct_token(t):
            starts += 1
            seen_end = False
    return starts, seen_end


class Words:
    """spaCy's tokenizer for one language, minus the Doc objects, plus a per-chunk cache."""

    def __init__(self, language: str = "en"):
        import spacy

        try:
            tok = spacy.blank(language).tokenizer
        except (ImportError, KeyError, ValueError):  # a language spaCy has no rules for
            tok = spacy.blank("xx").tokenizer
        never = re.compile("a^")
        self._prefix = tok.prefix_search or never.search
        self._suffix = tok.suffix_search or never.search
        self._infix = tok.infix_finditer or never.finditer
        self._token_match = tok.token_match or never.match
        self._url_match = tok.url_match or never.match
        self._special = {orth: [t[65] if 65 in t else t.get("ORTH") for t in toks]
                         for orth, toks in tok.rules.items()}
        self._cache: dict[str, Chunk] = {}
        self._vocab: dict[str, int] = {}

    def chunks(self, text: str) -> list[Chunk]:
        cache = self._cache
        parts = text.split()
        try:
            return [cache[c] for c in parts]
        except KeyError:
            pass
        out = []
        for c in parts:
            entry = cache.get(c)
            if entry is None:
                entry = Chunk(tuple(t for t in self._split(c) if t.strip()), self._vocab)
                if len(cache) < _CACHE_LIMIT:
                    cache[c] = entry
            out.append(entry)
        return out

    def __call__(self, text: str) -> list[str]:
        return [t for c in self.chunks(text) for t in c.tokens]

    def _split(self, s: str) -> list[str]:
        """spaCy's Tokenizer._split_affixes + _attach_tokens, as in its `explain`."""
        tokens: list[str] = []
        suffixes: list[str] = []
        special = self._special
        while s:
            if s in special:
                tokens.extend(special[s])
                break
            while self._prefix(s) or self._suffix(s):
                if self._token_match(s) or s in special:
                    break
                m = self._prefix(s)
                if m:
                    if m.end() == 0:
                        break
                    tokens.append(s[: m.end()])
                    s = s[m.end():]
                    if s in special:
                        break
                m = self._suffix(s)
                if m:
                    if m.start() == len(s):
                        break
                    suffixes.append(s[m.start():])
                    s = s[: m.start()]
            if not s:
                break
            if s in special:
                tokens.extend(special[s])
            elif self._token_match(s) or self._url_match(s):
                tokens.append(s)
            else:
                offset = 0
                for m in self._infix(s):
                    if offset == 0 and m.start() == 0:
                        continue
                    if m.start() > offset:
                        tokens.append(s[offset: m.start()])
                    if m.end() > m.start():
                        tokens.append(s[m.start(): m.end()])
                    offset = m.end()
                if s[offset:]:
                    tokens.append(s[offset:])
            break
        tokens.extend(reversed(suffixes))
        return tokens


@lru_cache(maxsize=16)
def words_for(language: str) -> Words:
    return Words(language)


def no_space_chunks(text: str) -> list[Chunk]:
    """Scripts without spaces: each of their characters is a word; other runs as usual."""
    return words_for("xx").chunks(_NO_SPACE.sub(r" \1 ", text))


_SPACY_VOCAB: dict[str, int] = {}


def spacy_chunks(text: str, language: str = "en") -> list[Chunk]:
    """datatrove's own tokenizer, as one chunk: for exact parity, at spaCy's speed."""
    return [Chunk(tuple(spacy_words(text, language)), _SPACY_VOCAB)]


_N_TOKENS = attrgetter("n_tokens")


def count_tokens(chunks: list[Chunk]) -> int:
    return sum(map(_N_TOKENS, chunks))


def chunk_totals(chunks: list[Chunk]) -> tuple[int, int, int, int]:
    """(tokens, tokens not only punctuation, their characters, tokens with a letter)."""
    if not chunks:
        return 0, 0, 0, 0
    return tuple(map(sum, zip(*[c.stats for c in chunks])))


@lru_cache(maxsize=8)
def _datatrove_tokenizer(language: str):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    return load_word_tokenizer(language)


def spacy_words(text: str, language: str = "en") -> list[str]:
    """datatrove's own word tokenizer for `language` (spaCy blank model, no download)."""
    return _datatrove_tokenizer(language).word_tokenize(text)


def is_punct_token(token: str) -> bool:
    """spaCy's `is_punct` for a token: every character is Unicode punctuation."""
    return all(unicodedata.category(c).startswith("P") for c in token)
