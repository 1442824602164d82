"""Click commands `train`, `generate`, `plan`, `export` (registered on the `corpus` group by corpusmill.cli)."""
from __future__ import annotations

import json

import click

from corpusmill.console import quiet, verbosity_options


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
@verbosity_options
def train(config: str) -> None:
    """GPT pretraining from a mixture's shards (also under torchrun --nproc_per_node N)."""
    import os

    from corpusmill.trainer.config import ConfigError, load_train_config
    from corpusmill.trainer.train import train as run

    try:
        cfg = load_train_config(config)
        if quiet():
            cfg.train.progress = False
        out = run(cfg)
    except ConfigError as e:  # also a resume on other data (ResumeError), a locked run folder
        raise click.ClickException(str(e)) from None
    if int(os.environ.get("RANK", 0)) == 0:
        click.echo(json.dumps({"output": cfg.output, **out}))


@click.command()
@click.argument("run_or_ckpt", type=click.Path(exists=True))
@click.option("--prompt", default="", help="Text to continue; for a span run, text with gaps marked "
              "<extra_id_0> (or <X>), <extra_id_1> (<Y>) ...")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--temperature", type=float, default=0.8, show_default=True, help="0: greedy.")
@click.option("--top-k", type=click.IntRange(min=0), default=200, show_default=True, help="0: no top-k.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tokenizer", default=None, help="Tokenizer model (default: the one the manifest recorded).")
@click.option("--device", default="auto", show_default=True)
def generate(run_or_ckpt, prompt, max_new_tokens, temperature, top_k, seed, tokenizer, device) -> None:
    """Sample text from a run folder (its latest checkpoint) or a checkpoint file; a span run fills the gaps."""
    from corpusmill.trainer.generate import generate_text

    try:
        click.echo(generate_text(run_or_ckpt, prompt, max_new_tokens, temperature, top_k or None, seed,
                                 tokenizer, device))
    except (FileNotFoundError, ValueError) as e:
        raise click.ClickException(str(e)) from None


@click.command()
@click.option("--params", required=True, help="Parameters: 124M, 1.3B, 7e9 ...")
@click.option("--tokens", default=None, help="Training tokens (default: Chinchilla-optimal, 20 per parameter).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--mfu", type=float, default=0.4, show_default=True, help="Model FLOPs utilisation assumed.")
@click.option("--gpu", type=click.Choice(["h100", "h200", "a100"], case_sensitive=False), default="h100", show_default=True)
def plan(params, tokens, gpus, mfu, gpu) -> None:
    """Compute plan: 6ND FLOPs, Chinchilla-optimal tokens, wall time."""
    from corpusmill.trainer.model import PRESETS, build_config
    from corpusmill.trainer.plan import parse_count, plan as make_plan

    if params in PRESETS:  # a model preset: its parameter count at a 32k vocabulary, built on no device
        import torch

        from corpusmill.trainer.model import GPT

        with torch.device("meta"):
            params = str(GPT(build_config(32000, 2048, params)).num_params(False))
    try:
        count = parse_count(params)
        tok_count = parse_count(tokens) if tokens else None
    except (ValueError, KeyError):
        raise click.ClickException(f"--params {params!r}: give a count (124M, 1.3B, 7e9) or a preset "
                                   f"({', '.join(sorted(PRESETS))})") from None
    p = make_plan(count, tok_count, gpus, mfu, gpu)
    click.echo(json.dumps(p))
    click.echo(f"{p['params']:.3g} params x {p['tokens']:.3g} tokens = {p['flops']:.3g} FLOPs "
               f"(Chinchilla-optimal: {p['chinchilla_tokens']:.3g} tokens); {gpus} x {gpu} at {mfu:.0%} MFU: "
               f"{p['hours']:.1f} h ({p['gpu_hours']:.0f} GPU-h)", err=True)


@click.command()
@click.argument("run_or_ckpt", type=click.Path(exists=True))
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16", "float16"]), default="float32", show_default=True)
@click.option("--tokenizer", default=None, help="Tokenizer model (default: the one the manifest recorded).")
@click.option("--verify", is_flag=True, help="Load the export in transformers and compare logits with ours.")
def export(run_or_ckpt, output, dtype, tokenizer, verify) -> None:
    """A run (latest checkpoint) or checkpoint -> Hugging Face LlamaForCausalLM folder (safetensors)."""
    from corpusmill.tokenizer.model import TokenizerError
    from corpusmill.trainer.export import ExportError, compare_logits, export as run

    try:
        out = run(run_or_ckpt, output, dtype, tokenizer)
    except (ExportError, TokenizerError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as e:
        raise click.ClickException(str(e)) from None
    if verify:
        import torch

        try:
            ids = torch.randint(0, out["vocab_size"], (2, min(64, out["max_position_embeddings"])),
                                generator=torch.Generator().manual_seed(0))
            out["max_abs_logit_diff"] = compare_logits(out["checkpoint"], output, ids)
        except ImportError as e:
            raise click.ClickException(f"--verify needs transformers ({e}): pip install 'corpusmill[hf]'") from None
    click.echo(json.dumps(out))
    # float32 must match to rounding; a half-precision export differs by its rounding, so it is only reported
    if verify and dtype == "float32" and out["max_abs_logit_diff"] > 1e-4:
        raise click.ClickException(f"logits differ from ours by {out['max_abs_logit_diff']:.3g} (> 1e-4)")
