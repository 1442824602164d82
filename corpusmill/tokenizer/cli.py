"""`corpus tokenizer ...`: train, encode, fertility. Thin: parse, build settings, call one function.
Registered in corpusmill/cli.py with main.add_command(tokenizer_group)."""
from __future__ import annotations

import json
import re

import click

from corpusmill.console import VERBOSE, configure, quiet, quiet_option

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """'100MB', '1.5GiB', '500k', '1000000' -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise click.BadParameter(f"{text!r}: expected a size such as 500MB, 2GiB or 1000000")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


class Size(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        return value if isinstance(value, int) else parse_size(value)


def _errors():
    from pydantic import ValidationError

    from corpusmill.common.config import ConfigError  # also unfinished inputs (ArtifactError), locks
    from corpusmill.tokenizer.model import TokenizerError
    from corpusmill.tokenizer.train import TrainError

    return (ConfigError, TokenizerError, TrainError, ValidationError)


@click.group("tokenizer")
def tokenizer_group() -> None:
    """SentencePiece tokenizer: train from clean documents, measure fertility, encode on Ray."""


@tokenizer_group.command()
@click.option("--input", "inputs", multiple=True, required=True, type=click.Path(exists=True),
              help="A `corpus build` output, a folder of parquet parts, or a parquet file. Repeatable.")
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Folder for tokenizer.model and its card.")
@click.option("--vocab-size", type=click.IntRange(min=1), default=32000, show_default=True)
@click.option("--model-type", type=click.Choice(["bpe", "unigram"]), default="bpe", show_default=True)
@click.option("--sample-bytes", type=Size(), default="1GB", show_default=True,
              help="Cap on the training sample (UTF-8 bytes of text); memory follows this, not the corpus.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--stratify", type=click.Choice(["none", "source", "lang", "source,lang"]), default="none",
              show_default=True, help="Sample each source / language / pair on its own quota.")
@click.option("--balance", type=click.Choice(["proportional", "equal"]), default="proportional", show_default=True,
              help="Stratum quotas: each stratum's share of the corpus, or equal shares.")
@click.option("--character-coverage", type=click.FloatRange(0, 1, min_open=True), default=0.99995, show_default=True)
@click.option("--user-defined-symbol", "uds", multiple=True, help="A special token that is always one piece (repeatable).")
@click.option("--control-symbol", "ctrl", multiple=True, help="A reserved id never produced from text (repeatable).")
@click.option("--special-ids", default="0,1,2,3", show_default=True, help="unk,bos,eos,pad ids; -1 disables one.")
@click.option("--byte-fallback/--no-byte-fallback", default=True, show_default=True)
@click.option("--input-sentence-size", type=click.IntRange(min=0), default=0, show_default=True,
              help="SentencePiece's own cap on lines (0: all lines of the sample).")
@click.option("--heldout-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.01, show_default=True)
@click.option("--heldout-bytes", type=Size(), default="2MB", show_default=True, help="Per source and language.")
@click.option("--spm", "spm_extra", multiple=True, metavar="KEY=VALUE", help="Any other SentencePiece trainer option.")
@click.option("--num-threads", type=click.IntRange(min=1), default=None, help="SentencePiece threads (default: all CPUs).")
@click.option("--ray-address", default=None, help="Existing Ray cluster (default: embedded local Ray; also RAY_ADDRESS).")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
@click.option("--keep-sample", is_flag=True, help="Keep OUTPUT/sample.txt (the lines SentencePiece saw).")
@click.option("--no-fertility", is_flag=True)
@click.option("--verbose", "-v", is_flag=True, help="Debug lines and SentencePiece's own log.")
@quiet_option
def train(inputs, output, vocab_size, model_type, sample_bytes, seed, stratify, balance, character_coverage, uds,
          ctrl, special_ids, byte_fallback, input_sentence_size, heldout_fraction,
          heldout_bytes, spm_extra, num_threads, ray_address, num_cpus, keep_sample, no_fertility, verbose):
    """Sample clean documents (deterministic, bounded memory) and train a SentencePiece tokenizer."""
    from corpusmill.tokenizer.sample import SampleSpec
    if verbose:
        configure(VERBOSE)
    from corpusmill.tokenizer.settings import SpmSettings
    from corpusmill.tokenizer.train import train_tokenizer

    try:
        ids = [int(x) for x in special_ids.split(",")]
        if len(ids) != 4:
            raise ValueError
    except ValueError:
        raise click.BadParameter("expected four integers unk,bos,eos,pad", param_hint="--special-ids") from None
    extra = {}
    for kv in spm_extra:
        k, sep, v = kv.partition("=")
        if not sep:
            raise click.BadParameter(f"{kv!r}: expected KEY=VALUE", param_hint="--spm")
        extra[k.strip()] = v
    try:
        settings = SpmSettings(
            vocab_size=vocab_size, model_type=model_type, character_coverage=character_coverage,
            user_defined_symbols=list(uds), control_symbols=list(ctrl), byte_fallback=byte_fallback,
            unk_id=ids[0], bos_id=ids[1], eos_id=ids[2], pad_id=ids[3], input_sentence_size=input_sentence_size,
            num_threads=num_threads, extra=extra)
        spec = SampleSpec(sample_bytes=sample_bytes, seed=seed,
                          stratify=() if stratify == "none" else tuple(stratify.split(",")), balance=balance,
                          heldout_fraction=heldout_fraction, heldout_bytes=heldout_bytes,
                          max_line_bytes=settings.max_sentence_length)
        card = train_tokenizer(list(inputs), output, settings, spec, ray_address=ray_address, num_cpus=num_cpus,
                               keep_sample=keep_sample, fertility=not no_fertility, verbose=verbose)
    except _errors() as e:
        raise click.ClickException(str(e)) from None
    report = card.pop("fertility_report")
    if report:
        if not quiet():
            click.echo(report, err=True)
    elif not no_fertility:
        click.echo(f"no fertility report: no document fell in the held-out {heldout_fraction:.1%} "
                   "(raise --heldout-fraction)", err=True)
    s = card["sample"]
    click.echo(json.dumps({"output": output, "sha256": card["sha256"], "vocab_size": card["vocab_size"],
                           "sample_documents": s["sample_documents"], "sample_bytes": s["sample_bytes"],
                           "seconds": card["seconds"], "peak_rss_mb": card["peak_rss_mb"]}))


@tokenizer_group.command()
@click.option("--tokenizer", "tok_path", required=True, type=click.Path(), help="Folder from `train`, or a .model file.")
@click.option("--input", "inputs", multiple=True, type=click.Path(exists=True),
              help="Documents to measure (default: the held-out slice saved beside the tokenizer).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Save the report as JSON here.")
def fertility(tok_path, inputs, output):
    """Tokens per word / per character and bytes per token, per source and language."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpusmill.tokenizer.fertility import fertility as measure, format_report, save_report
    from corpusmill.tokenizer.inputs import iter_batches, list_parts
    from corpusmill.tokenizer.model import load_tokenizer, model_path

    try:
        tok = load_tokenizer(tok_path)
        if inputs:
            docs = pa.concat_tables(b for p in list_parts(list(inputs)) for b in iter_batches(p, ("text", "source", "lang")))
        else:
            held = model_path(tok_path).with_name("heldout.parquet")
            if not held.is_file():
                raise click.ClickException(f"no {held}: pass --input")
            docs = pq.read_table(held)
    except _errors() as e:
        raise click.ClickException(str(e)) from None
    rows = measure(tok, docs)
    click.echo(format_report(rows))
    if output:
        save_report(rows, Path(output), tok, ",".join(inputs) or "heldout.parquet")


@tokenizer_group.command()
@click.option("--tokenizer", "tok_path", required=True, type=click.Path())
@click.option("--input", "inputs", multiple=True, required=True, type=click.Path(exists=True))
@click.option("--output", required=True, type=click.Path(file_okay=False))
@click.option("--expect-sha256", default=None, help="Fail unless the tokenizer has this sha256.")
@click.option("--bos/--no-bos", default=True, show_default=True)
@click.option("--eos/--no-eos", default=True, show_default=True)
@click.option("--columns", default="id,source", show_default=True, help="Columns kept beside `tokens`.")
@click.option("--format", "file_format", type=click.Choice(["arrow", "parquet"]), default="arrow", show_default=True,
              help="arrow: uncompressed, memory-mapped by `corpus mix` (it reads only the documents it samples); "
                   "parquet: zstd, smaller on disk and over the network, read a row group at a time.")
@click.option("--ray-address", default=None)
@click.option("--num-cpus", type=click.IntRange(min=1), default=None)
def encode(tok_path, inputs, output, expect_sha256, bos, eos, columns, file_format, ray_address, num_cpus):
    """Encode clean documents on Ray into parts of token arrays (Arrow or Parquet) plus manifest.json."""
    from corpusmill.tokenizer.encode import write_encoded
    from corpusmill.tokenizer.model import load_tokenizer

    try:
        tok = load_tokenizer(tok_path, expect_sha256, "--expect-sha256")
        m = write_encoded(list(inputs), tok, output, add_bos=bos, add_eos=eos,
                          columns=tuple(c for c in columns.split(",") if c), file_format=file_format, ray_address=ray_address,
                          num_cpus=num_cpus)
    except _errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps({"output": output, "documents": m["documents"], "tokens": m["tokens"],
                           "files": len(m["files"]), "tokenizer_sha256": m["tokenizer_sha256"]}))


if __name__ == "__main__":  # lets the benchmark run a training in a fresh process
    tokenizer_group()
