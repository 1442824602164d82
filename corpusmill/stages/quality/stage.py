"""The `quality` stage: every enabled rule family annotates every document (its metrics and the
first rule it fails, in columns), then documents failing any family are removed."""
from __future__ import annotations

from typing import Callable

import pyarrow as pa

from corpusmill.pipeline.stage import Decision, Stage
from corpusmill.stages.quality import gopher
from corpusmill.stages.quality.c4_fineweb import c4, fineweb
from corpusmill.stages.quality.options import QualityOptions
from corpusmill.stages.quality.words import Chunk, chunk_totals, no_space_chunks, spacy_chunks, words_for

FAMILIES = ("gopher_repetition", "gopher", "c4", "fineweb")


def _unscale(key: str, scale: int) -> str:
    parts = key.split("_")  # top_4_gram_frac -> top_2_gram_frac
    if len(parts) > 2 and parts[1].isdigit():
        parts[1] = str(int(parts[1]) // scale)
    return "_".join(parts)


class Quality(Stage):
    name = "quality"
    Options = QualityOptions

    def setup(self) -> None:
        o = self.options
        stops = {**gopher.DEFAULT_STOP_WORDS, **(o.gopher.stop_words if o.gopher else {})}
        self._stop_words = {lang: frozenset(ws) for lang, ws in stops.items()}
        self._no_space = frozenset(o.no_space_languages)

    def _chunker(self, lang: str) -> Callable[[str], list[Chunk]]:
        if lang in self._no_space:
            return no_space_chunks
        if self.options.word_tokenizer == "spacy":
            return lambda text: spacy_chunks(text, lang)
        return words_for(lang).chunks

    def judge(self, text: str, lang: str) -> tuple[str, dict[str, dict], dict[str, str | None]]:
        """(possibly rewritten text, metrics per family, first failed rule per family)."""
        o = self.options
        no_space = lang in self._no_space
        split = self._chunker(lang)
        lines = text.splitlines()
        line_chunks = [split(line) for line in lines]  # whitespace chunks never span lines
        chunks = [c for lc in line_chunks for c in lc]
        totals = chunk_totals(chunks)
        metrics: dict[str, dict] = {}
        reasons: dict[str, str | None] = {}

        def done() -> bool:
            return not o.annotate_all and any(reasons.values())

        if o.gopher_repetition and not done():
            r = o.gopher_repetition
            scale = o.no_space_ngram_scale if no_space else 1
            m = gopher.repetition_metrics(text, chunks, totals[0], [(n * scale, f) for n, f in r.top_n_grams],
                                          [(n * scale, f) for n, f in r.dup_n_grams], 0 if no_space else 1) if text else {}
            if scale != 1:  # report under the rule's own name (top_2_gram...), whatever n was used
                m = {_unscale(k, scale): v for k, v in m.items()}
            metrics["gopher_repetition"], reasons["gopher_repetition"] = m, gopher.repetition_reason(m, r)
        if o.gopher and not done():
            m = gopher.gopher_quality_metrics(text, chunks, totals, self._stop_words.get(lang))
            metrics["gopher"], reasons["gopher"] = m, gopher.gopher_quality_reason(m, o.gopher, not no_space)
        new_text, n_words = text, totals[0]
        if o.c4 and not done():
            rewritten, metrics["c4"], reasons["c4"], kept_words = c4(
                lines, line_chunks, o.c4, split, no_space, whitespace_chunks=o.word_tokenizer == "fast")
            if o.c4.rewrite_text and rewritten is not None:
                new_text, n_words = rewritten, kept_words
        if o.fineweb and not done():
            short = o.no_space_short_line_length if no_space else o.fineweb.short_line_length
            metrics["fineweb"], reasons["fineweb"] = fineweb(new_text, n_words, o.fineweb, short)
        return new_text, metrics, reasons

    def process(self, batch: pa.Table) -> Decision:
        o = self.options
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [None] * len(texts)
        enabled = [f for f in FAMILIES if getattr(o, f) is not None]
        cols: dict[str, list] = {}
        out_reasons: list[str | None] = []
        for i, (text, lang) in enumerate(zip(texts, langs)):
            lang = lang or o.default_language
            if text is None or lang in o.skip_languages:
                metrics, reasons, new_text = {}, {}, text
            else:
                new_text, metrics, reasons = self.judge(text, lang)
            first = next((f"{f}.{reasons[f]}" for f in enabled if reasons.get(f)), None)
            out_reasons.append(first)
            if first is None and new_text is not None:
                texts[i] = new_text
            for f in enabled:
                cols.setdefault(f"quality.{f}.reason", []).append(reasons.get(f))
                for k, v in metrics.get(f, {}).items():
                    cols.setdefault(f"quality.{f}.{k}", [None] * i).append(v)
            for name, values in cols.items():  # families skipped for this row: nulls
                if len(values) < i + 1:
                    values.append(None)
        table = batch.set_column(batch.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        for name in sorted(cols):
            kind = pa.string() if name.endswith(".reason") else (
                pa.int64() if name.endswith((".words", ".stop_words", ".sentences", ".lines_dropped")) else pa.float64())
            table = table.append_column(name, pa.array(cols[name], kind))
        return Decision(table, out_reasons)
