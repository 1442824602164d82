"""fastText models shared by stages (langid, quality classifier): load once per process, predict
on a whole batch in one call."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

LABEL_PREFIX = "__label__"

_cache: dict[str, object] = {}
_lock = threading.Lock()


def load_model(path: str | os.PathLike):
    """The fastText model at `path`, loaded once per process (workers run many batches and stages)."""
    key = os.path.realpath(os.fspath(path))
    with _lock:
        model = _cache.get(key)
        if model is None:
            if not os.path.isfile(key):
                raise FileNotFoundError(f"fastText model not found: {path}")
            # _FastText directly: fasttext.load_model is a wrapper that, in upstream builds,
            # prints a deprecation warning to stderr in every worker.
            from fasttext.FastText import _FastText

            model = _cache[key] = _FastText(model_path=key)
        return model


def strip_label(label: str) -> str:
    """'__label__en' -> 'en', '__label__eng_Latn' -> 'eng_Latn'."""
    return label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label


def labels(model) -> list[str]:
    return [strip_label(x) for x in model.get_labels()]


def predict(model, texts: Sequence[str], k: int = 1) -> tuple[list[list[str]], list[np.ndarray]]:
    """Top-k labels (without '__label__') and float32 probabilities for each text, in one call.

    fastText predicts one line at a time and refuses '\\n', so newlines become spaces, as in
    datatrove's FastTextLID. A list goes to fastText's batch entry point: one call per batch.
    """
    raw_labels, probs = model.predict([t.replace("\n", " ") for t in texts], k=k)
    return [[strip_label(x) for x in row] for row in raw_labels], probs
