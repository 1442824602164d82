"""Decoder-only GPT, LLaMA-style: RoPE, RMSNorm, SwiGLU, no biases, optional tied embeddings,
SDPA attention (flash kernels on GPU). Small enough to read in one sitting (nanoGPT's spirit).
objective="mlm" turns the same stack into a BERT-style encoder: attention sees both ways and the
input embedding has one extra row, the [MASK] token (id = vocab_size), which is never predicted.
objective="span" is the encoder of an encoder-decoder (encdec.py builds the decoder beside it)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from corpusmill.trainer.span import noise_counts


@dataclass
class GPTConfig:
    vocab_size: int = 8000
    seq_len: int = 256
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 256
    ffn_mult: float = 8 / 3  # SwiGLU hidden = ffn_mult * d_model, rounded to a multiple of 64
    dropout: float = 0.0
    tie_embeddings: bool = True
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    objective: str = "causal"  # causal (next token), mlm (masked tokens, bidirectional) or span (T5, encdec.py)
    # span: T5's noise and the sentinel ids appended after the vocabulary (0 for the other objectives)
    noise_density: float = 0.15
    mean_span_length: float = 3.0
    n_sentinels: int = 0
    # options from the GPT-2 speedrun (modded-nanogpt); these defaults are the original model, which
    # older checkpoints (without the fields) were trained as
    qk_norm: bool = False  # RMSNorm on each head's queries and keys before RoPE
    mlp: str = "swiglu"  # swiglu, or relu2: down(relu(up x)^2)
    zero_init: bool = False  # output projections (attn proj, mlp down) start at zero
    vocab_multiple: int = 1  # embedding/head rows padded to a multiple (GPU matmul shapes); never predicted

    @property
    def causal(self) -> bool:
        return self.objective == "causal"

    @property
    def mask_id(self) -> int | None:
        """The [MASK] input id (an extra embedding row; SentencePiece models have no such piece)."""
        return self.vocab_size if self.objective == "mlm" else None

    @property
    def n_outputs(self) -> int:
        """Logits per position: the vocabulary, and (span) the sentinels, which the decoder predicts."""
        return self.vocab_size + self.n_sentinels

    @property
    def decoder_start_id(self) -> int | None:
        """span: the decoder's first input (an extra embedding row after the sentinels, never predicted)."""
        return self.n_outputs if self.objective == "span" else None

    @property
    def padded_vocab(self) -> int:
        """Rows of the embedding (causal: and of the head): the vocabulary, [MASK] (mlm), sentinels
        and the decoder start (span), padding."""
        n = self.vocab_size + {"causal": 0, "mlm": 1}.get(self.objective, self.n_sentinels + 1)
        return -(-n // self.vocab_multiple) * self.vocab_multiple

    @property
    def ffn_hidden(self) -> int:
        return int(math.ceil(self.ffn_mult * self.d_model / 64) * 64)

    def to_dict(self) -> dict:
        return asdict(self)


# Presets: depth/width only; vocab and seq_len come from the mixture.
PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=4, n_head=4, d_model=128),
    "small": dict(n_layer=6, n_head=6, d_model=384),
    "gpt2": dict(n_layer=12, n_head=12, d_model=768),  # 124M class
    "350m": dict(n_layer=24, n_head=16, d_model=1024),
    "760m": dict(n_layer=24, n_head=16, d_model=1536),
    "1b": dict(n_layer=16, n_head=32, d_model=2048),  # LLaMA-3.2-1B shape
}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # normalise in float32: bf16 sums of squares lose too much
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_cache(seq_len: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv)
    return freqs.cos(), freqs.sin()  # (T, hd/2)


def apply_rope(x, cos, sin):
    # x: (B, H, T, hd); rotate pairs (first half, second half), as HF LLaMA does
    x1, x2 = x.chunk(2, dim=-1)
    cos = torch.cat([cos, cos], -1).to(x.dtype)
    sin = torch.cat([sin, sin], -1).to(x.dtype)
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Attention(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        assert c.d_model % c.n_head == 0
        self.n_head, self.head_dim, self.dropout, self.causal = c.n_head, c.d_model // c.n_head, c.dropout, c.causal
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model, bias=False)
        self.proj = nn.Linear(c.d_model, c.d_model, bias=False)
        if c.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(self.head_dim, c.norm_eps), RMSNorm(self.head_dim, c.norm_eps)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        if hasattr(self, "q_norm"):  # bounds the attention logits (no softmax saturation early on)
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        h = c.ffn_hidden
        self.gate_up = nn.Linear(c.d_model, 2 * h, bias=False)  # one matmul for gate and up
        self.down = nn.Linear(h, c.d_model, bias=False)

    def forward(self, x):
        g, u = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(g) * u)


class ReLU2(nn.Module):
    """The speedrun's MLP: relu(x)^2, not gated (ffn_mult 4 gives SwiGLU's 8/3 parameter count)."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.up = nn.Linear(c.d_model, c.ffn_hidden, bias=False)
        self.down = nn.Linear(c.ffn_hidden, c.d_model, bias=False)

    def forward(self, x):
        return self.down(F.relu(self.up(x)).square())


MLPS = {"swiglu": SwiGLU, "relu2": ReLU2}


class Block(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.attn_norm, self.mlp_norm = RMSNorm(c.d_model, c.norm_eps), RMSNorm(c.d_model, c.norm_eps)
        self.attn, self.mlp = Attention(c), MLPS[c.mlp](c)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, cos, sin):
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin))
        return x + self.drop(self.mlp(self.mlp_norm(x)))


class GPT(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.config = c
        self.embed = nn.Embedding(c.padded_vocab, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.norm = RMSNorm(c.d_model, c.norm_eps)
        if c.tie_embeddings and not c.causal:
            self.lm_head = None  # the head reads the first n_outputs embedding rows: [MASK] gets no logit
        else:
            self.lm_head = nn.Linear(c.d_model, c.padded_vocab if c.causal else c.n_outputs, bias=False)
            if c.tie_embeddings:
                self.lm_head.weight = self.embed.weight
        # span: a corrupted window of seq_len + 1 tokens is up to 2 longer (a sentinel for 1 noise token, EOS)
        cos, sin = rope_cache(c.seq_len + (2 if c.objective == "span" else 0), c.d_model // c.n_head, c.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        # GPT-2 / nanoGPT: scale residual output projections by 1/sqrt(2 * n_layer)
        for name, p in self.named_parameters():
            if name.endswith(("proj.weight", "down.weight")):
                if c.zero_init:  # each Block starts as the identity (the speedrun's init)
                    nn.init.zeros_(p)
                else:
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        return n - self.embed.weight.numel() if non_embedding else n

    def flops_per_token(self) -> float:
        """Training FLOPs per token: 6N plus attention (PaLM appendix B, as nanoGPT's MFU)."""
        c = self.config
        return 6 * self.num_params() + 12 * c.n_layer * c.d_model * c.seq_len

    def forward(self, idx, targets=None, reduction: str = "mean", z_loss: float = 0.0):
        """targets: next tokens (causal) or labels with -100 where nothing is predicted (mlm).
        reduction="sum" lets the loop divide by the token count of the whole global batch.
        z_loss > 0 adds z_loss x logsumexp(logits)^2 per predicted token (PaLM): keeps the softmax
        normaliser near 1 so logits do not drift."""
        logits = self.head(self.trunk(idx))
        if targets is None:
            return logits, None
        return logits, self.loss(logits, targets, reduction, z_loss)

    def trunk(self, idx):
        """Token ids -> the final norm's output (a causal decoder, or a bidirectional encoder)."""
        T = idx.shape[1]
        x = self.drop(self.embed(idx))
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.norm(x)

    def head(self, x):
        n = self.config.n_outputs
        if self.lm_head is None:
            return F.linear(x, self.embed.weight[:n])
        logits = self.lm_head(x)
        return logits[..., :n] if logits.size(-1) != n else logits  # padding rows: no token, no logit

    @staticmethod
    def loss(logits, targets, reduction: str, z_loss: float):
        flat, tgt = logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1)
        loss = F.cross_entropy(flat, tgt, ignore_index=-100, reduction=reduction)
        if z_loss:
            z2 = torch.logsumexp(flat, dim=-1).square() * (tgt != -100)
            loss = loss + z_loss * (z2.sum() if reduction == "sum" else z2.sum() / (tgt != -100).sum().clamp(min=1))
        return loss


def build_config(vocab_size: int, seq_len: int, preset: str | None = None, **overrides) -> GPTConfig:
    dims = dict(PRESETS[preset]) if preset else {}
    dims.update({k: v for k, v in overrides.items() if v is not None})
    if dims.get("mlp") == "relu2" and overrides.get("ffn_mult") is None:
        dims["ffn_mult"] = 4.0  # SwiGLU's parameter count at its 8/3
    c = GPTConfig(vocab_size=vocab_size, seq_len=seq_len, **dims)
    if c.objective == "span" and not c.n_sentinels:  # T5's 100, or as many as a window's spans
        spans = noise_counts(seq_len + 1, c.noise_density, c.mean_span_length)[1]
        c = replace(c, n_sentinels=max(100, spans))
    return c
