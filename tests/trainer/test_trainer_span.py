"""objective: span: T5's noise and length formula, corruption as a function of the sample index, an
encoder-decoder from the same Block, a tiny run that learns the spans far below the unigram entropy
and fills them better than a unigram guess, and the refusals (export, prompts without sentinels).
Resume and 2 ranks == 1 rank (DDP, FSDP) are parametrized in test_trainer.py / test_trainer_fsdp.py."""
from pathlib import Path

import numpy as np
import pytest
import torch

from corpusmill.trainer.data import MixtureData
from corpusmill.trainer.encdec import EncoderDecoder, make_model
from corpusmill.trainer.generate import fill_spans, load_model
from corpusmill.trainer.mlm import TRAIN, VALIDATION
from corpusmill.trainer.model import build_config
from corpusmill.trainer.span import compute_input_and_target_lengths, corrupt, corrupted_lengths, noise_mask
from corpusmill.trainer.span_prompt import parse_prompt, render_spans
from corpusmill.trainer.train import train
from trainer_fixtures import VOCAB, tiny_cfg


def _runs(mask):
    """Lengths of the runs of True in a boolean vector."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_t5_lengths_and_noise_statistics():
    assert compute_input_and_target_lengths(512) == (568, 114)  # T5's numbers for its 512-token inputs
    assert corrupted_lengths(568) == (512, 114)
    rng = np.random.default_rng(0)
    spans = []
    for _ in range(400):
        m = noise_mask(568, rng)
        assert m.sum() == 85 and len(_runs(m)) == 28 and not m[0]  # round(568 x .15), round(85 / 3); kept first
        spans += _runs(m).tolist()
    spans = np.array(spans)
    assert spans.mean() == pytest.approx(85 / 28)
    assert spans.min() == 1 and spans.max() >= 8 and 0.2 < (spans == 1).mean() < 0.5  # random lengths, not all 3
    # a high density with short spans (allowed by the config) would ask for more spans than kept tokens
    m = noise_mask(129, rng, density=0.6, mean_span=1.0)
    assert m.sum() == round(129 * 0.6) and len(_runs(m)) == 129 - m.sum()  # as many spans as kept runs allow


def test_corruption_round_trips_and_is_a_function_of_sample_index():
    tokens = np.random.default_rng(1).integers(3, VOCAB, size=(8, 65))
    ids = np.arange(100, 108)
    inp, tgt = corrupt(tokens, ids, 0, TRAIN, VOCAB, 2)
    assert inp.shape == (8, corrupted_lengths(65)[0]) and tgt.shape == (8, corrupted_lengths(65)[1])
    for row, x, y in zip(tokens, inp, tgt):  # inputs + targets give the window back, sentinel by sentinel
        assert x[-1] == y[-1] == 2
        fill, k = {}, None
        for t in y[:-1]:  # each sentinel, then its span
            if t >= VOCAB:
                k, fill[t - VOCAB] = t - VOCAB, []
            else:
                fill[k].append(t)
        out = [u for t in x[:-1] for u in (fill[t - VOCAB] if t >= VOCAB else [t])]
        assert (np.array(out) == row).all()
        assert list(y[y >= VOCAB]) == list(x[x >= VOCAB]) == list(range(VOCAB, VOCAB + len(fill)))
    halves = [corrupt(tokens[i:i + 4], ids[i:i + 4], 0, TRAIN, VOCAB, 2) for i in (0, 4)]
    for k in range(2):  # 1 rank x 8 == 2 ranks x 4: resume and world-size changes see the same corruption
        assert (np.concatenate([h[k] for h in halves]) == (inp, tgt)[k]).all()
    assert (corrupt(tokens, ids, 0, VALIDATION, VOCAB, 2)[1] != tgt).any()
    assert (corrupt(tokens, ids, 1, TRAIN, VOCAB, 2)[1] != tgt).any()


def test_encoder_decoder_attention_directions_and_head():
    c = build_config(VOCAB, 32, None, n_layer=2, n_head=2, d_model=32, objective="span")
    m = make_model(c).eval()
    assert isinstance(m, EncoderDecoder) and c.n_sentinels == 100
    assert m.embed.weight.shape[0] == VOCAB + 100 + 1 and c.decoder_start_id == VOCAB + 100
    x, y = torch.randint(0, VOCAB, (2, 20)), torch.randint(0, VOCAB + 100, (2, 6))
    logits, loss = m(x, y)
    assert logits.shape == (2, 6, VOCAB + 100)  # sentinels are predicted, the start row is not
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB + 100),
                                                                          y.reshape(-1)).item(), rel=1e-5)
    y2 = y.clone()
    y2[:, 4:] = (y2[:, 4:] + 1) % VOCAB
    assert torch.allclose(m(x, y2)[0][:, :5], logits[:, :5], atol=1e-6)  # the decoder does not see ahead
    x2 = x.clone()
    x2[:, -1] = (x2[:, -1] + 1) % VOCAB
    assert not torch.allclose(m(x2, y)[0][:, 0], logits[:, 0], atol=1e-6)  # cross-attention reaches the inputs
    assert not torch.allclose(m.trunk(x2)[:, 0], m.trunk(x)[:, 0], atol=1e-6)  # the encoder sees both ways
    names = {n for n, _ in m.named_parameters()}
    assert "dec_blocks.0.cross.kv.weight" in names and not any("cross" in n for n in names if n.startswith("blocks."))


@pytest.mark.slow
def test_span_tiny_run_learns_and_fills_better_than_unigram(tmp_path):
    cfg = tiny_cfg(tmp_path, objective="span", steps=100, global_batch_tokens=32 * 32, micro_batch_size=16,
                   lr=1e-2, eval_every=50, tensorboard=False)  # Muon + WSD, the defaults
    out = train(cfg)
    data = MixtureData(tmp_path / "mix", None, 0)
    counts = np.bincount(data.train.stream.slice(0, data.train.stream.total), minlength=VOCAB)
    p = counts[counts > 0] / counts.sum()
    unigram = float(-(p * np.log(p)).sum())  # ~4.9 nats: the best guess of a span token without context
    model, _ = load_model(cfg.output)
    windows = np.concatenate(list(data.val_batches(4, 16, 0, 1))).astype(np.int64)
    inp, tgt = corrupt(windows, np.arange(len(windows)), 1, VALIDATION, VOCAB, 2)
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(inp), torch.from_numpy(tgt))
    noise = (tgt < VOCAB) & (np.arange(tgt.shape[1]) < tgt.shape[1] - 1)  # span tokens: no sentinel, no final EOS
    nll = torch.nn.functional.cross_entropy(logits[torch.from_numpy(noise)], torch.from_numpy(tgt[noise]))
    assert out["val_loss"] < 0.5 * unigram and nll.item() < 0.5 * unigram, (out["val_loss"], nll.item(), unigram)
    # span filling, greedy and free-running: tokens right in place vs always guessing the commonest token
    right = total = 0
    for x, y in zip(inp, tgt):
        got = fill_spans(model, x.tolist(), 20, eos_id=2)
        truth = _spans(y.tolist())
        pred = _spans(got)
        for k, span in truth.items():
            right += sum(a == b for a, b in zip(pred.get(k, []), span))
            total += len(span)
    unigram_acc = float(np.isin(tgt[noise], [counts.argmax()]).mean())
    print(f"span loss {nll.item():.3f} vs unigram {unigram:.3f}; fill {right / total:.3f} vs {unigram_acc:.3f}")
    assert right / total > max(3 * unigram_acc, unigram_acc + 0.1), (right / total, unigram_acc)  # measured .17 vs .025


def _spans(ids):
    out, k = {}, None
    for t in ids:
        if t >= VOCAB:
            k = t - VOCAB
            out[k] = []
        elif t == 2 and k is not None and not out[k]:
            break
        elif k is not None:
            out[k].append(t)
    return out


def test_span_prompt_parsing_and_refusals(tmp_path):
    c = build_config(VOCAB, 32, None, n_layer=1, n_head=2, d_model=16, objective="span")
    enc = lambda text: [ord(ch) % VOCAB for ch in text]  # noqa: E731 (a byte-ish tokenizer for the parse)
    ids = parse_prompt("ab<X>c <extra_id_1>d", enc, c, 2)
    assert ids == [97, 98, VOCAB, 99, 32, VOCAB + 1, 100, 2]
    assert render_spans([VOCAB, 120, 121, VOCAB + 1, 122, 2], lambda r: "".join(map(chr, r)), c, 2) == \
        "<extra_id_0>xy<extra_id_1>z"
    with pytest.raises(ValueError, match="put <extra_id_0>"):
        parse_prompt("no sentinel here", enc, c, 2)
    with pytest.raises(ValueError, match="sentinels 0..99"):
        parse_prompt("a <extra_id_100>", enc, c, 2)
    from corpusmill.trainer.export import ExportError, check_exportable
    with pytest.raises(ExportError, match="cannot be exported as T5ForConditionalGeneration.*does not map: positions"):
        check_exportable(c.to_dict())
    check_exportable(build_config(VOCAB, 32, None, n_layer=1, n_head=2, d_model=16).to_dict())  # causal still does


def test_span_needs_an_eos(tmp_path):
    from corpusmill.common.config import ConfigError
    cfg = tiny_cfg(tmp_path, objective="span", steps=1, tensorboard=False)
    man = Path(cfg.data) / "manifest.json"
    man.write_text(man.read_text().replace('"eos_id": 2', '"eos_id": -1'))
    with pytest.raises(ConfigError, match="closes inputs and targets with EOS"):
        train(cfg)


def test_cli_generate_fills_gaps_and_refuses_a_prompt_without_one(tmp_path):
    """`corpus generate` on a span checkpoint with a real SentencePiece tokenizer (untrained weights: the
    format is checked, not the words): spans behind sentinels, and the refusal saying what to write."""
    import hashlib

    import sentencepiece as spm
    from click.testing import CliRunner

    from corpusmill.trainer import checkpoint as ckpt
    from corpusmill.trainer.cli import generate
    (tmp_path / "t.txt").write_text("the cat sat on the mat and the dog ran to the park.\n" * 200)
    spm.SentencePieceTrainer.train(input=str(tmp_path / "t.txt"), model_prefix=str(tmp_path / "tok"), vocab_size=40,
                                   model_type="bpe", bos_id=1, eos_id=2, minloglevel=2)
    model_file = tmp_path / "tok.model"
    c = build_config(40, 32, None, n_layer=1, n_head=2, d_model=16, objective="span")
    torch.manual_seed(0)
    m = make_model(c)
    tok = {"path": str(model_file), "vocab_size": 40, "bos_id": 1, "eos_id": 2,
           "tokenizer_sha256": hashlib.sha256(model_file.read_bytes()).hexdigest()}
    ckpt.save(tmp_path / "run" / "checkpoints", 1, {"model": m.state_dict(), "model_config": c.to_dict(), "step": 1,
                                                    "tokenizer": tok}, 1)
    r = CliRunner().invoke(generate, [str(tmp_path / "run"), "--prompt", "the cat <X> on the <Y>.", "--temperature",
                                      "0", "--max-new-tokens", "8"])
    assert r.exit_code == 0, r.output
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    ids = parse_prompt("the cat <X> on the <Y>.", sp.encode, c, 2)
    assert ids == [*sp.encode("the cat "), 40, *sp.encode(" on the "), 41, *sp.encode("."), 2]
    want = render_spans(fill_spans(m.eval(), ids, 8, eos_id=2), sp.decode, c, 2)

    assert r.output == want + "\n"  # the CLI: the recorded tokenizer, the prompt's sentinels, the spans as text
    r = CliRunner().invoke(generate, [str(tmp_path / "run"), "--prompt", "the cat sat"])
    assert r.exit_code == 1 and "put <extra_id_0> (or <X>)" in r.output


def test_fill_keeps_the_targets_form():
    """Whatever the model prefers, the filling opens with the prompt's first sentinel, writes its sentinels
    in order and no other, no empty span, and EOS only after the last span."""
    c = build_config(VOCAB, 32, None, n_layer=1, n_head=2, d_model=16, objective="span")
    m = make_model(c).eval()
    prefer = torch.full((c.n_outputs,), -10.0)
    for rank, t in enumerate([VOCAB + 5, VOCAB + 1, 2, 7]):  # an unasked sentinel first, then s1, EOS, a token
        prefer[t] = 10.0 - rank
    m.decode = lambda memory, dec: prefer.expand(1, dec.shape[1], -1)
    ids = [9, VOCAB, 11, 12, VOCAB + 1, 13, 2]
    assert fill_spans(m, ids, 20, eos_id=2) == [VOCAB, 7, VOCAB + 1, 7, 2]
    with pytest.raises(ValueError, match="no sentinel"):
        fill_spans(m, [9, 10, 2], 5, eos_id=2)
