"""What a run was trained on, and the checks that keep a resume on it: the mixture's fingerprint
and the tokenizer's sha256 and vocabulary travel in every checkpoint; a checkpoint resumed on
another tokenizer or on a mixture that changed is refused, saying what differs and what to do."""
from __future__ import annotations

from pathlib import Path

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError


class ResumeError(ConfigError):
    """The run folder's checkpoint was made on other data or another tokenizer."""


def mixture_ref(folder: str | Path, fingerprint: str) -> dict:
    m = artifact.read(folder)
    if m is not None and m["kind"] == "mixture" and m["fingerprint"] == fingerprint:
        return {"name": "data", **artifact.input_ref(m, folder)}
    return {"name": "data", "kind": "mixture", "path": str(Path(folder).resolve()), "fingerprint": fingerprint}


def check_resume(saved: dict, data, vocab_size: int, path: Path, run: str) -> None:
    """saved: a checkpoint's contents; data: the run's MixtureData."""
    fix = (f"point `data` back at the mixture the run was trained on, or start a new run (another `output`, "
           f"or delete {run})")
    old_tok = (saved.get("tokenizer") or {}).get("tokenizer_sha256")
    new_tok = (data.manifest.get("tokenizer") or {}).get("tokenizer_sha256")
    if old_tok and new_tok and old_tok != new_tok:
        raise ResumeError(f"{path}: trained with tokenizer {old_tok[:12]}…, but {data.folder} was made with "
                          f"{new_tok[:12]}… (the same ids would mean other text); {fix}")
    old_vocab = (saved.get("model_config") or {}).get("vocab_size")
    if old_vocab is not None and old_vocab != vocab_size:
        raise ResumeError(f"{path}: its model has a vocabulary of {old_vocab}, the mixture's tokenizer {vocab_size}; {fix}")
    old_fp = saved.get("data_fingerprint")
    if old_fp and old_fp != data.fingerprint:
        raise ResumeError(f"{path}: trained on {saved.get('data')} as it was (fingerprint {old_fp[:12]}…); "
                          f"{data.folder} has changed since (now {data.fingerprint[:12]}…: re-mixed or rebuilt), so "
                          f"the samples consumed so far no longer name the same data; {fix}")
    old_align = saved.get("data_align", "none")  # older checkpoints: plain windows
    if old_align != data.align:
        raise ResumeError(f"{path}: trained with train.align {old_align!r}, now {data.align!r}: the samples consumed "
                          f"so far count other windows; set train.align back to {old_align!r} to resume, or start a "
                          f"new run (another `output`, or delete {run})")


# model_config fields that change the parameters or the forward pass (dropout, seq_len may change on resume)
_SHAPE = ("n_layer", "n_head", "d_model", "ffn_mult", "tie_embeddings", "objective", "qk_norm", "mlp",
          "vocab_multiple", "n_sentinels")


def check_same_model(saved: dict, model_config: dict, optimizer: str, path: Path, run: str) -> None:
    """A resume must rebuild the model and optimizer the checkpoint holds; otherwise say which setting moved."""
    from corpusmill.trainer.model import GPTConfig
    old = {**GPTConfig().to_dict(), **(saved.get("model_config") or {})}  # older checkpoints: the defaults
    moved = {k: (old[k], model_config[k]) for k in _SHAPE if old.get(k) != model_config.get(k)}
    was = "muon" if any(g.get("muon") for g in (saved.get("optimizer") or {}).get("param_groups", [])) else "adamw"
    if was != optimizer:
        moved["optimizer"] = (was, optimizer)
    if moved:
        said = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in moved.items())
        raise ResumeError(f"{path}: the checkpoint was trained with other model/optimizer settings ({said}); set them "
                          f"back to resume, or start a new run (another `output`, or delete {run})")
