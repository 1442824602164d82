"""A held-out set of plain text files (`evaluate_files`): encoded once by the driver, scored on each
proxy's final checkpoint as bits per byte, the same measure the trainer logs for a source's
validation split (loss / ln 2 x the files' tokens per byte of text)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from corpusmill.common.config import ConfigError


def encode_files(files: list[str], tok, out: Path, max_tokens: int) -> dict:
    """The files' tokens (each a document: BOS ... EOS) in out (npy) and their tokens per byte."""
    docs, nbytes = [], 0
    for f in files:
        try:
            text = Path(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"evaluate_files: cannot read {f} as UTF-8 text ({e})") from None
        docs.append(tok.encode([text])[0])
        nbytes += len(text.encode())
    tokens = np.concatenate(docs).astype(np.int64) if docs else np.zeros(0, np.int64)
    if not nbytes:
        raise ConfigError(f"evaluate_files: {files} hold no text")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, tokens[:max_tokens])
    return {"path": str(out), "tokens_per_byte": len(tokens) / nbytes, "tokens": int(min(len(tokens), max_tokens))}


def files_bpb(run: Path, held: dict, seq_len: int, device: str, batch: int = 8) -> float:
    """Bits per byte of the run's final model over the files' tokens, in windows of seq_len + 1."""
    import torch

    from corpusmill.trainer.generate import load_model

    tokens = np.load(held["path"])
    n = (len(tokens) - 1) // seq_len
    if n < 1:
        raise ConfigError(f"evaluate_files: {held['tokens']} tokens, fewer than one window of seq_len + 1 "
                          f"({seq_len + 1}); give more text")
    starts = np.arange(n) * seq_len
    windows = np.stack([tokens[s:s + seq_len + 1] for s in starts])
    model, _ = load_model(run, device)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, batch):
            w = torch.from_numpy(windows[i:i + batch]).to(device)
            _, loss = model(w[:, :-1], w[:, 1:], reduction="sum")
            total, count = total + float(loss), count + w[:, 1:].numel()
    return total / count / math.log(2) * held["tokens_per_byte"]
