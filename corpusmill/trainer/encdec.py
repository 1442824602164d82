"""The encoder-decoder of objective: span (T5's shape), built from model.py's Block.

encoder: GPT's own stack with bidirectional attention (objective "span" is not causal), final norm
decoder: DecoderBlock = Block (causal self-attention, MLP) + cross-attention to the encoder's output
         between the two, pre-norm like the rest; its own final norm
shared:  one embedding (vocabulary, then the sentinels, then the decoder start row) and one head
         (tied: the embedding's first vocab_size + n_sentinels rows), as T5 shares them

Positions: RoPE in both self-attentions; cross-attention has none (T5: none either). The loop calls
model(inputs, targets) as for the other objectives: the decoder's input is the targets shifted right
behind the decoder start id (teacher forcing). GPT and Block are unchanged: decoder-only and mlm
runs take none of this code."""
from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from corpusmill.trainer.model import GPT, Block, GPTConfig, RMSNorm
from corpusmill.trainer.span import corrupted_lengths


class CrossAttention(nn.Module):
    """Queries from the decoder, keys and values from the encoder's output (every position visible)."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.n_head, self.head_dim, self.dropout = c.n_head, c.d_model // c.n_head, c.dropout
        self.q = nn.Linear(c.d_model, c.d_model, bias=False)
        self.kv = nn.Linear(c.d_model, 2 * c.d_model, bias=False)
        self.proj = nn.Linear(c.d_model, c.d_model, bias=False)
        if c.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(self.head_dim, c.norm_eps), RMSNorm(self.head_dim, c.norm_eps)

    def forward(self, x, memory):
        B, T, C = x.shape
        q = self.q(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k, v = self.kv(memory).view(B, memory.shape[1], 2, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        if hasattr(self, "q_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class DecoderBlock(Block):
    """Block with causal self-attention, plus cross-attention between it and the MLP."""

    def __init__(self, c: GPTConfig):
        super().__init__(replace(c, objective="causal"))  # the Block's attention reads `causal`
        self.cross_norm, self.cross = RMSNorm(c.d_model, c.norm_eps), CrossAttention(c)

    def forward(self, x, cos, sin, memory):
        x = x + self.drop(self.attn(self.attn_norm(x), cos, sin))
        x = x + self.drop(self.cross(self.cross_norm(x), memory))
        return x + self.drop(self.mlp(self.mlp_norm(x)))


class EncoderDecoder(GPT):
    def __init__(self, c: GPTConfig):
        if c.objective != "span":
            raise ValueError(f"EncoderDecoder is objective span's model, not {c.objective!r}'s")
        super().__init__(c)  # shared embedding and head, the encoder (blocks, norm), RoPE cache
        self.dec_blocks = nn.ModuleList(DecoderBlock(c) for _ in range(c.n_layer))
        self.dec_norm = RMSNorm(c.d_model, c.norm_eps)
        self.dec_blocks.apply(self._init)
        for name, p in self.dec_blocks.named_parameters():  # residual outputs as GPT scales its own
            if name.endswith(("proj.weight", "down.weight")):
                nn.init.zeros_(p) if c.zero_init else nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    def shift_right(self, targets):
        """Teacher forcing: the decoder sees the start id, then the targets but the last."""
        start = torch.full_like(targets[:, :1], self.config.decoder_start_id)
        prev = targets[:, :-1].masked_fill(targets[:, :-1] == -100, self.config.decoder_start_id)
        return torch.cat([start, prev], dim=1)

    def decode(self, memory, dec_ids):
        """Decoder input ids and the encoder's output -> logits over the vocabulary and sentinels."""
        T = dec_ids.shape[1]
        x = self.drop(self.embed(dec_ids))
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        for b in self.dec_blocks:
            x = b(x, cos, sin, memory)
        return self.head(self.dec_norm(x))

    def forward(self, idx, targets=None, reduction: str = "mean", z_loss: float = 0.0, decoder_input=None):
        """idx: corrupted inputs; targets: the spans behind their sentinels (the loss is on all of them).
        Generation passes decoder_input (start id + what was decoded so far) and no targets."""
        dec = self.shift_right(targets) if decoder_input is None else decoder_input
        logits = self.decode(self.trunk(idx), dec)
        if targets is None:
            return logits, None
        return logits, self.loss(logits, targets, reduction, z_loss)

    def flops_per_token(self) -> float:
        """Training FLOPs per token of the raw window: 6N over the tokens each stack sees (encoder: the
        corrupted inputs, decoder and head: the targets) plus attention, as GPT's count."""
        c = self.config
        L = c.seq_len + 1
        lin, ltgt = corrupted_lengths(L, c.noise_density, c.mean_span_length)
        enc = sum(p.numel() for p in self.blocks.parameters())
        dec = self.num_params() - enc
        attn = 12 * c.n_layer * c.d_model * (lin * lin + ltgt * ltgt + ltgt * lin)
        return (6 * (enc * lin + dec * ltgt) + attn) / c.seq_len


def make_model(c: GPTConfig) -> GPT:
    """The model an objective trains: GPT (causal, mlm) or EncoderDecoder (span)."""
    return EncoderDecoder(c) if c.objective == "span" else GPT(c)
