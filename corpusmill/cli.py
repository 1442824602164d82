"""The `corpus` command: parse, load config, call one function."""
from __future__ import annotations

import json
import sys

import click

from corpusmill.pipeline.config import ConfigError, load_build_config


@click.group()
@click.version_option(package_name="corpusmill")
def main() -> None:
    """corpusmill: raw dumps to a clean pretraining corpus, token shards and a trained GPT."""


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--ray-address", default=None, help="Existing Ray cluster (default: an embedded local Ray; also RAY_ADDRESS).")
@click.option("--fresh", is_flag=True, help="Forget earlier results in the output folder and start over.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs (workers) to use.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(config: str, ray_address: str | None, fresh: bool, num_cpus: int | None, quiet: bool) -> None:
    """Raw dumps -> clean documents (Parquet), removed documents with reasons, stats.json."""
    from corpusmill.pipeline.progress import part_progress
    from corpusmill.pipeline.runner import run_build

    try:
        cfg = load_build_config(config)
        with part_progress(disabled=quiet) as on_progress:
            stats = run_build(cfg, fresh=fresh, ray_address=ray_address, num_cpus=num_cpus,
                              on_progress=on_progress)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    t = stats["totals"]
    click.echo(json.dumps({"output": cfg.output, **t, "problems": sum(p["count"] for p in stats["problems"]),
                           "failed_parts": len(stats["failed_parts"]), "seconds": stats["seconds"]}))
    if stats["failed_parts"]:
        for f in stats["failed_parts"]:
            click.echo(f"part failed: {f['file']}: {f['failed']}", err=True)
        sys.exit(1)
