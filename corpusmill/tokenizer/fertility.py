"""Fertility on the held-out slice, per source and language: tokens per word (per character for
languages written without spaces) and bytes per token, the figures that compare tokenizers."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa

from corpusmill.tokenizer.model import Tokenizer

# Written without spaces between words: tokens per word means nothing there, tokens per character does.
NO_SPACE_LANGS = {"zh", "ja", "th", "lo", "km", "my", "bo", "dz", "yue", "wuu", "gan", "hak", "nan", "ii"}
NO_SPACE_CHARS_PER_WORD = 12  # for unknown languages: longer "words" than this mean no spaces
_SPACE = re.compile(r"\s+")
BATCH = 512


def _counts(tok: Tokenizer, texts: list[str]) -> tuple[int, int, int, int]:
    """(utf-8 bytes, non-space characters, whitespace-separated words, tokens) of texts."""
    nbytes = chars = words = tokens = 0
    for i in range(0, len(texts), BATCH):
        chunk = texts[i:i + BATCH]
        tokens += sum(len(a) for a in tok.encode(chunk, add_bos=False, add_eos=False))
        for t in chunk:
            nbytes += len(t.encode())
            chars += len(_SPACE.sub("", t))
            words += len(t.split())
    return nbytes, chars, words, tokens


def _row(source: str, lang: str, docs: int, c: tuple[int, int, int, int]) -> dict:
    nbytes, chars, words, tokens = c
    no_space = lang.lower() in NO_SPACE_LANGS or (lang == "und" and words and chars / words > NO_SPACE_CHARS_PER_WORD)
    r = {"source": source, "lang": lang, "documents": docs, "bytes": nbytes, "chars": chars, "words": words,
         "tokens": tokens,
         "tokens_per_word": round(tokens / words, 4) if words else None,
         "tokens_per_char": round(tokens / chars, 4) if chars else None,
         "bytes_per_token": round(nbytes / tokens, 4) if tokens else None,
         "unit": "char" if no_space else "word"}
    r["fertility"] = r["tokens_per_char"] if no_space else r["tokens_per_word"]
    return r


def fertility(tok: Tokenizer, docs: pa.Table) -> list[dict]:
    """One row per (source, lang) of `docs` (columns text, source, lang), then one per language
    over all sources (source '*'), sorted."""
    groups: dict[tuple[str, str], list[str]] = {}
    for text, source, lang in zip(docs["text"].to_pylist(), docs["source"].to_pylist(), docs["lang"].to_pylist()):
        groups.setdefault((source or "", lang or "und"), []).append(text or "")
    rows, per_lang = [], {}
    for (source, lang), texts in sorted(groups.items()):
        c = _counts(tok, texts)
        rows.append(_row(source, lang, len(texts), c))
        acc = per_lang.setdefault(lang, [0, 0, 0, 0, 0])
        acc[0] += len(texts)
        for i in range(4):
            acc[i + 1] += c[i]
    if len({r["source"] for r in rows}) > 1:
        rows += [_row("*", lang, a[0], tuple(a[1:])) for lang, a in sorted(per_lang.items())]
    return rows


def format_report(rows: list[dict]) -> str:
    head = f"{'source':<20} {'lang':<6} {'docs':>7} {'MB':>8} {'tokens':>11} {'tok/word':>9} {'tok/char':>9} {'bytes/tok':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['source'][:20]:<20} {r['lang'][:6]:<6} {r['documents']:>7} {r['bytes'] / 1e6:>8.2f} "
                     f"{r['tokens']:>11} {_cell(r, 'tokens_per_word', 'word'):>9} "
                     f"{_cell(r, 'tokens_per_char', 'char'):>9} {_cell(r, 'bytes_per_token'):>9}")
    lines.append("* the fertility figure for that language (per character where words are not space-separated)")
    return "\n".join(lines)


def _cell(r: dict, key: str, unit: str | None = None) -> str:
    """A figure, starred when it is the language's fertility figure."""
    v = r[key]
    return ("-" if v is None else f"{v:.3f}") + ("*" if unit and r["unit"] == unit else " " if unit else "")


def save_report(rows: list[dict], path: Path, tok: Tokenizer, heldout: str | None = None) -> None:
    from corpusmill.common.files import atomic_write_text

    doc = {"tokenizer_sha256": tok.sha256, "vocab_size": tok.vocab_size, "heldout": heldout, "rows": rows}
    atomic_write_text(Path(path), json.dumps(doc, indent=1, ensure_ascii=False))
