"""A second opinion for lid.176 from CLD2 (pycld2: Chromium's compact language detector, its
tables compiled into the wheel, so nothing loads at run time).

CLD2 is asked only where lid.176 is unsure (score below `max_score`) and its answer is one of the
languages it is known to confuse; CLD2's answer replaces lid.176's only for the (lid.176 says A,
CLD2 says B) pairs listed in langid_overrides.json. That table is learned, not hand-written:
benchmarks/fit_langid_overrides.py keeps a pair when, on sentences cut from half of the UDHR
paragraphs, switching gained at least twice and never turned a right answer wrong. So a language
lid.176 gets right is only ever switched away from where the data said that was safe.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

OVERRIDES_FILE = Path(__file__).with_name("langid_overrides.json")

# CLD2 codes -> lid.176 labels where the two name a language differently.
CLD2_TO_LID = {"iw": "he", "jw": "jv", "zh-Hant": "zh"}
# CLD2 refuses a text holding C0 control characters or DEL ("invalid UTF-8"); raw text may hold some.
_CONTROLS_TO_SPACE = {c: " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def cld2_language(text: str) -> tuple[str | None, float]:
    """CLD2's top language (as a lid.176 label) and the share of the text it found in it, or
    (None, 0.0) where CLD2 has no answer ('un') or refuses the text."""
    import pycld2

    try:
        _, _, details = pycld2.detect(text.translate(_CONTROLS_TO_SPACE), isPlainText=True)
    except (pycld2.error, UnicodeError, ValueError):  # e.g. a lone surrogate, control bytes
        return None, 0.0
    code, percent = details[0][1], details[0][2]
    if code == "un":
        return None, 0.0
    return CLD2_TO_LID.get(code, code), percent / 100.0


class SecondOpinion:
    """The learned override table and the rule that applies it."""

    def __init__(self, path: Path = OVERRIDES_FILE):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        self.max_score: float = data["max_score"]
        self.pairs: set[tuple[str, str]] = {(a, b) for a, b in data["pairs"]}
        self.askable: set[str] = {a for a, _ in self.pairs}  # lid.176 answers worth a second look

    def revise(self, texts: Sequence[str], langs: list[str], scores: list[float]) -> int:
        """Replace, in place, lid.176's answers (and scores) that the table says CLD2 knows better;
        returns how many texts CLD2 was asked about. An overridden score is CLD2's share of the
        text in its language (CLD2 gives no probability)."""
        asked = 0
        for i, (text, lang, score) in enumerate(zip(texts, langs, scores)):
            if score >= self.max_score or lang not in self.askable:
                continue
            asked += 1
            other, share = cld2_language(text)
            if other is not None and (lang, other) in self.pairs:
                langs[i], scores[i] = other, share
        return asked
