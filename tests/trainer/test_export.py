"""Export to Hugging Face (issue 7): a SentencePiece tokenizer and a short training run on real text,
exported with `corpus export` and loaded back by transformers offline: the same logits, the same
greedy continuation (HF's KV-cache path), the same token ids; and the refusals."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import shared

os.environ.setdefault("HF_HUB_OFFLINE", "1")
transformers = pytest.importorskip(
    "transformers", reason="the Hugging Face export is tested through transformers: pip install 'corpusmill[hf]'")
pytest.importorskip("safetensors", reason="export writes safetensors: pip install 'corpusmill[hf]'")

from corpusmill.mixtures.shards import ShardMeta, ShardWriter  # noqa: E402
from corpusmill.tokenizer.model import Tokenizer, load_tokenizer  # noqa: E402
from corpusmill.tokenizer.settings import SpmSettings  # noqa: E402
from corpusmill.tokenizer.train import run_sentencepiece  # noqa: E402
from corpusmill.trainer import checkpoint as ckpt  # noqa: E402
from corpusmill.trainer.cli import export as export_cmd  # noqa: E402
from corpusmill.trainer.config import ModelSpec, TrainConfig, TrainSpec  # noqa: E402
from corpusmill.trainer.export import ExportError, compare_logits, export  # noqa: E402
from corpusmill.trainer.generate import load_model, sample  # noqa: E402
from corpusmill.trainer.model import GPT, GPTConfig  # noqa: E402
from corpusmill.trainer.train import train  # noqa: E402

SYMBOL = "<|endoftext|>"
SEQ = 64
TOL = 1e-4  # float32


def _texts(text: Path) -> dict[str, list[str]]:
    """Training paragraphs and held-out paragraphs (English), plus Chinese lines."""
    en = (text / "en" / "tinyshakespeare.txt").read_text()
    paras = [p for p in en.split("\n\n") if p.strip()]
    zh = [ln for ln in (text / "zh" / "hongloumeng.txt").read_text().splitlines() if ln.strip()]
    return {"train": paras[:3000], "heldout": paras[-400:], "zh_train": zh[:300], "zh_heldout": zh[1000:1100]}


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    return _texts(shared("text"))


@pytest.fixture(scope="module")
def tok_dir(texts, tmp_path_factory) -> Path:
    """LLaMA-style SentencePiece BPE (byte fallback, split digits, a user-defined symbol)."""
    out = tmp_path_factory.mktemp("tok")
    sample = out / "sample.txt"
    sample.write_text("\n".join(texts["train"] + texts["zh_train"]))
    model = run_sentencepiece(sample, SpmSettings(vocab_size=3000, character_coverage=0.995,
                                                  user_defined_symbols=[SYMBOL], num_threads=1), seed=0, cpus=1)
    (out / "tokenizer.model").write_bytes(model)
    return out


@pytest.fixture(scope="module")
def run(texts, tok_dir, tmp_path_factory) -> Path:
    """A mixture of real encoded text and 200 training steps of a 2-layer model on it."""
    root = tmp_path_factory.mktemp("run")
    tok = load_tokenizer(tok_dir)
    meta = ShardMeta(vocab_size=tok.vocab_size, bos_id=tok.bos_id, eos_id=tok.eos_id, tokenizer_sha256=tok.sha256)
    mix = root / "mix"
    mix.mkdir()
    splits = {}
    for split, docs in (("train", texts["train"]), ("validation", texts["heldout"][:50])):
        w = ShardWriter(mix / f"{split}-00000.arrow", meta)
        w.write([a.astype(np.uint16) for a in tok.encode(docs)], ["shakespeare"] * len(docs))
        w.close()
        splits[split] = {"shards": [{"file": f"{split}-00000.arrow", "documents": len(docs), "tokens": w.tokens}]}
    manifest = {"format": "corpusmill-mixture/1", "seq_len": SEQ, "seed": 0,
                "tokenizer": {"path": str(tok_dir / "tokenizer.model"), "vocab_size": tok.vocab_size,
                              "bos_id": tok.bos_id, "eos_id": tok.eos_id, "tokenizer_sha256": tok.sha256}, **splits}
    (mix / "manifest.json").write_text(json.dumps(manifest))
    cfg = TrainConfig(data=str(mix), output=str(root / "out"), model=ModelSpec(n_layer=2, n_head=4, d_model=64),
                      train=TrainSpec(steps=200, global_batch_tokens=SEQ * 8, micro_batch_size=8, lr=3e-3,
                                      warmup_steps=5, eval_every=0, ckpt_every=0, keep_last=1, progress=False,
                                      seed=0, cpu_threads=1, tensorboard=False))
    out = train(cfg)
    assert out["last_loss"] < out["first_loss"] - 1.0, out  # it learned something: logits are not noise
    return root / "out"


@pytest.fixture(scope="module")
def hf_dir(run, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("hf") / "export"
    r = CliRunner().invoke(export_cmd, [str(run), "--output", str(out), "--verify"])
    assert r.exit_code == 0, r.output
    return out, json.loads(r.stdout)


def _batch(tok: Tokenizer, texts: list[str], n: int = 4) -> torch.Tensor:
    """n windows of SEQ real tokens from held-out text (never trained on)."""
    flat = np.concatenate(tok.encode(texts[:80]))
    return torch.from_numpy(flat[: n * SEQ].astype(np.int64)).view(n, SEQ)


def _meta_permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """Meta's convert_llama_weights_to_hf permutation: the q/k rows an interleaved-RoPE model would need."""
    d_out, d_in = w.shape
    return w.view(n_head, d_out // n_head // 2, 2, d_in).transpose(1, 2).reshape(d_out, d_in)


def test_export_files_and_config(run, hf_dir):
    out, summary = hf_dir
    state = ckpt.load(ckpt.resolve(run))
    mc = state["model_config"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["model.safetensors", "config.json", "generation_config.json", "tokenizer.model", "tokenizer.json",
         "tokenizer_config.json"])
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["hidden_act"] == "silu"
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]) == \
        (64, 2, 4, 4)
    assert cfg["intermediate_size"] == GPTConfig(**mc).ffn_hidden and cfg["vocab_size"] == 3000
    assert cfg["max_position_embeddings"] == SEQ and cfg["tie_word_embeddings"] is True
    assert (cfg["bos_token_id"], cfg["eos_token_id"]) == (1, 2) and cfg["torch_dtype"] == "float32"
    assert (out / "tokenizer.model").read_bytes() == (Path(state["tokenizer"]["path"])).read_bytes()
    assert summary["max_abs_logit_diff"] < TOL  # --verify's own comparison
    hf = transformers.LlamaForCausalLM.from_pretrained(out)
    ours, _ = load_model(run)
    assert sum(p.numel() for p in hf.parameters()) == sum(p.numel() for p in ours.parameters())
    assert hf.lm_head.weight.data_ptr() == hf.model.embed_tokens.weight.data_ptr()  # tied, as ours


def test_logits_match_transformers(run, hf_dir, tok_dir, texts):
    out, _ = hf_dir
    ids = _batch(load_tokenizer(tok_dir), texts["heldout"])
    diff = compare_logits(run, out, ids)
    print(f"\nmax |logits ours - transformers| on {tuple(ids.shape)} real tokens: {diff:.3g}")
    assert diff < TOL
    # the comparison can tell a wrong export: logits spread far wider than the tolerance, and the
    # q/k rows permuted for interleaved RoPE (Meta's layout, which ours is not) move them by far more
    ours, _ = load_model(run)
    with torch.no_grad():
        ref = ours(ids)[0]
        assert ref.std() > 1.0
        hf = transformers.LlamaForCausalLM.from_pretrained(out).eval()
        for proj in ("q_proj", "k_proj"):
            w = getattr(hf.model.layers[0].self_attn, proj).weight
            w.copy_(_meta_permute(w.clone(), 4))
        assert (hf(input_ids=ids).logits - ref).abs().max() > 1000 * TOL


def test_greedy_generation_identical(run, hf_dir, tok_dir, texts):
    out, _ = hf_dir
    tok = load_tokenizer(tok_dir)
    ours, state = load_model(run)
    hf = transformers.LlamaForCausalLM.from_pretrained(out).eval()
    eos = state["tokenizer"]["eos_id"]
    checked = 0
    long = [t for t in texts["heldout"][100:] if len(tok.encode([t])[0]) > 40][:4]  # prompts cut mid-text
    for text in long:
        prompt = [int(i) for i in tok.encode([text], add_eos=False)[0][:24]]
        mine = sample(ours, prompt, 20, temperature=0, eos_id=eos)
        x = torch.tensor([prompt])
        with torch.no_grad():
            gen = hf.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=20, do_sample=False)
        theirs = gen[0, len(prompt):].tolist()
        assert mine == theirs, (tok.decode(prompt), tok.decode(mine), tok.decode(theirs))
        checked += len(mine)
    assert checked >= 40


def test_tokenizer_round_trip(hf_dir, tok_dir, texts):
    out, _ = hf_dir
    tok = load_tokenizer(tok_dir)
    hf = transformers.AutoTokenizer.from_pretrained(out)
    assert (hf.bos_token_id, hf.eos_token_id, hf.unk_token_id, hf.pad_token_id) == (1, 2, 0, 3)
    samples = texts["heldout"] + texts["zh_heldout"] + [
        " leading space", "  two  spaces\n\n\ttab 1234567 x  ", f"doc one{SYMBOL}doc two", f"{SYMBOL}start",
        f"a {SYMBOL} b", "literal <s> and </s> stay text", "unseen: ☃ 😀 ß ﬁ", "", " ", "\n"]
    for text in samples:
        ids = [int(i) for i in tok.encode([text], add_bos=True, add_eos=False)[0]]
        got = hf(text)["input_ids"]
        assert got == ids, (text, tok.sp.encode(text, out_type=str), hf.convert_ids_to_tokens(got))
        assert hf.decode(got, skip_special_tokens=True) == tok.decode(ids[1:]) == text


def test_untied_nondefault_config_from_random_weights(tmp_path):
    """Untied head, another RoPE theta, norm eps and FFN width, weights far from init: the config
    fields must reach transformers (a default there would move the logits)."""
    c = GPTConfig(vocab_size=500, seq_len=48, n_layer=2, n_head=2, d_model=64, ffn_mult=4.0, tie_embeddings=False,
                  rope_theta=1000.0, norm_eps=1e-3)
    torch.manual_seed(0)
    m = GPT(c)
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(torch.rand_like(p) + 0.5 if p.ndim == 1 else torch.randn_like(p) * 0.15)
    ckpt.save(tmp_path / "ck", 7, {"model": m.state_dict(), "model_config": c.to_dict(), "step": 7}, keep_last=1)
    summary = export(tmp_path / "ck", tmp_path / "hf")
    assert summary["step"] == 7 and "tokenizer.model" not in summary["files"]  # none recorded: model only
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "hf")
    assert hf.config.rope_parameters["rope_theta"] == 1000.0 and hf.config.rms_norm_eps == 1e-3
    assert hf.config.intermediate_size == 256 and not hf.config.tie_word_embeddings
    ids = torch.randint(0, 500, (3, 48), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert m.eval()(ids)[0].std() > 1.0
    diff = compare_logits(tmp_path / "ck", tmp_path / "hf", ids)
    print(f"\nmax |logits ours - transformers|, untied random weights: {diff:.3g}")
    assert diff < TOL
    # greedy through HF's KV cache, positions up to 44: a spread of tokens, not one repeated
    prompt = ids[0, :24].tolist()
    mine = sample(m, prompt, 20, temperature=0)
    with torch.no_grad():
        gen = hf.eval().generate(ids[:1, :24], attention_mask=torch.ones(1, 24, dtype=torch.long), max_new_tokens=20,
                                 do_sample=False)
    assert gen[0, 24:].tolist() == mine and len(set(mine)) > 5


def test_unigram_tokenizer_copied_with_a_note(texts, tmp_path):
    """A tokenizer the converter cannot reproduce exactly is copied as tokenizer.model, not converted."""
    (tmp_path / "s.txt").write_text("\n".join(texts["train"][:1500]))
    model = run_sentencepiece(tmp_path / "s.txt", SpmSettings(vocab_size=400, model_type="unigram", num_threads=1),
                              seed=0, cpus=1)
    (tmp_path / "uni.model").write_bytes(model)
    c = GPTConfig(vocab_size=400, seq_len=16, n_layer=1, n_head=2, d_model=32)
    ckpt.save(tmp_path / "ck", 1, {"model": GPT(c).state_dict(), "model_config": c.to_dict()}, keep_last=1)
    summary = export(tmp_path / "ck", tmp_path / "hf", tokenizer=str(tmp_path / "uni.model"))
    assert "tokenizer.model" in summary["files"] and "tokenizer.json" not in summary["files"]
    assert not (tmp_path / "hf" / "tokenizer_config.json").exists()
    assert "not a BPE model" in (tmp_path / "hf" / "tokenizer.README").read_text() and "BPE" in summary["tokenizer"]
    assert (tmp_path / "hf" / "tokenizer.model").read_bytes() == model
    with pytest.raises(ExportError, match="400 pieces"):  # a tokenizer of another size
        c2 = GPTConfig(vocab_size=500, seq_len=16, n_layer=1, n_head=2, d_model=32)
        ckpt.save(tmp_path / "ck2", 1, {"model": GPT(c2).state_dict(), "model_config": c2.to_dict()}, keep_last=1)
        export(tmp_path / "ck2", tmp_path / "hf2", tokenizer=str(tmp_path / "uni.model"))


def test_half_precision_export(run, tmp_path):
    from safetensors import safe_open

    r = CliRunner().invoke(export_cmd, [str(run), "-o", str(tmp_path / "bf16"), "--dtype", "bfloat16"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["torch_dtype"] == "bfloat16"
    sd = ckpt.load(ckpt.resolve(run))["model"]
    d = 64
    with safe_open(str(tmp_path / "bf16" / "model.safetensors"), "pt") as f:
        k = f.get_tensor("model.layers.1.self_attn.k_proj.weight")
        up = f.get_tensor("model.layers.0.mlp.up_proj.weight")
    h = up.shape[0]
    assert k.dtype == torch.bfloat16 and torch.equal(k, sd["blocks.1.attn.qkv.weight"][d:2 * d].bfloat16())
    assert torch.equal(up, sd["blocks.0.mlp.gate_up.weight"][h:].bfloat16())
    hf = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "bf16")
    assert hf.dtype == torch.bfloat16


def test_refusals(tmp_path):
    c = GPTConfig(vocab_size=64, seq_len=16, n_layer=1, n_head=2, d_model=32)
    sd = GPT(c).state_dict()
    if "objective" in GPTConfig.__dataclass_fields__:  # a real masked-LM checkpoint
        m = GPTConfig(**{**c.to_dict(), "objective": "mlm"})
        mlm = {"model": GPT(m).state_dict(), "model_config": m.to_dict()}
    else:
        mlm = {"model": sd, "model_config": {**c.to_dict(), "objective": "mlm"}}
    ckpt.save(tmp_path / "mlm", 1, mlm, keep_last=1)
    r = CliRunner().invoke(export_cmd, [str(tmp_path / "mlm"), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1 and "objective='mlm'" in r.output and "causal" in r.output, r.output
    assert not (tmp_path / "out").exists()  # refused before writing anything
    # a causal objective named explicitly exports
    ckpt.save(tmp_path / "clm", 1, {"model": sd, "model_config": {**c.to_dict(), "objective": "causal"}}, keep_last=1)
    assert export(tmp_path / "clm", tmp_path / "clm-out")["files"][0] == "model.safetensors"
    # a model field the exporter does not know might change the forward pass
    ckpt.save(tmp_path / "gqa", 1, {"model": sd, "model_config": {**c.to_dict(), "n_kv_head": 1}}, keep_last=1)
    with pytest.raises(ExportError, match="n_kv_head"):
        export(tmp_path / "gqa", tmp_path / "out")
    # weights that are not our GPT's layout
    bad = {**sd, "blocks.0.attn.q_norm.weight": torch.ones(16)}
    ckpt.save(tmp_path / "odd", 1, {"model": bad, "model_config": c.to_dict()}, keep_last=1)
    with pytest.raises(ExportError, match="q_norm"):
        export(tmp_path / "odd", tmp_path / "out")
    # a recorded tokenizer that is missing
    ckpt.save(tmp_path / "tk", 1, {"model": sd, "model_config": c.to_dict(),
                                   "tokenizer": {"path": str(tmp_path / "gone.model")}}, keep_last=1)
    with pytest.raises(ExportError, match="--tokenizer"):
        export(tmp_path / "tk", tmp_path / "out")
    assert not (tmp_path / "out").exists()
