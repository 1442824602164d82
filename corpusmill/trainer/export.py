"""Export a checkpoint to the Hugging Face layout of a LlamaForCausalLM: model.safetensors,
config.json, generation_config.json and the tokenizer (tokenizer.model, tokenizer.json,
tokenizer_config.json), loadable offline by `from_pretrained(DIR)`.

Our GPT is LLaMA's architecture, so the export is a renaming plus two splits:
  embed.weight                   -> model.embed_tokens.weight
  blocks.i.attn_norm.weight      -> model.layers.i.input_layernorm.weight
  blocks.i.attn.qkv.weight       -> model.layers.i.self_attn.{q,k,v}_proj.weight (rows [q; k; v])
  blocks.i.attn.proj.weight      -> model.layers.i.self_attn.o_proj.weight
  blocks.i.mlp_norm.weight       -> model.layers.i.post_attention_layernorm.weight
  blocks.i.mlp.gate_up.weight    -> model.layers.i.mlp.{gate,up}_proj.weight (rows [gate; up])
  blocks.i.mlp.down.weight       -> model.layers.i.mlp.down_proj.weight
  norm.weight                    -> model.norm.weight
  lm_head.weight                 -> lm_head.weight (left out when tied: tie_word_embeddings)
No RoPE permutation: model.apply_rope already rotates (first half, second half) of each head, as
HF's rotate_half does (Meta's interleaved pairs would need the q/k rows permuted). Attention is
SDPA's default 1/sqrt(head_dim), RMSNorm normalises in float32 then casts, as HF's LlamaRMSNorm.
tests/trainer/test_export.py checks all of it by matching logits with transformers.

Needs the `hf` extra (safetensors; tokenizers for tokenizer.json); transformers only to verify."""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from corpusmill.trainer import checkpoint as ckpt

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# model_config fields the mapping above accounts for; any other field may change the forward pass,
# so a checkpoint carrying one is refused rather than exported wrong.
_KNOWN = {"vocab_size", "seq_len", "n_layer", "n_head", "d_model", "ffn_mult", "dropout", "tie_embeddings",
          "rope_theta", "norm_eps"}
# speedrun options: exportable only at the values LLaMA computes (zero_init only changes the init)
_LLAMA_VALUES = {"qk_norm": False, "mlp": "swiglu"}
_KNOWN |= {"zero_init", "vocab_multiple", *_LLAMA_VALUES}  # vocab padding: the export drops the rows
_KNOWN |= {"noise_density", "mean_span_length", "n_sentinels"}  # span's settings: inert in a causal model
# Why objective: span is not written as T5ForConditionalGeneration (transformers 5.x's T5 read for this):
# what maps, and the part that does not.
T5_REFUSAL = (
    "objective=span: this encoder-decoder cannot be exported as T5ForConditionalGeneration without changing "
    "what it computes. It would map: RMSNorm with a scale and no bias (T5LayerNorm), bias-free linears, the "
    "gated MLP (feed_forward_proj 'gated-silu'), the shared embedding and head (T5 rescales a tied head by "
    "d_model^-0.5; untying it, or folding the factor in, keeps the logits), the attention scale (T5 has no "
    "1/sqrt(head_dim): foldable into the query weights), cross-attention, the sentinels (T5's <extra_id_N>, "
    "there counted down from the end of the vocabulary: a reordering of rows). It does not map: positions. "
    "Ours are rotary (RoPE on queries and keys in every self-attention layer); T5 has no rotary embedding, "
    "only a learned relative position bias added to the attention logits, bucketed by distance and computed "
    "in the first layer of each stack, which cannot reproduce a rotation of queries and keys. Use `corpus "
    "generate` on the checkpoint instead")
_CAUSAL = {None, "causal"}  # GPTConfig.objective; absent in checkpoints from before it existed


class ExportError(Exception):
    """The checkpoint cannot be written as a LlamaForCausalLM (or the export's needs are missing)."""


def _ffn_hidden(c: dict) -> int:
    from corpusmill.trainer.model import GPTConfig

    fields = {k: c[k] for k in ("d_model", "ffn_mult") if k in c}
    return GPTConfig(**fields).ffn_hidden


def check_exportable(model_config: dict) -> None:
    """Raises ExportError when the checkpoint's model is not a causal LLaMA-style decoder."""
    objective = model_config.get("objective")
    if objective == "span":
        raise ExportError(T5_REFUSAL)
    if objective not in _CAUSAL:
        raise ExportError(f"this checkpoint was trained with objective={objective!r} (not causal next-token "
                          "prediction); only causal language models can be exported as LlamaForCausalLM")
    other = {k: model_config[k] for k, v in _LLAMA_VALUES.items() if model_config.get(k, v) != v}
    if other:
        raise ExportError(f"this checkpoint's model uses {other}, which LlamaForCausalLM does not compute "
                          f"(it has {_LLAMA_VALUES}); train with those values to export, or use `corpus generate`")
    unknown = sorted(set(model_config) - _KNOWN - {"objective"})
    if unknown:
        raise ExportError(f"model_config fields {unknown} have no LlamaForCausalLM equivalent in this exporter; "
                          "refusing rather than writing a model that computes something else")


def hf_config(model_config: dict, tokenizer: dict, dtype: str) -> dict:
    c = model_config
    d, h = int(c["d_model"]), int(c["n_head"])
    theta = float(c.get("rope_theta", 10000.0))
    out = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": int(c["vocab_size"]), "hidden_size": d, "intermediate_size": _ffn_hidden(c),
        "num_hidden_layers": int(c["n_layer"]), "num_attention_heads": h, "num_key_value_heads": h,
        "head_dim": d // h, "hidden_act": "silu", "max_position_embeddings": int(c["seq_len"]),
        "rms_norm_eps": float(c.get("norm_eps", 1e-5)),
        "rope_theta": theta,  # transformers 4.x reads this one, 5.x rope_parameters
        "rope_parameters": {"rope_type": "default", "rope_theta": theta}, "rope_scaling": None,
        "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0, "pretraining_tp": 1,
        "tie_word_embeddings": bool(c.get("tie_embeddings", True)), "initializer_range": 0.02,
        "use_cache": True, "torch_dtype": dtype, "dtype": dtype,
    }
    for key in ("bos_id", "eos_id", "pad_id"):
        v = tokenizer.get(key)
        if v is not None and int(v) >= 0:
            out[key.replace("_id", "_token_id")] = int(v)
    return out


def hf_state_dict(sd: dict[str, torch.Tensor], model_config: dict, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Our GPT's state dict under HF LLaMA names, each tensor its own contiguous copy."""
    sd = {k.removeprefix("_orig_mod.").removeprefix("module."): v for k, v in sd.items()}
    c, n = model_config, int(model_config["n_layer"])
    d, ffn, tied = int(c["d_model"]), _ffn_hidden(c), bool(c.get("tie_embeddings", True))
    expected = {"embed.weight", "norm.weight", "lm_head.weight"} | {
        f"blocks.{i}.{p}.weight" for i in range(n)
        for p in ("attn_norm", "attn.qkv", "attn.proj", "mlp_norm", "mlp.gate_up", "mlp.down")}
    if set(sd) != expected:
        raise ExportError(f"unexpected weights: missing {sorted(expected - set(sd))[:5]}, "
                          f"extra {sorted(set(sd) - expected)[:5]}; not our GPT's layout")
    vocab = int(c["vocab_size"])  # vocab_multiple padding rows are dropped (they never had a token)
    sd = {k: v[:vocab] if k in ("embed.weight", "lm_head.weight") else v for k, v in sd.items()}
    out = {"model.embed_tokens.weight": sd["embed.weight"], "model.norm.weight": sd["norm.weight"]}
    if not tied:
        out["lm_head.weight"] = sd["lm_head.weight"]
    elif not torch.equal(sd["lm_head.weight"], sd["embed.weight"]):
        raise ExportError("tie_embeddings is set but lm_head and embed weights differ")
    for i in range(n):
        b, hf = f"blocks.{i}.", f"model.layers.{i}."
        qkv, gate_up = sd[b + "attn.qkv.weight"], sd[b + "mlp.gate_up.weight"]
        if qkv.shape != (3 * d, d) or gate_up.shape != (2 * ffn, d):
            raise ExportError(f"layer {i}: qkv {tuple(qkv.shape)} / gate_up {tuple(gate_up.shape)} do not match "
                              f"d_model {d}, ffn {ffn}")
        q, k, v = qkv.split(d, dim=0)
        g, u = gate_up.split(ffn, dim=0)
        out.update({
            hf + "input_layernorm.weight": sd[b + "attn_norm.weight"],
            hf + "self_attn.q_proj.weight": q, hf + "self_attn.k_proj.weight": k, hf + "self_attn.v_proj.weight": v,
            hf + "self_attn.o_proj.weight": sd[b + "attn.proj.weight"],
            hf + "post_attention_layernorm.weight": sd[b + "mlp_norm.weight"],
            hf + "mlp.gate_proj.weight": g, hf + "mlp.up_proj.weight": u,
            hf + "mlp.down_proj.weight": sd[b + "mlp.down.weight"],
        })
    return {k: t.detach().to("cpu", dtype).contiguous().clone() for k, t in out.items()}


# --- tokenizer ---------------------------------------------------------------------------------

def tokenizer_json(model_bytes: bytes) -> tuple[str | None, str]:
    """A tokenizers JSON that encodes as SentencePiece does, or (None, why not).

    Only what we can reproduce: BPE, identity normalisation, whitespace kept (LLaMA's settings).
    - The dummy prefix is a normaliser over the whole text: SentencePiece adds one '▁' even when the
      text starts with a space, which HF's Metaspace pre-tokenizer (LlamaTokenizer) does not.
    - User-defined symbols are *normalised* added tokens, matched after that prefix as SentencePiece
      matches them ('a <sym> b' -> '▁a', '▁', '<sym>', '▁b'; no prefix after a symbol).
    - Merges rank each split of a piece by the piece's score: SentencePiece merges the pair whose
      union scores best. Control pieces (<s>, </s>, <pad>) are special tokens, and the config sets
      split_special_tokens, so '<s>' in text stays text, as in SentencePiece.
    Known difference: a text that is exactly one user-defined symbol gets no '▁' before it."""
    try:
        from sentencepiece import sentencepiece_model_pb2 as pb
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, processors
        from tokenizers.models import BPE
    except ImportError as e:
        return None, f"cannot convert the tokenizer ({e}); pip install 'corpusmill[hf]'"
    m = pb.ModelProto()
    m.ParseFromString(model_bytes)
    ts, ns = m.trainer_spec, m.normalizer_spec
    why = []
    if ts.model_type != pb.TrainerSpec.BPE:
        why.append("not a BPE model")
    if ns.name not in ("identity", "") or ns.precompiled_charsmap:
        why.append(f"normalisation {ns.name!r}")
    if ns.remove_extra_whitespaces or ts.treat_whitespace_as_suffix or not ts.split_by_whitespace:
        why.append("whitespace handling other than LLaMA's")
    if why:
        return None, "not converted to tokenizer.json (" + ", ".join(why) + "): only tokenizer.model is written"
    P = pb.ModelProto.SentencePiece
    pieces = [(p.piece, p.score, p.type) for p in m.pieces]
    vocab = {p: i for i, (p, _, _) in enumerate(pieces)}
    # SentencePiece BPE merges the adjacent pair whose union is the best-scoring piece: rank each
    # split of each normal piece by that piece's (score, id)
    merges = []
    for i, (p, score, typ) in enumerate(pieces):
        if typ != P.NORMAL or len(p) < 2:
            continue
        for j in range(1, len(p)):
            a, b = p[:j], p[j:]
            if a in vocab and b in vocab and pieces[vocab[a]][2] == P.NORMAL and pieces[vocab[b]][2] == P.NORMAL:
                merges.append((-score, i, vocab[a], (a, b)))
    merges = [ab for *_, ab in sorted(merges)]
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, unk_token=pieces[ts.unk_id][0], fuse_unk=True,
                        byte_fallback=ts.byte_fallback))
    norm = [normalizers.Replace(" ", "▁")]
    symbols = [p for p, _, typ in pieces if typ == P.USER_DEFINED]
    if ns.add_dummy_prefix and symbols:
        # tokenizers normalises the symbols themselves with this normaliser (to match them in
        # normalised text): the prefix must not go onto a text that is exactly one symbol
        alt = "|".join(re.escape(s) for s in symbols)
        norm.insert(0, normalizers.Replace(Regex(rf"\A(?!(?:{alt})\z)"), "▁"))
    elif ns.add_dummy_prefix:
        norm.insert(0, normalizers.Prepend("▁"))
    tok.normalizer = normalizers.Sequence(norm)
    tok.pre_tokenizer = None
    dec = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if ns.add_dummy_prefix:
        dec.append(decoders.Strip(content=" ", left=1))
    tok.decoder = decoders.Sequence(dec)
    added = []
    for i, (p, _, typ) in enumerate(pieces):
        if typ in (P.CONTROL, P.UNKNOWN):  # <s>, </s>, <pad>, <unk>: never produced from text
            added.append(AddedToken(p, special=True, normalized=False))
        elif typ == P.USER_DEFINED:  # always one piece, also inside text
            added.append(AddedToken(p, special=False, normalized=True))
    tok.add_tokens(added)  # all already in the vocab: ids unchanged
    if ts.bos_id >= 0:
        bos = pieces[ts.bos_id][0]
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                           special_tokens=[(bos, ts.bos_id)])
    return tok.to_str(), "tokenizer.json converted from tokenizer.model"


def _tokenizer_config(model_bytes: bytes, max_len: int) -> dict:
    from sentencepiece import SentencePieceProcessor

    sp = SentencePieceProcessor(model_proto=model_bytes)
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_len,
           "add_bos_token": sp.bos_id() >= 0, "add_eos_token": False, "clean_up_tokenization_spaces": False,
           "padding_side": "left", "split_special_tokens": True}
    for name, i in (("unk_token", sp.unk_id()), ("bos_token", sp.bos_id()), ("eos_token", sp.eos_id()),
                    ("pad_token", sp.pad_id())):
        if i >= 0:
            cfg[name] = sp.id_to_piece(i)
    return cfg


def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def export(run_or_ckpt: str | Path, output: str | Path, dtype: str = "float32",
           tokenizer: str | None = None) -> dict:
    """Writes the HF folder; returns a summary (files, parameters, tokenizer note)."""
    try:
        from safetensors.torch import save_file
    except ImportError:
        raise ExportError("export needs safetensors: pip install 'corpusmill[hf]'") from None
    if dtype not in DTYPES:
        raise ExportError(f"dtype must be one of {sorted(DTYPES)}")
    path = ckpt.resolve(run_or_ckpt)
    state = ckpt.load(path)
    mc = state.get("model_config")
    if not isinstance(mc, dict) or "model" not in state:
        raise ExportError(f"{path}: not a corpusmill training checkpoint (no model / model_config)")
    check_exportable(mc)
    tensors = hf_state_dict(state["model"], mc, DTYPES[dtype])
    tok_info = dict(state.get("tokenizer") or {})

    # the tokenizer first: a mismatch is better found before anything is written
    tok_bytes, tok_note = None, "no tokenizer recorded in the checkpoint; pass --tokenizer"
    try:
        from corpusmill.trainer.generate import load_tokenizer_for

        tk = load_tokenizer_for(state, tokenizer)
        tok_bytes = tk.model_bytes if hasattr(tk, "model_bytes") else tk.serialized_model_proto()
    except FileNotFoundError:
        pass
    except Exception as e:  # TokenizerError: missing file or sha256 mismatch
        raise ExportError(f"{e} (pass --tokenizer to name the model the run was trained with)") from None
    if tok_bytes is not None:
        from sentencepiece import SentencePieceProcessor

        sp = SentencePieceProcessor(model_proto=tok_bytes)
        if sp.get_piece_size() != int(mc["vocab_size"]):
            raise ExportError(f"the tokenizer has {sp.get_piece_size()} pieces, the model {mc['vocab_size']}")
        tok_info.update(bos_id=sp.bos_id(), eos_id=sp.eos_id(), pad_id=sp.pad_id())

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "tokenizer.README"):
        (out / stale).unlink(missing_ok=True)  # from an earlier export into the same folder
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = hf_config(mc, tok_info, dtype)
    _write_json(out / "config.json", config)
    gen = {k: config[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if k in config}
    _write_json(out / "generation_config.json", gen)
    files = ["model.safetensors", "config.json", "generation_config.json"]
    if tok_bytes is not None:
        (out / "tokenizer.model").write_bytes(tok_bytes)
        files.append("tokenizer.model")
        js, tok_note = tokenizer_json(tok_bytes)
        if js is not None:
            (out / "tokenizer.json").write_text(js)
            _write_json(out / "tokenizer_config.json", _tokenizer_config(tok_bytes, config["max_position_embeddings"]))
            files += ["tokenizer.json", "tokenizer_config.json"]
        else:
            (out / "tokenizer.README").write_text(tok_note + "\n")
    return {"output": str(out), "checkpoint": str(path), "step": state.get("step"), "dtype": dtype,
            "parameters": sum(t.numel() for t in tensors.values()), "vocab_size": config["vocab_size"],
            "max_position_embeddings": config["max_position_embeddings"], "files": files, "tokenizer": tok_note}


@torch.no_grad()
def compare_logits(run_or_ckpt: str | Path, exported: str | Path, ids: torch.Tensor) -> float:
    """Max |logits ours - logits transformers| on a (B, T) batch: the export's proof (float32)."""
    from transformers import LlamaForCausalLM

    from corpusmill.trainer.generate import load_model

    ours, _ = load_model(run_or_ckpt)
    theirs = LlamaForCausalLM.from_pretrained(str(exported), dtype=torch.float32, local_files_only=True).eval()
    a = ours(ids)[0].float()
    b = theirs(input_ids=ids).logits.float()
    return float((a - b).abs().max())
