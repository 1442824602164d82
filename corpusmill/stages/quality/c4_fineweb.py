"""C4's line rules (Raffel et al. 2020) and FineWeb's own rules, as datatrove implements them.

C4 rewrites the text (drops lines) and FineWeb judges the rewritten text, as in FineWeb's
pipeline. Sentence counting follows spaCy's sentencizer (a sentence ends at one of its
punctuation characters and the next token that is not punctuation starts the next one),
over the shared word splitter instead of a spaCy call per line.
"""
from __future__ import annotations

from datatrove.pipeline.filters.c4_filters import CITATION_REGEX, END_PUNCTUATION, POLICY_SUBSTRINGS
from datatrove.utils.text import TERMINAL_PUNCTUATION
from corpusmill.stages.quality.words import Chunk, count_tokens
# For scripts without spaces C4's Latin terminal marks are not enough.
CJK_END_PUNCTUATION = END_PUNCTUATION + ("。", "！", "？", "」", "』", "”")
_ELLIPSIS = "..."


def count_sentences(chunks: list[Chunk]) -> int:
    """Sentences spaCy's sentencizer finds in a line's words (0 for none)."""
    n, seen_end, any_token = 1, False, False
    for c in chunks:
        if c.n_tokens:
            any_token = True
            starts, seen_end = c.sentences[seen_end]
            n += starts
    return n if any_token else 0


def c4(lines: list[str], line_chunks: list[list[Chunk]], o, chunker, no_space: bool,
       whitespace_chunks: bool = True) -> tuple[str | None, dict, str | None, int]:
    """C4's line pass over a document's lines and their word chunks. Returns (kept text, or None
    where a whole-document rule failed, metrics, that rule or None, words in the kept text). The
    sentence threshold is not applied here (c4_reason does), so the kept lines do not depend on it
    and `corpus select` can move it."""
    kept: list[str] = []
    sentences = dropped = kept_words = 0
    ends = CJK_END_PUNCTUATION if no_space else END_PUNCTUATION
    long_word = o.max_word_length
    # Document-level look first: most documents have none of these, and then no line does.
    low_doc = "\n".join(lines).lower()
    cites = o.remove_citations and "[" in low_doc
    lorem = o.filter_lorem_ipsum and "lorem ipsum" in low_doc
    javascript = o.filter_javascript and "javascript" in low_doc
    curly = o.filter_curly_bracket and "{" in low_doc
    policy = o.filter_policy and any(p in low_doc for p in POLICY_SUBSTRINGS)
    for raw, chunks in zip(lines, line_chunks):
        line = raw.strip()
        # C4 counts whitespace-separated words (line.split()): the chunks when chunks are
        # whitespace-separated; for scripts without spaces, the characters.
        if no_space:
            n_words = count_tokens(chunks)
        else:
            n_words = len(chunks) if whitespace_chunks else len(line.split())
        if long_word != -1 and len(line) > long_word and (
                any(n > long_word for c in chunks for n in c.lens) if no_space
                else any(len(w) > long_word for w in line.split())):
            dropped += 1
            continue
        if cites:
            cited = line
            line = CITATION_REGEX.sub("", line)
            if line != cited:
                chunks = chunker(line)
        if o.filter_no_terminal_punct and (not line.endswith(ends) or line.endswith(_ELLIPSIS)):
            dropped += 1
            continue
        if n_words < o.min_words_per_line:
            dropped += 1
            continue
        if lorem or javascript or curly or policy:
            low = line.lower()
            if lorem and "lorem ipsum" in low:
                return None, {"sentences": sentences, "lines_dropped": dropped}, "lorem_ipsum", 0
            if javascript and "javascript" in low:
                dropped += 1
                continue
            if curly and "{" in line:
                return None, {"sentences": sentences, "lines_dropped": dropped}, "curly_bracket", 0
            if policy and any(p in low for p in POLICY_SUBSTRINGS):
                dropped += 1
                continue
        if o.min_num_sentences != -1:
            sentences += count_sentences(chunks)
        kept.append(line)
        kept_words += count_tokens(chunks)
    return "\n".join(kept).strip(), {"sentences": sentences, "lines_dropped": dropped}, None, kept_words


def c4_reason(metrics: dict, document_rule: str | None, o) -> str | None:
    """document_rule: what c4() returned (lorem_ipsum, curly_bracket), which no threshold moves."""
    if document_rule:
        return document_rule
    if metrics["sentences"] < o.min_num_sentences:
        return "too_few_sentences"
    return None


def fineweb_metrics(text: str, n_words: int, o, short_line_length: int) -> dict:
    """o: FineWebOptions (its stop_chars). {} for a text without a non-blank line."""
    lines = [ln for ln in text.split("\n") if ln.strip() != ""]
    if not lines:
        return {}
    stop_chars = tuple(o.stop_chars) if o.stop_chars is not None else tuple(TERMINAL_PUNCTUATION)
    m = {"line_punct_ratio": sum(1 for ln in lines if ln.endswith(stop_chars)) / len(lines),
         "short_line_ratio": sum(1 for ln in lines if len(ln) <= short_line_length) / len(lines)}
    seen: set[str] = set()
    dup_chars = 0
    for ln in lines:
        if ln in seen:
            dup_chars += len(ln)
        else:
            seen.add(ln)
    m["char_dup_ratio"] = dup_chars / max(1, len(text.replace("\n", "")))
    m["list_ratio"] = text.count("\n") / n_words if n_words else float("inf")
    return m


def fineweb_reason(m: dict, o) -> str | None:
    """o: FineWebOptions; datatrove's order of checks."""
    if not m:
        return "empty"
    if m["line_punct_ratio"] < o.line_punct_thr and not (m["line_punct_ratio"] == 0 and o.line_punct_exclude_zero):
        return "line_punct_ratio"
    if m["short_line_ratio"] > o.short_line_thr:
        return "short_line_ratio"
    if m["char_dup_ratio"] > o.char_duplicates_ratio:
        return "char_dup_ratio"
    if m["list_ratio"] > o.new_line_ratio:
        return "list_ratio"
    return None
