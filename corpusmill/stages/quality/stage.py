"""The `quality` stage: every enabled rule family annotates every document (its metrics and the
first rule it fails, in columns), then documents failing any family are removed: `decide` reads
only those columns, so `corpus select` can move any threshold of an annotate build."""
from __future__ import annotations

from typing import Callable

import pyarrow as pa

from corpusmill.pipeline.stage import Decision, Stage, Verdict
from corpusmill.stages.quality import gopher
from corpusmill.stages.quality.c4_fineweb import c4, c4_reason, fineweb_metrics, fineweb_reason
from corpusmill.stages.quality.options import QualityOptions
from corpusmill.stages.quality.words import Chunk, chunk_totals, no_space_chunks, spacy_chunks, words_for

FAMILIES = ("gopher_repetition", "gopher", "c4", "fineweb")
DOCUMENT_RULES = ("lorem_ipsum", "curly_bracket")  # C4's whole-document rules: switches, not thresholds
THRESHOLDS = (
    *(f"gopher_repetition.{k}" for k in ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac",
                                          "top_n_grams", "dup_n_grams")),
    *(f"gopher.{k}" for k in ("min_doc_words", "max_doc_words", "min_avg_word_length", "max_avg_word_length",
                               "max_symbol_word_ratio", "max_bullet_lines_ratio", "max_ellipsis_lines_ratio",
                               "max_non_alpha_words_ratio", "min_stop_words")),
    "c4.min_num_sentences",
    *(f"fineweb.{k}" for k in ("line_punct_thr", "line_punct_exclude_zero", "short_line_thr", "char_duplicates_ratio",
                                "new_line_ratio")),
)


def _unscale(key: str, scale: int) -> str:
    parts = key.split("_")  # top_4_gram_frac -> top_2_gram_frac
    if len(parts) > 2 and parts[1].isdigit():
        parts[1] = str(int(parts[1]) // scale)
    return "_".join(parts)


class Quality(Stage):
    name = "quality"
    Options = QualityOptions
    thresholds = THRESHOLDS
    removed_keep_input_text = True  # C4's rewrite is for the documents kept

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
            return not (o.annotate_all or self.annotating) and any(reasons.values())

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
            rewritten, metrics["c4"], rule, kept_words = c4(
                lines, line_chunks, o.c4, split, no_space, whitespace_chunks=o.word_tokenizer == "fast")
            reasons["c4"] = c4_reason(metrics["c4"], rule, o.c4)
            if o.c4.rewrite_text and rewritten is not None:  # FineWeb judges the lines C4 keeps
                new_text, n_words = rewritten, kept_words
        if o.fineweb and not done():
            short = o.no_space_short_line_length if no_space else o.fineweb.short_line_length
            metrics["fineweb"] = fineweb_metrics(new_text, n_words, o.fineweb, short)
            reasons["fineweb"] = fineweb_reason(metrics["fineweb"], o.fineweb)
        return new_text, metrics, reasons

    def process(self, batch: pa.Table) -> Decision:
        o = self.options
        texts = batch.column("text").to_pylist()
        langs = batch.column("lang").to_pylist() if "lang" in batch.column_names else [None] * len(texts)
        enabled = [f for f in FAMILIES if getattr(o, f) is not None]
        cols: dict[str, list] = {}
        new_texts: list[str | None] = []
        for i, (text, lang) in enumerate(zip(texts, langs)):
            lang = lang or o.default_language
            if text is None or lang in o.skip_languages:
                metrics, reasons, new_text = {}, {}, text
            else:
                new_text, metrics, reasons = self.judge(text, lang)
            new_texts.append(new_text)
            for f in enabled:
                cols.setdefault(f"quality.{f}.reason", []).append(reasons.get(f))
                for k, v in metrics.get(f, {}).items():
                    cols.setdefault(f"quality.{f}.{k}", [None] * i).append(v)
            for name, values in cols.items():  # families skipped for this row: nulls
                if len(values) < i + 1:
                    values.append(None)
        table = batch
        for name in sorted(cols):
            kind = pa.string() if name.endswith(".reason") else (
                pa.int64() if name.endswith((".words", ".stop_words", ".sentences", ".lines_dropped")) else pa.float64())
            table = table.append_column(name, pa.array(cols[name], kind))
        verdict = self.decide(table)
        for name, column in verdict.columns.items():
            table = table.set_column(table.schema.get_field_index(name), name, column)
        out_reasons = verdict.reasons
        for i, (reason, new_text) in enumerate(zip(out_reasons, new_texts)):
            if new_text is not None and (reason is None or self.annotating):  # annotate: every rewrite
                texts[i] = new_text
        table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
        return Decision(table, out_reasons)

    def decide(self, table: pa.Table) -> Verdict:
        """The first family (in datatrove's order) whose rules fail, from the metric columns; and each
        family's own reason column for these thresholds (null where the family did not run)."""
        o = self.options
        enabled = [f for f in FAMILIES if getattr(o, f) is not None]
        n = table.num_rows
        cols = {f: {name[len(f"quality.{f}."):]: table.column(name).to_pylist() for name in table.column_names
                    if name.startswith(f"quality.{f}.") and not name.endswith(".reason")} for f in enabled}
        stored = {f: table.column(f"quality.{f}.reason").to_pylist() for f in enabled}
        nulls = table.column("text").is_null().to_pylist()
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * n
        reasons: list[str | None] = []
        family_reasons: dict[str, list[str | None]] = {f: [None] * n for f in enabled}
        for i in range(n):
            lang = langs[i] or o.default_language
            if nulls[i] or lang in o.skip_languages:
                reasons.append(None)
                continue
            for f in enabled:
                m = {k: v[i] for k, v in cols[f].items() if v[i] is not None}
                if m or stored[f][i] is not None:  # neither: the family did not run (annotate_all: false)
                    family_reasons[f][i] = self._family_reason(f, m, lang, stored[f][i])
            reasons.append(next((f"{f}.{family_reasons[f][i]}" for f in enabled if family_reasons[f][i]), None))
        return Verdict(reasons, columns={f"quality.{f}.reason": pa.array(family_reasons[f], pa.string())
                                         for f in enabled})

    def _family_reason(self, family: str, m: dict, lang: str, c4_stored: str | None) -> str | None:
        o = self.options
        if family == "gopher_repetition":
            return gopher.repetition_reason(m, o.gopher_repetition)
        if family == "fineweb":
            return fineweb_reason(m, o.fineweb)
        if family == "gopher":
            return gopher.gopher_quality_reason(m, o.gopher, lang not in self._no_space_set())
        return c4_reason(m, c4_stored if c4_stored in DOCUMENT_RULES else None, o.c4)

    def _no_space_set(self) -> frozenset[str]:
        return frozenset(self.options.no_space_languages)

    def select_problem(self, annotated: "QualityOptions") -> str | None:
        """What `decide` could not re-decide exactly from an annotate build made with `annotated`."""
        o = self.options
        for fam, key in (("gopher_repetition", "top_n_grams"), ("gopher_repetition", "dup_n_grams")):
            new, old = getattr(o, fam), getattr(annotated, fam)
            if new is not None and old is not None:
                extra = sorted({n for n, _ in getattr(new, key)} - {n for n, _ in getattr(old, key)})
                if extra:
                    return f"quality.{fam}.{key}: n={extra} was not measured by the annotate build (only " \
                           f"{sorted(n for n, _ in getattr(old, key))}); change the fractions, not n"
        if o.c4 and annotated.c4 and annotated.c4.min_num_sentences == -1 and o.c4.min_num_sentences != -1:
            return "quality.c4.min_num_sentences: the annotate build had -1 (sentences not counted)"
        return None
