"""The cheap cases of language ID, decided by the writing system alone: text written in Han
characters with no kana and no hangul is Chinese, whatever a statistical model says (lid.176
reads many short Chinese reviews as ja or ko, some even as en); text mostly in hangul is Korean.
"""
from __future__ import annotations

import re

SAMPLE_CHARS = 1000  # the start of the text tells its script; keeps long documents cheap
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
LETTER = re.compile(r"[^\W\d_]")
# lid.176 labels of languages written in Han characters alone
HAN_ONLY_LABELS = {"zh", "wuu", "yue", "gan", "lzh"}
SURE = 0.95  # above this a model's answer is left alone unless it is ja or ko (checked always)


def script_language(text: str) -> str | None:
    """'zh' or 'ko' where the writing system settles it, else None."""
    sample = text[:SAMPLE_CHARS]
    letters = len(LETTER.findall(sample))
    if not letters:
        return None
    han, kana, hangul = (len(p.findall(sample)) for p in (HAN, KANA, HANGUL))
    if han > letters / 2 and not kana and not hangul:
        return "zh"
    if hangul > letters / 2:
        return "ko"
    return None


def revise(texts, langs: list[str], scores: list[float]) -> int:
    """Correct, in place, answers the script contradicts (score kept: the model's for its own
    wrong label would mislead, so 1.0: the script leaves no doubt). Returns how many changed."""
    changed = 0
    for i, text in enumerate(texts):
        if scores[i] >= SURE and langs[i] not in ("ja", "ko"):
            continue
        script = script_language(text)
        if script == "zh" and langs[i] not in HAN_ONLY_LABELS or script == "ko" and langs[i] != "ko":
            langs[i], scores[i] = script, 1.0
            changed += 1
    return changed
