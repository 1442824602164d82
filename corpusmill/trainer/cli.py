"""Click commands `train`, `generate`, `plan` (registered on the `corpus` group by corpusmill.cli)."""
from __future__ import annotations

import json

import click


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, exists=True))
def train(config: str) -> None:
    """GPT pretraining from a mixture's shards (also under torchrun --nproc_per_node N)."""
    import os

    from corpusmill.trainer.config import ConfigError, load_train_config
    from corpusmill.trainer.train import train as run

    try:
        cfg = load_train_config(config)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    out = run(cfg)
    if int(os.environ.get("RANK", 0)) == 0:
        click.echo(json.dumps({"output": cfg.output, **out}))


@click.command()
@click.argument("run_or_ckpt", type=click.Path(exists=True))
@click.option("--prompt", default="", help="Text to continue.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--temperature", type=float, default=0.8, show_default=True, help="0: greedy.")
@click.option("--top-k", type=click.IntRange(min=0), default=200, show_default=True, help="0: no top-k.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tokenizer", default=None, help="Tokenizer model (default: the one the manifest recorded).")
@click.option("--device", default="auto", show_default=True)
def generate(run_or_ckpt, prompt, max_new_tokens, temperature, top_k, seed, tokenizer, device) -> None:
    """Sample text from a run folder (its latest checkpoint) or a checkpoint file."""
    from corpusmill.trainer.generate import generate_text

    try:
        click.echo(generate_text(run_or_ckpt, prompt, max_new_tokens, temperature, top_k or None, seed,
                                 tokenizer, device))
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None


@click.command()
@click.option("--params", required=True, help="Parameters: 124M, 1.3B, 7e9 ...")
@click.option("--tokens", default=None, help="Training tokens (default: Chinchilla-optimal, 20 per parameter).")
@click.option("--gpus", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--mfu", type=float, default=0.4, show_default=True, help="Model FLOPs utilisation assumed.")
@click.option("--gpu", type=click.Choice(["h100", "h200", "a100"], case_sensitive=False), default="h100", show_default=True)
def plan(params, tokens, gpus, mfu, gpu) -> None:
    """Compute plan: 6ND FLOPs, Chinchilla-optimal tokens, wall time."""
    from corpusmill.trainer.plan import parse_count, plan as make_plan

    p = make_plan(parse_count(params), parse_count(tokens) if tokens else None, gpus, mfu, gpu)
    click.echo(json.dumps(p))
    click.echo(f"{p['params']:.3g} params x {p['tokens']:.3g} tokens = {p['flops']:.3g} FLOPs "
               f"(Chinchilla-optimal: {p['chinchilla_tokens']:.3g} tokens); {gpus} x {gpu} at {mfu:.0%} MFU: "
               f"{p['hours']:.1f} h ({p['gpu_hours']:.0f} GPU-h)", err=True)
