"""`optimizer: muon`: Muon (momentum, then Newton-Schulz orthogonalisation of the update) for the
2-D weight matrices of the Blocks, AdamW for everything else (embedding, head, norms), in ONE
torch Optimizer so checkpoints, `full_state` (FSDP gather) and the schedule treat it as AdamW.

Muon's update is scaled by 0.2 x sqrt(max(rows, cols)) (Moonshot's "Muon is scalable", 2025) so
its RMS matches AdamW's and one `lr` and `weight_decay` serve both. Fused matrices (qkv, gate_up)
are orthogonalised per part (q, k, v; gate, up): they are separate maps.

Under DDP the gradient is already the all-reduced mean and every rank computes the same update.
Under FSDP2 parameters and gradients are dim-0 shards (DTensors); orthogonalisation needs the
whole matrix, so the momentum-updated gradient is all-gathered (`full_tensor`), every rank
orthogonalises the full matrix and keeps its own rows of the result (no extra communication).
The momentum buffer and Adam's moments stay sharded like the parameters."""
from __future__ import annotations

import math

import torch

NS_COEFFS = (3.4445, -4.7750, 2.0315)  # Keller Jordan's quintic: fast, not exact, orthogonalisation


def orthogonalize(g: torch.Tensor, steps: int = 5) -> torch.Tensor:
    """~U V^T of g = U S V^T by a quintic Newton-Schulz iteration (bf16 on GPU, float32 on CPU)."""
    a, b, c = NS_COEFFS
    x = g.bfloat16() if g.is_cuda else g.float()
    tall = x.size(0) > x.size(1)
    if tall:  # iterate on the smaller Gram matrix
        x = x.T
    x = x / (x.norm() + 1e-7)  # spectral norm <= 1
    for _ in range(steps):
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return (x.T if tall else x).to(g.dtype)


def _full(t: torch.Tensor) -> torch.Tensor:
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def _like(update: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The full update as p is held: FSDP keeps this rank's rows (every rank computed the same)."""
    if hasattr(p, "device_mesh"):
        from torch.distributed.tensor import distribute_tensor
        return distribute_tensor(update, p.device_mesh, p.placements, src_data_rank=None)
    return update


class MuonAdamW(torch.optim.Optimizer):
    """Param groups with `muon: True` (2-D, `parts`: row blocks orthogonalised apart) get Muon,
    the others AdamW. Both decay decoupled: p *= 1 - lr x weight_decay."""

    def __init__(self, groups, lr: float, betas=(0.9, 0.95), eps: float = 1e-8, momentum: float = 0.95,
                 ns_steps: int = 5):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=0.0, momentum=momentum, ns_steps=ns_steps,
                        muon=False, parts=1)
        super().__init__(groups, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                if g["weight_decay"]:
                    p.mul_(1 - g["lr"] * g["weight_decay"])
                (self._muon if g["muon"] else self._adamw)(p, g)

    def _muon(self, p: torch.Tensor, g: dict) -> None:
        st = self.state[p]
        if "momentum_buffer" not in st:
            st["momentum_buffer"] = torch.zeros_like(p.grad)
        buf, mom = st["momentum_buffer"], g["momentum"]
        buf.lerp_(p.grad, 1 - mom)
        full = _full(p.grad.lerp(buf, mom))  # Nesterov
        rows, cols = full.shape[0] // g["parts"], full.shape[1]
        update = torch.cat([orthogonalize(part, g["ns_steps"]) for part in full.split(rows, dim=0)])
        p.add_(_like(update, p), alpha=-g["lr"] * 0.2 * math.sqrt(max(rows, cols)))

    def _adamw(self, p: torch.Tensor, g: dict) -> None:
        st = self.state[p]
        if "step" not in st:
            st["step"] = torch.zeros((), dtype=torch.float32)
            st["exp_avg"], st["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
        b1, b2 = g["betas"]
        st["step"] += 1
        n = st["step"].item()
        st["exp_avg"].lerp_(p.grad, 1 - b1)
        st["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
        denom = (st["exp_avg_sq"] / (1 - b2 ** n)).sqrt_().add_(g["eps"])
        p.addcdiv_(st["exp_avg"], denom, value=-g["lr"] / (1 - b1 ** n))


def muon_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Blocks' matrices -> Muon (qkv in 3 parts, gate_up and cross-attention's kv in 2); embedding, head, norms -> AdamW
    (head and embedding decayed as make_optimizer decays them: matrices but not the embedding)."""
    by_parts: dict[int, list] = {}
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if name.startswith(("blocks.", "dec_blocks.")) and p.dim() == 2:
            by_parts.setdefault(3 if name.endswith("qkv.weight") else 2 if name.endswith(("gate_up.weight", "kv.weight"))
                                else 1,
                                []).append(p)
        else:
            (decay if p.dim() >= 2 and not name.startswith("embed.") else no_decay).append(p)
    groups = [{"params": ps, "muon": True, "parts": k, "weight_decay": weight_decay} for k, ps in sorted(by_parts.items())]
    groups += [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
