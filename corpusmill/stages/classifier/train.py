"""`corpus quality train`: a fastText classifier of good (`hq`) against bad (`lq`) text, with a
deterministic held-out split and its accuracy, precision and recall in a JSON card."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator, Literal

import pyarrow.parquet as pq

from corpusmill.common.artifact import build_documents, is_build
from corpusmill.common.files import TMP_MARK
from corpusmill.stages import fasttext_model
from corpusmill.stages.classifier.text import one_line

Unit = Literal["line", "paragraph", "file"]


def read_texts(path: str, unit: Unit = "paragraph", text_key: str = "text", min_chars: int = 50) -> Iterator[str]:
    """Documents from a text file (by line, paragraph or whole file), JSONL, Parquet or a folder
    of Parquet parts (a `corpus build` output). Short pieces (< min_chars) are skipped."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if p.is_dir() and is_build(p):  # only its kept documents, and only when the build finished
        p = build_documents(p, f"quality train: {path}")[0]
    files = sorted(f for f in p.rglob("*") if f.suffix in (".parquet", ".jsonl", ".json", ".txt")
                   and TMP_MARK not in f.name) if p.is_dir() else [p]
    for f in files:
        if f.suffix == ".parquet":
            for batch in pq.ParquetFile(f).iter_batches(columns=[text_key]):
                yield from (t for t in batch.column(0).to_pylist() if t and len(t) >= min_chars)
        elif f.suffix in (".jsonl", ".json"):
            with open(f, encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    try:
                        t = json.loads(line).get(text_key) if line.strip() else None
                    except (ValueError, AttributeError):
                        raise ValueError(f"{f}, line {n}: not JSON lines (one object per line with a "
                                         f"{text_key!r} field)") from None
                    if isinstance(t, str) and len(t) >= min_chars:
                        yield t
        else:
            raw = f.read_text(encoding="utf-8", errors="replace")
            pieces = {"line": raw.splitlines(), "paragraph": raw.split("\n\n"), "file": [raw]}[unit]
            yield from (t for t in (x.strip() for x in pieces) if len(t) >= min_chars)


def _held_out(text: str, fraction: float, seed: int) -> bool:
    h = hashlib.sha1(f"{seed}\0{text}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


def train(positive: list[str], negative: list[str], output: str, *, unit: Unit = "paragraph",
          valid_fraction: float = 0.1, seed: int = 0, epoch: int = 5, lr: float = 0.1, word_ngrams: int = 2,
          dim: int = 64, threads: int = 1, max_chars: int | None = 20_000, balance: bool = True) -> dict:
    """Trains, evaluates on the held-out share, writes OUTPUT and OUTPUT.json; returns the card.
    threads=1 keeps training deterministic (fastText is not, across threads)."""
    import fasttext

    def examples(paths: list[str], label: str) -> list[str]:
        out = [f"__label__{label} {one_line(t[:max_chars] if max_chars else t)}" for p in paths for t in read_texts(p, unit)]
        return sorted(set(out))  # deterministic order, no example twice

    pos, neg = examples(positive, "hq"), examples(negative, "lq")
    if not pos or not neg:
        raise ValueError(f"need both classes: {len(pos)} positive and {len(neg)} negative examples")
    if balance:  # equal classes: the score then reads as a probability, not a prior
        n = min(len(pos), len(neg))
        pos, neg = _subsample(pos, n, seed), _subsample(neg, n, seed)
    train_rows, valid_rows = [], []
    for row in pos + neg:
        (valid_rows if _held_out(row, valid_fraction, seed) else train_rows).append(row)
    with tempfile.TemporaryDirectory() as tmp:
        train_file = os.path.join(tmp, "train.txt")
        Path(train_file).write_text("\n".join(_shuffled(train_rows, seed)) + "\n", encoding="utf-8")
        model = fasttext.train_supervised(input=train_file, epoch=epoch, lr=lr, wordNgrams=word_ngrams, dim=dim,
                                          thread=threads, seed=seed, verbose=0)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    model.save_model(output)
    card = {"positive": positive, "negative": negative, "unit": unit, "examples": {"hq": len(pos), "lq": len(neg)},
            "train": len(train_rows), "held_out": len(valid_rows),
            "settings": {"epoch": epoch, "lr": lr, "word_ngrams": word_ngrams, "dim": dim, "seed": seed,
                         "valid_fraction": valid_fraction, "max_chars": max_chars},
            **evaluate(output, valid_rows)}
    Path(output + ".json").write_text(json.dumps(card, indent=1))
    return card


def evaluate(model_path: str, rows: list[str]) -> dict:
    """Accuracy, and precision/recall of `hq`, on labelled rows ('__label__X text')."""
    model = fasttext_model.load_model(model_path)
    if not rows:
        return {"held_out_accuracy": None}
    gold = [r.split(" ", 1)[0][len("__label__"):] for r in rows]
    pred, _ = fasttext_model.predict(model, [r.split(" ", 1)[1] if " " in r else "" for r in rows])
    pred = [p[0] for p in pred]
    tp = sum(g == p == "hq" for g, p in zip(gold, pred))
    return {"held_out_accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(rows), 4),
            "hq_precision": round(tp / max(1, sum(p == "hq" for p in pred)), 4),
            "hq_recall": round(tp / max(1, sum(g == "hq" for g in gold)), 4)}


def _subsample(rows: list[str], n: int, seed: int) -> list[str]:
    return sorted(rows, key=lambda r: hashlib.sha1(f"{seed}\1{r}".encode()).digest())[:n]


def _shuffled(rows: list[str], seed: int) -> list[str]:
    return sorted(rows, key=lambda r: hashlib.sha1(f"{seed}\2{r}".encode()).digest())
