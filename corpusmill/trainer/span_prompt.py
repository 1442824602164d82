"""Text with sentinels <-> ids, for `corpus generate` on a span checkpoint. A sentinel is written as
T5 writes it, `<extra_id_N>`, or as the T5 paper's figures do, `<X>`, `<Y>`, `<Z>` (0, 1, 2):
"Thank you <X> me to your party <Y> week." -> ids with sentinels 0 and 1 in place, then EOS.

The text between sentinels is encoded piece by piece, so SentencePiece starts each piece as a new
word (its dummy prefix): write the spaces around a sentinel as the text has them."""
from __future__ import annotations

import re
from typing import Callable

SENTINEL = re.compile(r"<extra_id_(\d+)>|<([XYZ])>")


def sentinel_text(k: int) -> str:
    return f"<extra_id_{k}>"


def parse_prompt(prompt: str, encode: Callable[[str], list[int]], config, eos_id: int | None) -> list[int]:
    """The encoder's input ids: text pieces encoded, sentinels as their ids, EOS at the end (as in training)."""
    ids, at, seen = [], 0, 0
    for m in SENTINEL.finditer(prompt):
        k = int(m.group(1)) if m.group(1) is not None else "XYZ".index(m.group(2))
        if k >= config.n_sentinels:
            raise ValueError(f"{m.group(0)}: this model has sentinels 0..{config.n_sentinels - 1}")
        if prompt[at:m.start()].strip():
            ids += encode(prompt[at:m.start()])
        ids.append(config.vocab_size + k)
        at, seen = m.end(), seen + 1
    if not seen:
        raise ValueError("a span model fills sentinels: put <extra_id_0> (or <X>), <extra_id_1> (<Y>) ... in "
                         "--prompt where text is missing, e.g. 'The <X> sat on the <Y>.'")
    if prompt[at:].strip():
        ids += encode(prompt[at:])
    return ids + ([int(eos_id)] if eos_id is not None else [])


def render_spans(ids: list[int], decode: Callable[[list[int]], str], config, eos_id: int | None = None) -> str:
    """The decoder's output as text: each sentinel as <extra_id_N>, the tokens between decoded; EOS dropped."""
    out, run = [], []
    for i in ids:
        if config.vocab_size <= i < config.n_outputs:
            out += [decode(run)] if run else []
            out.append(sentinel_text(i - config.vocab_size))
            run = []
        elif i != eos_id:
            run.append(i)
    out += [decode(run)] if run else []
    return "".join(out)
