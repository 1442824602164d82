"""objective: mlm: BERT-style masking statistics and determinism, a bidirectional model whose
[MASK] row is never predicted, and a tiny run that learns well below the unigram entropy."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from corpusmill.trainer.data import MixtureData
from corpusmill.trainer.metrics import read_metrics
from corpusmill.trainer.mlm import IGNORE, TRAIN, VALIDATION, mask_tokens
from corpusmill.trainer.model import GPT, build_config
from corpusmill.trainer.train import train
from trainer_fixtures import VOCAB, tiny_cfg


def test_masking_statistics_80_10_10():
    V = 32000  # a random replacement rarely equals the original
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, V, size=(512, 256))
    inputs, labels = mask_tokens(tokens, np.arange(512), seed=3, split=TRAIN, vocab_size=V, mask_id=V)
    sel = labels != IGNORE
    assert sel.mean() == pytest.approx(0.15, abs=0.005)  # 131k positions: 5 sigma is 0.005
    assert (labels[sel] == tokens[sel]).all() and (inputs[~sel] == tokens[~sel]).all()
    n = sel.sum()
    masked = (inputs[sel] == V).sum() / n
    kept = (inputs[sel] == tokens[sel]).sum() / n
    rand = 1 - masked - kept
    assert masked == pytest.approx(0.8, abs=0.015) and rand == pytest.approx(0.1, abs=0.01)
    assert kept == pytest.approx(0.1, abs=0.01)
    assert inputs.max() <= V and labels.max() < V  # [MASK] is an input only, never a label


def test_masking_is_a_function_of_sample_index():
    tokens = np.random.default_rng(1).integers(3, VOCAB, size=(8, 64))
    ids = np.arange(100, 108)
    whole = mask_tokens(tokens, ids, 0, TRAIN, VOCAB, VOCAB)
    halves = [mask_tokens(tokens[i:i + 4], ids[i:i + 4], 0, TRAIN, VOCAB, VOCAB) for i in (0, 4)]
    for k in range(2):  # 1 rank x 8 samples == 2 ranks x 4: resume and world-size changes see the same masks
        assert (np.concatenate([h[k] for h in halves]) == whole[k]).all()
    assert (mask_tokens(tokens, ids, 0, TRAIN, VOCAB, VOCAB)[0] == whole[0]).all()
    assert (mask_tokens(tokens, ids, 0, VALIDATION, VOCAB, VOCAB)[1] != whole[1]).any()
    assert (mask_tokens(tokens, ids, 1, TRAIN, VOCAB, VOCAB)[1] != whole[1]).any()


@pytest.mark.parametrize("tie", [True, False])
def test_mlm_model_is_bidirectional_and_never_predicts_mask(tie):
    m = GPT(build_config(VOCAB, 16, None, n_layer=2, n_head=2, d_model=32, objective="mlm", tie_embeddings=tie)).eval()
    assert m.embed.weight.shape[0] == VOCAB + 1 and m.config.mask_id == VOCAB
    x = torch.randint(0, VOCAB, (2, 16))
    x[:, 3] = VOCAB  # [MASK] as input
    logits, _ = m(x)
    assert logits.shape == (2, 16, VOCAB)  # no logit for [MASK]
    y = x.clone()
    y[:, 10:] = (y[:, 10:] + 1) % VOCAB
    assert not torch.allclose(m(y)[0][:, :5], logits[:, :5], atol=1e-5)  # later tokens reach earlier ones
    labels = torch.full_like(x, IGNORE)
    labels[:, 3] = 7
    _, loss = m(x, labels)
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits[:, 3], labels[:, 3]).item(), rel=1e-5)
    loss.backward()
    assert m.embed.weight.grad[VOCAB].abs().sum() > 0  # the [MASK] row learns from its input use


def test_mlm_tiny_run_learns_below_unigram_entropy(tmp_path):
    # AdamW + cosine, as calibrated: Muon is already below 0.9 x unigram at the first validation (step 20)
    cfg = tiny_cfg(tmp_path, objective="mlm", steps=120, global_batch_tokens=32 * 32, micro_batch_size=16,
                   lr=1e-2, eval_every=20, optimizer="adamw", schedule="cosine")
    out = train(cfg)
    data = MixtureData(tmp_path / "mix", None, 0)
    counts = np.bincount(data.train.stream.slice(0, data.train.stream.total), minlength=VOCAB)
    p = counts[counts > 0] / counts.sum()
    unigram = float(-(p * np.log(p)).sum())  # the best a model can do without context: ~4.9 nats here
    val = [r for r in read_metrics(Path(cfg.output) / "metrics.jsonl") if r["kind"] == "val"]
    assert val[0]["loss"] > 0.9 * unigram  # it starts near chance ...
    assert out["val_loss"] < 0.6 * unigram, (out, unigram)  # ... and uses the context both ways
    assert val[-1]["ppl"] == pytest.approx(math.exp(val[-1]["loss"]))
    from corpusmill.trainer.generate import generate_text  # an encoder cannot continue text
    with pytest.raises(ValueError, match="masked-LM encoder"):
        generate_text(cfg.output, "x", 5, 0.0, None, 0, None, "cpu")
