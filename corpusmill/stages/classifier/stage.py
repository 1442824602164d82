"""The `classifier` stage: score every document with a fastText classifier (the probability of
`label`, in `classifier.score`), then remove those below `min_score`."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import Field

from corpusmill.common.config import ConfigPath, Strict
from corpusmill.pipeline.stage import Decision, Stage, Verdict
from corpusmill.stages import fasttext_model
from corpusmill.stages.classifier.text import one_line


class ClassifierOptions(Strict):
    model: ConfigPath = Field(description="fastText model file (e.g. from `corpus quality train`).")
    label: str = Field("hq", description="The label whose probability is the score.")
    min_score: float = Field(0.5, ge=0.0, le=1.0, description="Remove documents scoring below this.")
    max_chars: int | None = Field(
        None, gt=0, description="Score only the first characters (faster on long documents).")


class Classifier(Stage):
    name = "classifier"
    Options = ClassifierOptions
    loaded = ("_model",)  # reloaded in each worker, not pickled
    thresholds = ("min_score",)

    def setup(self) -> None:
        self._model = fasttext_model.load_model(self.options.model)
        known = fasttext_model.labels(self._model)
        if self.options.label not in known:
            raise ValueError(f"classifier: label {self.options.label!r} not in the model's labels {known}")

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probability of the label for each text (all labels asked, so it is never missing)."""
        n_labels = len(self._model.get_labels())
        cut = self.options.max_chars
        labels, probs = fasttext_model.predict(self._model, [one_line(t[:cut] if cut else t) for t in texts],
                                               k=n_labels)
        return np.array([float(p[row.index(self.options.label)]) for row, p in zip(labels, probs)],
                        dtype=np.float32).clip(0.0, 1.0)

    def process(self, batch: pa.Table) -> Decision:
        texts = batch.column("text").to_pylist()
        idx = [i for i, t in enumerate(texts) if t]
        score = np.full(len(texts), np.nan, dtype=np.float32)
        if idx:
            score[idx] = self.scores([texts[i] for i in idx])
        column = pa.array(score, pa.float32(), mask=np.isnan(score))
        table = batch.append_column("classifier.score", column)
        return Decision(table, self.decide(table).reasons)

    def decide(self, table: pa.Table) -> Verdict:
        """A document without text has no score and is kept."""
        low = self.options.min_score
        return Verdict([None if s is None or s >= low else "classifier_low_score"
                        for s in table.column("classifier.score").to_pylist()])
