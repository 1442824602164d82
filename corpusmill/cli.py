"""The `corpus` command: parse, load config, call one function."""
from __future__ import annotations

import json
import sys

import click

from corpusmill.console import NORMAL, configure, log, verbosity_options
from corpusmill.pipeline.config import ConfigError, load_build_config


class _Corpus(click.Group):
    """Ctrl-C is a message and exit status 130, not a traceback: every command resumes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted: re-run the same command to resume", err=True)
            ctx.exit(130)


@click.group(cls=_Corpus)
@click.version_option(package_name="corpusmill")
def main() -> None:
    """corpusmill: raw dumps to a clean pretraining corpus, token shards and a trained GPT."""
    configure(NORMAL)  # each command's --quiet / --verbose then adjusts it


def _register() -> None:
    """Commands that live beside their code (tokenizer/, trainer/)."""
    from corpusmill.tokenizer.cli import tokenizer_group
    from corpusmill.trainer.cli import export, generate, plan, train

    for command in (tokenizer_group, train, generate, plan, export):
        main.add_command(command)


@main.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--ray-address", default=None, help="Existing Ray cluster (default: an embedded local Ray; also RAY_ADDRESS).")
@click.option("--fresh", is_flag=True, help="Forget earlier results in the output folder and start over.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs (workers) to use.")
@click.option("--max-problems", type=click.IntRange(min=0), default=None,
              help="Exit with status 3 when the input had more problems than this (for CI); the build is kept.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="N records of each source, spread over its files/parts (the same every time), into OUTPUT-limitN: quick tuning.")
@click.option("--dry-run", is_flag=True, help="Print inputs, parts, sizes, stages and an estimated time; write nothing.")
@verbosity_options
def build(config: str, ray_address: str | None, fresh: bool, num_cpus: int | None, max_problems: int | None,
          limit: int | None, dry_run: bool) -> None:
    """Raw dumps -> clean documents (Parquet), removed documents with reasons, stats.json."""
    from corpusmill.pipeline.runner import run_build

    try:
        cfg = load_build_config(config)
        if limit is not None:
            cfg.limit, cfg.output = limit, f"{cfg.output.rstrip('/')}-limit{limit}"
        if dry_run:
            from corpusmill.pipeline.dryrun import format_plan, plan

            click.echo(format_plan(plan(cfg, num_cpus)))
            return
        stats = run_build(cfg, fresh=fresh, ray_address=ray_address, num_cpus=num_cpus, config_path=config)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    _report_after_build(cfg.output)
    t = stats["totals"]
    click.echo(json.dumps({"output": cfg.output, **t, "problems": sum(p["count"] for p in stats["problems"]),
                           "failed_parts": len(stats["failed_parts"]), "seconds": stats["seconds"]}))
    if stats["failed_parts"]:  # each was logged as it failed
        sys.exit(1)
    problems = sum(p["count"] for p in stats["problems"])
    if max_problems is not None and problems > max_problems:
        click.echo(f"input problems: {problems} > --max-problems {max_problems} (see stats.json)", err=True)
        sys.exit(3)


@main.command("select")
@click.argument("annotated", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder to write (a build output).")
@click.option("--set", "sets", multiple=True, metavar="STAGE.KEY=VALUE",
              help="A threshold to apply, e.g. quality.gopher.min_doc_words=30 (repeatable; value read as YAML).")
@click.option("--config", "select_yaml", type=click.Path(dir_okay=False), default=None,
              help="A YAML whose `select:` mapping holds STAGE.KEY: VALUE pairs (--set wins).")
@click.option("--ray-address", default=None, help="Existing Ray cluster for the global stages (dedup).")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs (workers) for the global stages.")
@verbosity_options
def select_cmd(annotated: str, output: str, sets: tuple[str, ...], select_yaml: str | None,
               ray_address: str | None, num_cpus: int | None) -> None:
    """Apply thresholds to an annotate build (`mode: annotate`): documents/, removed/ and stats.json as a build
    with those thresholds writes them, dedup run on what is kept; no stage recomputes anything."""
    from corpusmill.common.config import load_yaml
    from corpusmill.pipeline.select import run_select
    from corpusmill.pipeline.select_config import parse_sets

    try:
        chosen = {}
        if select_yaml:
            section = load_yaml(select_yaml, "select config").get("select")
            if not isinstance(section, dict):
                raise ConfigError(f"{select_yaml}: expected a `select:` mapping of STAGE.KEY: VALUE")
            chosen.update({str(k): v for k, v in section.items()})
        chosen.update(parse_sets(list(sets)))
        stats = run_select(annotated, output, chosen, ray_address=ray_address, num_cpus=num_cpus)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    _report_after_build(output)
    t = stats["totals"]
    click.echo(json.dumps({"output": output, **t, "seconds": stats["seconds"]}))


def _report_after_build(root: str) -> None:
    """report.html beside stats.json. A report that cannot be drawn is logged; it never fails the build."""
    from corpusmill.report import write_report

    try:
        log.info("report: %s", write_report(root))
    except Exception as e:  # noqa: BLE001 - the documents and stats.json are already written
        log.warning("report.html not written (%s: %s); the build is complete: `corpus report %s` retries",
                    type(e).__name__, e, root)


@main.group()
def quality() -> None:
    """Model-based quality: train the fastText classifier the `classifier` stage applies."""


@quality.command("train")
@click.option("--positive", multiple=True, required=True, help="Good text: .txt, .jsonl, .parquet or a folder of parquet (repeatable).")
@click.option("--negative", multiple=True, required=True, help="Bad text, same forms (repeatable).")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="Model file to write (and OUTPUT.json, its card).")
@click.option("--unit", type=click.Choice(["line", "paragraph", "file"]), default="paragraph", help="Text files: one example per ...")
@click.option("--valid-fraction", type=float, default=0.1, show_default=True, help="Held out for the accuracy in the card.")
@click.option("--epoch", type=int, default=5, show_default=True)
@click.option("--word-ngrams", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def quality_train(positive, negative, output, unit, valid_fraction, epoch, word_ngrams, seed) -> None:
    """Train a DCLM-style fastText classifier: `hq` (positive) against `lq` (negative)."""
    from corpusmill.stages.classifier.train import train

    try:
        card = train(list(positive), list(negative), output, unit=unit, valid_fraction=valid_fraction,
                     epoch=epoch, word_ngrams=word_ngrams, seed=seed)
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps({k: card[k] for k in ("examples", "train", "held_out", "held_out_accuracy",
                                                "hq_precision", "hq_recall")}))


class _Mix(click.Group):
    """`corpus mix mixture.yaml` builds a mixture (the `build` subcommand, implied); `corpus mix search
    search.yaml` looks for its weights."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["build", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_Mix)
def mix() -> None:
    """Mixtures: `corpus mix mixture.yaml` writes one (same as `corpus mix build`); `corpus mix search
    search.yaml` finds its weights with proxy models."""


@mix.command("search")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--fresh", is_flag=True, help="Discard the proxy runs of another search config (the encoded sources stay).")
@click.option("--ray-address", default=None, help="Existing Ray cluster (default: an embedded local Ray).")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs (proxies trained at once).")
@verbosity_options
def mix_search(config: str, fresh: bool, ray_address: str | None, num_cpus: int | None) -> None:
    """Weights by measurement: tiny proxy models on sampled weights, a fit of held-out bits per byte on
    the weights, and a mixture.yaml with the weights it predicts best. Re-running resumes."""
    from corpusmill.mix_search.search import run_search
    from corpusmill.mix_search.spec import load_search_config
    from corpusmill.tokenizer.model import TokenizerError

    try:
        result = run_search(load_search_config(config), fresh=fresh, ray_address=ray_address, num_cpus=num_cpus)
    except (ConfigError, TokenizerError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{result['proxies']} proxies; {result['fit']} fit, leave-one-out R² {result['r2_loo']:.3f}; "
               f"best proxy bpb {result['best_proxy']['bpb']:.4f}; proposed "
               + ", ".join(f"{n} {w:.3f}" for n, w in result["proposed"].items())
               + f" (predicted bpb {result['predicted_bpb']['proposed']:.4f}); wrote {result['mixture_yaml']}")


@mix.command("build")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing. Sources not encoded yet are estimated from a sample.")
@click.option("--fresh", is_flag=True, help="Replace a mixture made with another config (the encoded cache stays).")
@click.option("--ray-address", default=None, help="Existing Ray cluster (default: an embedded local Ray).")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs (workers) to use.")
@verbosity_options
def mix_build(config: str, dry_run: bool, fresh: bool, ray_address: str | None, num_cpus: int | None) -> None:
    """A weighted mixture -> Arrow token shards (train/validation) + manifest.json."""
    from corpusmill.mixtures.build import build_mixture
    from corpusmill.mixtures.plan import SourcePlan, format_plan
    from corpusmill.mixtures.spec import load_mixture_config
    from corpusmill.tokenizer.model import TokenizerError

    try:
        cfg = load_mixture_config(config)
        result = build_mixture(cfg, dry_run=dry_run, fresh=fresh, ray_address=ray_address, num_cpus=num_cpus)
    except (ConfigError, TokenizerError) as e:
        raise click.ClickException(str(e)) from None
    if dry_run:
        for k, phase in enumerate(result.get("phases") or []):
            spec = cfg.phases[k]
            click.echo(f"phase {k} (until {spec.until:g} of total_tokens):")
            click.echo(format_plan([SourcePlan(**p) for p in phase], sum(p["quota_tokens"] for p in phase)))
        if result.get("phases"):
            click.echo("all phases:")
        click.echo(format_plan([SourcePlan(**p) for p in result["plan"]], cfg.total_tokens))
        for name, e in result["estimated"].items():
            click.echo(f"{name}: not encoded yet; available tokens estimated: {e['bytes']:,} bytes of text x "
                       f"{e['tokens_per_byte']} tokens/byte (measured on {e['sample_bytes']:,} bytes), "
                       f"{e['documents']:,} documents")
        return
    for k, ph in enumerate(result.get("phases") or []):
        click.echo(f"phase {k} (until {ph['until']:g}): {ph['tokens']:,} tokens, realised "
                   + ", ".join(f"{n} {sh:.4f} (weight {ph['weights'].get(n, 0):.3f})" for n, sh in ph["realised_shares"].items()))
    for name, s in result["sources"].items():
        click.echo(f"{name}: weight {s['weight']:.3f} realised {s['realised_share']:.4f} epochs {s['epochs']:.2f} "
                   f"train {s['train'].get('tokens', 0):,} tokens, validation {s['validation'].get('tokens', 0):,}")
    click.echo(f"wrote {len(result['train']['shards'])} train and {len(result['validation']['shards'])} "
               f"validation shards and manifest.json to {cfg.output}")


@main.command("export-tokens")
@click.argument("mixture", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["megatron", "nanogpt", "mds"]), required=True,
              help="megatron: indexed .bin/.idx; nanogpt: flat train.bin/val.bin + meta.pkl; mds: MosaicML streaming.")
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option("--mds-shard-bytes", type=click.IntRange(min=1, max=(1 << 32) - 1), default=1 << 26, show_default=True,
              help="mds: bytes per shard file (MDSWriter's size_limit).")
@verbosity_options
def export_tokens(mixture: str, fmt: str, output: str, mds_shard_bytes: int) -> None:
    """A finished mixture's train/validation token shards in Megatron, nanoGPT or MDS format."""
    from corpusmill.mixtures.export_tokens import export_tokens as run

    try:
        info = run(mixture, fmt, output, mds_shard_bytes=mds_shard_bytes)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    s = info["splits"]
    click.echo(f"wrote {s['train']['documents']:,} train documents ({s['train']['tokens']:,} tokens) and "
               f"{s['val']['documents']:,} validation documents ({s['val']['tokens']:,} tokens) as {fmt} "
               f"({info['dtype']}) to {output}")


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="HTML file to write (default: OUT/report.html).")
@click.option("--max-docs", type=click.IntRange(min=1), default=300_000, show_default=True,
              help="Documents whose text lengths are measured; past it, a fixed sample (the page says so).")
@verbosity_options
def report(out: str, output: str | None, max_docs: int) -> None:
    """(Re)write report.html of a build output: funnel, reasons, lengths, languages, dedup, PII."""
    from corpusmill.report import ReportError, write_report

    try:
        path = write_report(out, output, max_docs=max_docs)
    except ReportError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path}")


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--removed", is_flag=False, flag_value="", default=None, metavar="[STAGE]",
              help="Removed documents instead of kept ones: of every stage, or of STAGE (removed/STAGE/).")
@click.option("--reason", multiple=True, help="Removed for this reason (repeatable; implies --removed).")
@click.option("--source", multiple=True, help="From this input (repeatable).")
@click.option("--lang", multiple=True, help="With this language label (repeatable).")
@click.option("--id", "ids", multiple=True, help="This document id (repeatable).")
@click.option("--where", default=None, help="An expression over the columns, e.g. "
              "\"quality.gopher.mean_word_length < 3 and lang == 'en'\"; the language is described above.")
@click.option("-n", "n", type=click.IntRange(min=1), default=5, show_default=True, help="Documents to show.")
@click.option("--seed", type=int, default=None, help="A random sample of n (the same for a seed), not the first n.")
@click.option("--full", is_flag=True, help="The whole text (default: cut at --max-chars).")
@click.option("--max-chars", type=click.IntRange(min=1), default=600, show_default=True, help="Text shown per document.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document and line (for scripts).")
def inspect(out, removed, reason, source, lang, ids, where, n, seed, full, max_chars, as_json) -> None:
    """Show documents of a build output OUT, kept or removed, with their annotations and text.

    Streams over the Parquet files (never loads the output whole). --where takes comparisons
    (== != < <= > >=, `in [..]`, `is None`), and/or/not, + - * / and len(), contains(),
    startswith(), lower(), is_null(), col("name") over the columns, dotted names as written by
    the stages: quality.gopher.mean_word_length, length.words, sensitive.badwords, duplicate_of.
    """
    from rich.console import Console

    from corpusmill.inspection import show
    from corpusmill.inspection.select import Query, build_root, find
    from corpusmill.inspection.where import parse

    if reason and removed is None:
        removed = ""
    try:
        root = build_root(out)
        q = Query(removed=removed, reasons=list(reason), sources=list(source), langs=list(lang), ids=list(ids),
                  where=parse(where) if where else None, n=max(n, len(ids)), seed=seed)
        found = find(root, q)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    what = "kept documents" if removed is None else f"documents removed{' by ' + removed if removed else ''}"
    if as_json:
        for line in show.json_lines(found, full, max_chars):
            click.echo(line)
        click.echo(show.summary(found, what, seed), err=True)
        return
    console = Console(soft_wrap=False)
    show.render(console, found, full, max_chars)
    console.print(show.summary(found, what, seed), style="dim", markup=False, highlight=False)


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="The summary as JSON.")
def contamination(out: str, as_json: bool) -> None:
    """Evaluation-set contamination found by the decontaminate stage in a build: per reference set, the
    index (n-grams, kind, memory, false-positive rate) and the documents and n-grams matched."""
    from corpusmill.report.contamination import contamination as summary, format_table

    try:
        found = summary(out)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(found, indent=1) if as_json else format_table(found))


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="The tree as JSON.")
def lineage(path: str, as_json: bool) -> None:
    """The chain behind a run (or checkpoint), mixture, tokenizer or build: each artifact with its
    fingerprint, and whether each input is unchanged since it was used."""
    from corpusmill.common.lineage import format_tree, trace

    try:
        tree = trace(path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(tree, indent=1) if as_json else "\n".join(format_tree(tree)))


_register()
