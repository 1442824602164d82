"""objective: span on real English text (../shared/data: Austen, Chesterton, Milton, Whitman,
Shakespeare cut into ~2,000-character documents; every 20th document held back as validation;
a SentencePiece BPE tokenizer trained here on the training documents).

1. corruption statistics of T5's noise on the real token stream, at T5's own window (568 tokens ->
   512 inputs, 114 targets) and at the run's window: measured noise density, spans per window,
   span lengths, sentinels, against T5's numbers (0.15, mean 3, 28 spans, 512/114)
2. a tiny encoder-decoder trained with `corpus train`'s loop: target loss (sentinels and EOS included)
   and span-token loss (only the corrupted tokens) on fixed held-out windows, against the unigram
   cross-entropy of those span tokens (a model without context)
3. span filling on held-out text: validation windows shaped as in training (6 spans each), and
   held-back sentences (validation documents split at sentence ends, 8-40 tokens, 1-2 spans), each
   corrupted by T5's noise: the true spans' log-likelihood per token under the model vs the unigram
   model, and greedy, free-running filling (generate.fill_spans): tokens right in place and spans
   exactly right, vs a unigram guess (the commonest token at every place, given the true lengths);
   and the model's own top token at each span place given the true prefix (teacher forced: the
   lengths given, as the unigram guess has them)
JSON lines."""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, shared_data, skip  # noqa: E402

from corpusmill.mixtures.shards import ShardMeta, ShardWriter  # noqa: E402

BOOKS = ["austen-emma.txt", "austen-persuasion.txt", "chesterton-thursday.txt", "milton-paradise.txt",
         "whitman-leaves.txt", "shakespeare-hamlet.txt"]


def documents() -> list[str]:
    """The books cut at line ends into ~2,000-character documents, shuffled (seed 0)."""
    docs = []
    for name in BOOKS:
        text = (shared_data() / "text" / "en" / "gutenberg" / name).read_text(encoding="utf-8", errors="replace")
        cur, size = [], 0
        for line in text.splitlines(keepends=True):
            cur.append(line)
            size += len(line)
            if size >= 2000:
                docs.append("".join(cur))
                cur, size = [], 0
    random.Random(0).shuffle(docs)
    return docs


def build(folder: Path, vocab: int, seq_len: int) -> tuple[dict, list[str]]:
    """Tokenizer + mixture (train/validation shards, manifest); returns facts and the held-out documents."""
    import sentencepiece as spm

    docs = documents()
    train_docs = [d for i, d in enumerate(docs) if i % 20]
    val_docs = [d for i, d in enumerate(docs) if not i % 20]
    model = folder / "tok.model"
    spm.SentencePieceTrainer.train(sentence_iterator=iter(train_docs), model_prefix=str(folder / "tok"),
                                   vocab_size=vocab, model_type="bpe", character_coverage=1.0,
                                   max_sentence_length=20000, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
                                   num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    sha = __import__("hashlib").sha256(model.read_bytes()).hexdigest()
    meta = ShardMeta(vocab_size=sp.get_piece_size(), bos_id=1, eos_id=2, tokenizer_sha256=sha)
    manifest = {"format": "corpusmill-mixture/1", "seq_len": seq_len, "seed": 0,
                "tokenizer": {"path": str(model), "vocab_size": sp.get_piece_size(), "bos_id": 1, "eos_id": 2,
                              "tokenizer_sha256": sha}}
    for split, chosen in (("train", train_docs), ("validation", val_docs)):
        w = ShardWriter(folder / f"{split}-00000.arrow", meta)
        w.write([np.array([1, *sp.encode(d), 2], dtype=np.uint16) for d in chosen], ["books"] * len(chosen))
        w.close()
        manifest[split] = {"shards": [{"file": f"{split}-00000.arrow", "documents": len(chosen), "tokens": w.tokens}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return {"documents": len(docs), "train_tokens": manifest["train"]["shards"][0]["tokens"],
            "val_tokens": manifest["validation"]["shards"][0]["tokens"], "vocab": sp.get_piece_size()}, val_docs


def corruption_stats(stream: np.ndarray, window: int, sp, n: int = 2000) -> dict:
    """T5's noise over n windows of the real token stream."""
    from corpusmill.trainer.span import corrupt, corrupted_lengths, noise_mask

    starts = np.random.default_rng(0).integers(0, len(stream) - window, size=n)
    rows = np.stack([stream[s:s + window] for s in starts]).astype(np.int64)
    lengths, noise, spans, inp_len, tgt_len, mid_word = [], 0, [], set(), set(), 0
    word_start = np.array([sp.id_to_piece(i).startswith("▁") for i in range(sp.get_piece_size())])
    for k, row in enumerate(rows):
        m = noise_mask(window, np.random.default_rng([0, 0, k]))  # corrupt()'s stream for sample k
        edges = np.diff(np.concatenate([[0], m.astype(int), [0]]))
        first, end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        lengths += (end - first).tolist()
        spans.append(len(first))
        noise += int(m.sum())
        mid_word += int((~word_start[row[first]]).sum())
    inp, tgt = corrupt(rows, np.arange(n), 0, 0, sp.get_piece_size(), 2)
    inp_len.add(inp.shape[1])
    tgt_len.add(tgt.shape[1])
    L = np.array(lengths)
    hist = {str(k): round(float((L == k).mean()), 4) for k in range(1, 6)}
    hist["6+"] = round(float((L >= 6).mean()), 4)
    sentinels = int((inp >= sp.get_piece_size()).sum(1).max())
    return {"window": window, "windows": n, "noise_density": round(noise / (n * window), 4),
            "spans_per_window": float(np.mean(spans)), "mean_span_length": round(float(L.mean()), 3),
            "span_length_share": hist, "max_span_length": int(L.max()),
            "spans_starting_mid_word": round(mid_word / len(L), 3), "sentinels_per_window": sentinels,
            "inputs_length": sorted(inp_len), "targets_length": sorted(tgt_len),
            "formula_inputs_targets": list(corrupted_lengths(window))}


def unigram(counts: np.ndarray) -> np.ndarray:
    """Add-one unigram log-probabilities from training counts (every token possible)."""
    p = (counts + 1) / (counts + 1).sum()
    return np.log(p)


def held_out_losses(model, data, logp: np.ndarray, vocab: int, batches: int) -> dict:
    """Target loss and span-token loss on fixed validation windows (the trainer's own corruption), and
    the unigram cross-entropy of the same span tokens."""
    import torch

    from corpusmill.trainer.mlm import VALIDATION
    from corpusmill.trainer.span import corrupt

    windows = np.concatenate(list(data.val_batches(batches, 16, 0, 1))).astype(np.int64)
    inp, tgt = corrupt(windows, np.arange(len(windows)), 0, VALIDATION, vocab, 2)
    with torch.no_grad():
        logits, loss = model(torch.from_numpy(inp), torch.from_numpy(tgt))
    span = (tgt < vocab) & (np.arange(tgt.shape[1]) < tgt.shape[1] - 1)  # no sentinel, not the closing EOS
    span_loss = torch.nn.functional.cross_entropy(logits[torch.from_numpy(span)], torch.from_numpy(tgt[span]))
    return {"windows": len(windows), "target_loss": round(loss.item(), 4),
            "span_token_loss": round(span_loss.item(), 4),
            "unigram_span_token_loss": round(float(-logp[tgt[span]].mean()), 4), "span_tokens": int(span.sum())}


def sentences(docs: list[str], sp, lo: int, hi: int, n: int) -> list[list[int]]:
    out = []
    for d in docs:
        for s in re.split(r"(?<=[.!?])\s+", " ".join(d.split())):
            ids = sp.encode(s)
            if lo <= len(ids) <= hi:
                out.append(ids)
    random.Random(1).shuffle(out)
    return out[:n]


def fill_benchmark(model, sents: list[list[int]], logp: np.ndarray, vocab: int) -> dict:
    """Each held-back sentence corrupted by T5's noise; the model fills it (greedy), the unigram guesses."""
    import torch

    from corpusmill.trainer.generate import fill_spans
    from corpusmill.trainer.span import corrupt

    top = int(np.argmax(logp))
    right = right_uni = right_forced = tokens = exact = exact_uni = n_spans = 0
    ll_model = ll_uni = 0.0
    for k, ids in enumerate(sents):
        inp, tgt = corrupt(np.array([ids], dtype=np.int64), [k], 7, 2, vocab, 2)
        truth = _spans(tgt[0].tolist(), vocab)
        with torch.no_grad():
            logits, _ = model(torch.from_numpy(inp), torch.from_numpy(tgt))
        lp = torch.log_softmax(logits[0].float(), -1).numpy()
        is_span = tgt[0] < vocab
        is_span[-1] = False
        ll_model += float(lp[np.flatnonzero(is_span), tgt[0][is_span]].sum())
        ll_uni += float(logp[tgt[0][is_span]].sum())
        right_forced += int((lp[is_span].argmax(-1) == tgt[0][is_span]).sum())  # given the true prefix and lengths
        pred = _spans(fill_spans(model, inp[0].tolist(), 3 * tgt.shape[1], eos_id=2), vocab)
        for j, span in truth.items():
            got = pred.get(j, [])
            right += sum(a == b for a, b in zip(got, span))
            right_uni += sum(b == top for b in span)
            exact += got == span
            exact_uni += all(b == top for b in span)
            tokens += len(span)
            n_spans += 1
    return {"sentences": len(sents), "spans": n_spans, "span_tokens": tokens,
            "model_nll_per_span_token": round(-ll_model / tokens, 4),
            "unigram_nll_per_span_token": round(-ll_uni / tokens, 4),
            "model_tokens_right": round(right / tokens, 4), "unigram_tokens_right": round(right_uni / tokens, 4),
            "model_teacher_forced_tokens_right": round(right_forced / tokens, 4),
            "model_spans_exact": round(exact / n_spans, 4), "unigram_spans_exact": round(exact_uni / n_spans, 4)}


def _spans(ids: list[int], vocab: int) -> dict[int, list[int]]:
    """Decoder output -> {sentinel number: its span}; stops at EOS."""
    out, k = {}, None
    for t in ids:
        if t == 2:
            break
        if t >= vocab:
            k = t - vocab
            out[k] = []
        elif k is not None:
            out[k].append(t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=2000)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--layers", type=int, default=2, help="encoder layers = decoder layers")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy machine)")
    ap.add_argument("--sentences", type=int, default=300)
    ap.add_argument("--val-batches", type=int, default=8)
    a = ap.parse_args()
    if not (shared_data() / "text" / "en" / "gutenberg").is_dir():
        skip("span", f"no {shared_data()}/text/en/gutenberg")
    import sentencepiece as spm
    import torch

    from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec
    from corpusmill.trainer.data import MixtureData
    from corpusmill.trainer.generate import load_model
    from corpusmill.trainer.train import train

    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "mix").mkdir()
        t0 = time.perf_counter()
        facts, val_docs = build(d / "mix", a.vocab, a.seq_len)
        emit({"bench": "span", "mixture": facts, "args": vars(a), "seconds": round(time.perf_counter() - t0, 1)})
        sp = spm.SentencePieceProcessor(model_file=str(d / "mix" / "tok.model"))
        data = MixtureData(d / "mix", None, 0)
        stream = data.train.stream.slice(0, data.train.stream.total).astype(np.int64)
        for window in (568, a.seq_len + 1):  # T5's window, the run's
            emit({"bench": "span", "corruption": corruption_stats(stream, window, sp),
                  "t5": {"noise_density": 0.15, "mean_span_length": 3.0, "spans_per_window_568": 28,
                         "inputs_targets_568": [512, 114]}})
        cfg = TrainConfig(data=str(d / "mix"), output=str(d / "run"),
                          model=ModelSpec(n_layer=a.layers, n_head=a.heads, d_model=a.d_model, objective="span"),
                          train=TrainSpec(steps=a.steps, global_batch_tokens=a.batch * a.seq_len,
                                          micro_batch_size=a.batch, lr=a.lr, warmup_steps=20, eval_every=a.steps // 4,
                                          eval_batches=4, ckpt_every=0, keep_last=1, cpu_threads=a.threads,
                                          progress=False, tensorboard=False))
        t0 = time.perf_counter()
        out = train(cfg)
        logp = unigram(np.bincount(stream, minlength=facts["vocab"]))
        model, _ = load_model(cfg.output)
        emit({"bench": "span", "train": {k: out[k] for k in ("step", "first_loss", "last_loss", "val_loss")},
              "seconds": round(time.perf_counter() - t0, 1), "params": model.num_params(False),
              "held_out": held_out_losses(model, data, logp, facts["vocab"], a.val_batches)})
        windows = np.concatenate(list(data.val_batches(a.val_batches, 16, 0, 1))).tolist()[:a.sentences]
        emit({"bench": "span", "fill": {"text": "held-out windows (6 spans each)",
                                        **fill_benchmark(model, windows, logp, facts["vocab"])}})
        sents = sentences(val_docs, sp, 8, min(40, a.seq_len), a.sentences)
        emit({"bench": "span", "fill": {"text": "held-back sentences (8-40 tokens)",
                                        **fill_benchmark(model, sents, logp, facts["vocab"])}})
        for prompt in ("It is a truth <X> acknowledged, that a single man in possession of a good fortune, "
                       "must be in want <Y> wife.",):
            from corpusmill.trainer.generate import generate_text
            emit({"bench": "span", "prompt": prompt, "filled": generate_text(cfg.output, prompt, 30, 0.0, None, 0,
                                                                              None, "cpu")})


if __name__ == "__main__":
    main()
