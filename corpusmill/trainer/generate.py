"""Sampling from a checkpoint, with the tokenizer the mixture's manifest recorded: continuations of
a causal model, or (objective: span) the spans an encoder-decoder fills in for a prompt's sentinels."""
from __future__ import annotations

from pathlib import Path

import torch

from corpusmill.trainer import checkpoint as ckpt
from corpusmill.trainer.encdec import make_model
from corpusmill.trainer.model import GPT, GPTConfig
from corpusmill.trainer.span_prompt import parse_prompt, render_spans


def load_model(run_or_ckpt: str | Path, device: str | torch.device = "cpu") -> tuple[GPT, dict]:
    """A causal GPT or a span encoder-decoder (mlm encoders cannot generate: refused)."""
    state = ckpt.load(ckpt.resolve(run_or_ckpt), map_location=device)
    if state["model_config"].get("objective", "causal") == "mlm":
        raise ValueError(f"{run_or_ckpt} is a masked-LM encoder (objective: {state['model_config']['objective']}); "
                         "corpus generate samples only from causal runs and fills spans for span runs")
    cfg = dict(state["model_config"], dropout=0.0)
    model = make_model(GPTConfig(**cfg)).to(device)
    model.load_state_dict(state["model"])
    return model.eval(), state


@torch.no_grad()
def sample(model: GPT, ids: list[int], max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           eos_id: int | None = None, generator: torch.Generator | None = None) -> list[int]:
    device = next(model.parameters()).device
    x = torch.tensor([ids], dtype=torch.long, device=device)
    for _ in range(max_new_tokens):
        logits, _ = model(x[:, -model.config.seq_len:])  # crop to the trained context (RoPE cache)
        nxt = pick(logits[:, -1, :], temperature, top_k, generator)
        x = torch.cat([x, nxt], dim=1)
        if eos_id is not None and int(nxt) == eos_id:
            break
    return x[0, len(ids):].tolist()


@torch.no_grad()
def fill_spans(model, ids: list[int], max_new_tokens: int, temperature: float = 0.0, top_k: int | None = None,
               eos_id: int | None = None, generator: torch.Generator | None = None) -> list[int]:
    """span: corrupted inputs (sentinels, EOS) -> the decoder's targets (sentinel, span, sentinel, ...),
    encoded once, decoded token by token from the start id. The output keeps the targets' form: the
    prompt's sentinels in their order, each followed by at least one token, EOS only after the last
    span (every other sentinel, and an early EOS, is masked out before the pick); a model trained on
    windows with a fixed number of spans would otherwise write that many whatever the prompt holds."""
    c, device = model.config, next(model.parameters()).device
    if len(ids) > len(model.rope_cos):
        raise ValueError(f"the prompt is {len(ids)} tokens; this model was trained on inputs of at most "
                         f"{len(model.rope_cos)} (seq_len {c.seq_len} + 2): shorten it")
    wanted = [i for i in ids if c.vocab_size <= i < c.n_outputs]
    if not wanted:
        raise ValueError("no sentinel in the inputs: a span model fills the gaps sentinels mark")
    memory = model.trunk(torch.tensor([ids], dtype=torch.long, device=device))
    dec = torch.tensor([[c.decoder_start_id]], dtype=torch.long, device=device)
    done, after_sentinel = 0, True  # sentinels written; the last token was one (or the start)
    for _ in range(min(max_new_tokens, len(model.rope_cos) - 1)):
        logits = model.decode(memory, dec)[:, -1, :].float()
        allowed = torch.ones(c.n_outputs, dtype=torch.bool, device=device)
        allowed[c.vocab_size:] = False
        if done < len(wanted) and (done == 0 or not after_sentinel):
            allowed[wanted[done]] = True
        if done == 0:  # the targets open with the first sentinel
            allowed[:c.vocab_size] = False
        if eos_id is not None and (done < len(wanted) or after_sentinel):
            allowed[eos_id] = False
        nxt = pick(logits.masked_fill(~allowed, -float("inf")), temperature, top_k, generator)
        dec = torch.cat([dec, nxt], dim=1)
        after_sentinel = c.vocab_size <= int(nxt) < c.n_outputs
        done += after_sentinel
        if eos_id is not None and int(nxt) == eos_id:
            break
    return dec[0, 1:].tolist()


def pick(logits: torch.Tensor, temperature: float, top_k: int | None, generator) -> torch.Tensor:
    """(1, V) logits -> (1, 1) next id: greedy at temperature <= 0, else top-k sampling."""
    logits = logits.float()
    if temperature <= 0:
        return logits.argmax(-1, keepdim=True)
    logits = logits / temperature
    if top_k:
        v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
        logits[logits < v[:, [-1]]] = -float("inf")
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)


def load_tokenizer_for(state: dict, override: str | None = None):
    info = state.get("tokenizer", {})
    path = override or info.get("path")
    if not path:
        raise FileNotFoundError("the checkpoint records no tokenizer path; pass --tokenizer")
    p = Path(path)
    if not override and not p.is_absolute() and not p.exists() and state.get("data"):
        # the manifest may hold the path as written in mixture.yaml: try beside the mixture
        for base in Path(state["data"]).parents:
            if (base / p).exists():
                path = str(base / p)
                break
    try:
        from corpusmill.tokenizer.model import load_tokenizer
        return load_tokenizer(path, info.get("tokenizer_sha256"))
    except ImportError:  # the tokenizer package absent: plain sentencepiece
        import sentencepiece as spm
        return spm.SentencePieceProcessor(model_file=str(path))


def generate_text(run_or_ckpt: str, prompt: str, max_new_tokens: int = 50, temperature: float = 0.8,
                  top_k: int | None = 200, seed: int = 0, tokenizer: str | None = None, device: str = "auto") -> str:
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    model, state = load_model(run_or_ckpt, dev)
    tok = load_tokenizer_for(state, tokenizer)
    info = state.get("tokenizer", {})
    bos, eos = info.get("bos_id"), info.get("eos_id")
    g = torch.Generator(device=dev).manual_seed(seed)
    if model.config.objective == "span":  # prompt with sentinels -> the spans behind them
        ids = parse_prompt(prompt, lambda text: _encode(tok, text), model.config, eos)
        out = fill_spans(model, ids, max_new_tokens, temperature, top_k, None if eos is None else int(eos), g)
        return render_spans(out, lambda part: tok.decode(part), model.config, None if eos is None else int(eos))
    ids = tok.encode([prompt], add_bos=True, add_eos=False)[0] if hasattr(tok, "encode_arrow") else \
        ([int(bos)] if bos is not None else []) + tok.encode(prompt)
    ids = [int(i) for i in ids]
    out = sample(model, ids, max_new_tokens, temperature, top_k, int(eos) if eos is not None else None, g)
    return prompt + tok.decode(out) if out else prompt


def _encode(tok, text: str) -> list[int]:
    """Text -> ids without BOS/EOS, with our Tokenizer or a plain SentencePieceProcessor."""
    ids = tok.encode([text], add_bos=False, add_eos=False)[0] if hasattr(tok, "encode_arrow") else tok.encode(text)
    return [int(i) for i in ids]
