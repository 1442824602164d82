"""`corpus tokenizer train`: sample on Ray, train SentencePiece, write the model, its card, the
held-out slice and the fertility report.

OUTPUT/tokenizer.model   the SentencePiece model (its sha256 names it everywhere downstream)
OUTPUT/tokenizer.vocab   piece<TAB>score, for people
OUTPUT/tokenizer.json    the card: settings, sample statistics, sha256, timings, peak memory
OUTPUT/heldout.parquet   the held-out documents (never trained on) fertility is measured on
OUTPUT/fertility.json    tokens per word / per character and bytes per token, per source and language
"""
from __future__ import annotations

import io
import json
import os
import resource
import time
from dataclasses import asdict
from pathlib import Path

import pyarrow.parquet as pq

from corpusmill import __version__
from corpusmill.console import log
from corpusmill.common import artifact
from corpusmill.common.files import atomic_path, atomic_write_text, temp_path
from corpusmill.common.lock import exclusive
from corpusmill.tokenizer.inputs import resolve_inputs
from corpusmill.tokenizer.model import CARD_FILE, MODEL_FILE, Tokenizer
from corpusmill.tokenizer.sample import SampleSpec, sample_documents
from corpusmill.tokenizer.settings import SpmSettings

CARD_FORMAT = "corpusmill-tokenizer/1"


class TrainError(Exception):
    """Nothing to train on, or SentencePiece refused the settings for this sample."""


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _canonical(model: bytes) -> bytes:
    """The model without what names this run rather than the tokenizer (sample path, thread count),
    so the same settings and sample give the same bytes, hence the same sha256, anywhere."""
    try:
        from sentencepiece import sentencepiece_model_pb2 as pb
    except ImportError:  # protobuf absent: the model stays as SentencePiece wrote it
        return model
    proto = pb.ModelProto()
    proto.ParseFromString(model)
    for name in ("input", "model_prefix", "num_threads"):
        proto.trainer_spec.ClearField(name)
    return proto.SerializeToString()


def run_sentencepiece(sample_path: Path, settings: SpmSettings, seed: int, cpus: int,
                      verbose: bool = False) -> bytes:
    import sentencepiece as spm

    kw = settings.trainer_kwargs(cpus)
    # Meant for SentencePiece's own line sampling (input_sentence_size); 0.2.3 gives the same
    # model for any seed there (measured), so the documents our sampler picks are what the seed changes.
    spm.set_random_generator_seed(seed)
    buf = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(input=str(sample_path), model_writer=buf,
                                       minloglevel=0 if verbose else 2, **kw)
    except RuntimeError as e:  # e.g. vocab_size too large for a small sample (unigram)
        raise TrainError(f"SentencePiece: {e}") from None
    return _canonical(buf.getvalue())


def _write_vocab(tok: Tokenizer, path: Path) -> None:
    sp = tok.sp
    atomic_write_text(path, "".join(f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(tok.vocab_size)))


def train_tokenizer(inputs: list[str], output: str | os.PathLike, settings: SpmSettings, spec: SampleSpec, *,
                    ray_address: str | None = None, num_cpus: int | None = None, keep_sample: bool = False,
                    fertility: bool = True, verbose: bool = False) -> dict:
    """Everything `corpus tokenizer train` does; returns the card (also written as tokenizer.json)."""
    t0 = time.perf_counter()
    parts, refs = resolve_inputs(inputs, "tokenizer train")
    out = Path(output)
    with exclusive(out, "tokenizer folder"):
        artifact.clear(out)
        (out / CARD_FILE).unlink(missing_ok=True)  # a stale card must never vouch for a new model
        card = _train(parts, inputs, out, settings, spec, t0, ray_address, num_cpus, keep_sample, fertility, verbose)
        artifact.write(out, "tokenizer", config={"settings": card["settings"], "sample_spec": card["sample_spec"]},
                       fingerprint=card["sha256"], inputs=refs,
                       details={"vocab_size": card["vocab_size"], "model": MODEL_FILE})
    return card


def _train(parts, inputs, out: Path, settings: SpmSettings, spec: SampleSpec, t0: float, ray_address, num_cpus,
           keep_sample: bool, fertility: bool, verbose: bool) -> dict:
    from corpusmill.common.ray_session import ray_session
    from corpusmill.tokenizer.fertility import fertility as measure, format_report, save_report

    sample_path = out / "sample.txt" if keep_sample else temp_path(out / "sample.txt")
    try:
        with ray_session(ray_address, num_cpus) as cpus:
            t_ray = time.perf_counter() - t0
            sample = sample_documents(parts, spec, sample_path, cpus)
        t_sample = time.perf_counter() - t0
        rss_sample = _peak_rss_mb()
        if sample.stats["sample_lines"] == 0:
            raise TrainError(f"no text to train on in {len(parts)} parts of {inputs} "
                             f"(held-out fraction {spec.heldout_fraction})")
        threads = settings.num_threads or num_cpus or os.cpu_count() or 1
        log.info("tokenizer: SentencePiece %s, vocab %d, on a sample of %s bytes (%d documents, %d lines), "
                 "%d threads", settings.model_type, settings.vocab_size, f"{sample.stats['sample_bytes']:,}",
                 sample.stats["sample_documents"], sample.stats["sample_lines"], threads)
        model = run_sentencepiece(sample_path, settings, spec.seed, threads, verbose)
        t_train = time.perf_counter() - t0 - t_sample
    finally:
        if not keep_sample:
            sample_path.unlink(missing_ok=True)
    with atomic_path(out / MODEL_FILE) as tmp:
        tmp.write_bytes(model)
    tok = Tokenizer(model, str(out / MODEL_FILE))
    _write_vocab(tok, out / "tokenizer.vocab")
    heldout_path = out / "heldout.parquet"
    with atomic_path(heldout_path) as tmp:
        pq.write_table(sample.heldout, tmp, compression="zstd")
    report = None
    if fertility and sample.heldout.num_rows:
        rows = measure(tok, sample.heldout)
        save_report(rows, out / "fertility.json", tok, heldout_path.name)
        report = format_report(rows)
    card = {
        "format": CARD_FORMAT,
        "sha256": tok.sha256,
        "model": MODEL_FILE,
        "vocab_size": tok.vocab_size,
        "dtype": str(tok.dtype),
        "special_ids": {"unk": tok.unk_id, "bos": tok.bos_id, "eos": tok.eos_id, "pad": tok.pad_id},
        "user_defined_symbols": settings.user_defined_symbols,
        "control_symbols": settings.control_symbols,
        "settings": settings.model_dump(mode="json"),
        # BPE gives the same model for any thread count; unigram's EM does not (float sums in
        # another order), so the count is recorded here although the model no longer carries it.
        "trainer_kwargs": settings.trainer_kwargs(threads),
        "sample_spec": asdict(spec) | {"stratify": list(spec.stratify)},
        "sample": sample.stats,
        "inputs": [str(i) for i in inputs],
        "seconds": {"ray_start": round(t_ray, 2), "sample": round(t_sample - t_ray, 2), "train": round(t_train, 2),
                    "total": round(time.perf_counter() - t0, 2)},
        "peak_rss_mb": {"driver_after_sample": rss_sample, "driver": _peak_rss_mb(),
                        "sample_workers": sample.stats["worker_peak_rss_mb"]},
        "versions": {"corpusmill": __version__, "sentencepiece": _spm_version()},
    }
    atomic_write_text(out / CARD_FILE, json.dumps(card, indent=1, ensure_ascii=False))
    log.info("tokenizer: wrote %s, tokenizer.vocab, %s, heldout.parquet%s to %s", MODEL_FILE, CARD_FILE,
             ", fertility.json" if report else "", out)
    card["fertility_report"] = report  # printed by the CLI, not part of the card
    return card


def _spm_version() -> str:
    import sentencepiece

    return getattr(sentencepiece, "__version__", "?")
