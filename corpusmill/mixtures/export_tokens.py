"""`corpus export-tokens MIX --format megatron|nanogpt|mds -o DIR`: a finished mixture's train and
validation splits in another trainer's format, streamed shard by shard and record batch by record
batch (memory flat in the mixture's size), documents in the mixture's order and unchanged.

    megatron  DIR/train.bin + train.idx, DIR/val.bin + val.idx   (--data-path / --train-data-path DIR/train)
    nanogpt   DIR/train.bin, DIR/val.bin, DIR/meta.pkl            (nanoGPT's data/<name>/ folder)
    mds       DIR/train/, DIR/val/ (index.json + shard.*.mds)    (StreamingDataset(local=DIR, split='train'))

DIR/export.json records the format, dtype, BOS/EOS ids, vocabulary and counts; DIR/artifact.json
names the mixture it came from (lineage) and is written last.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from corpusmill.common import artifact
from corpusmill.common.config import ConfigError
from corpusmill.common.files import TMP_MARK, atomic_path, atomic_write_text, remove_temp_files
from corpusmill.common.lock import LOCK_FILE, exclusive
from corpusmill.console import log, task
from corpusmill.mixtures.formats.mds import DEFAULT_SHARD_BYTES, MDSWriter
from corpusmill.mixtures.formats.megatron import MegatronWriter
from corpusmill.mixtures.formats.nanogpt import NanoGPTWriter
from corpusmill.mixtures.shards import Shard, ShardMeta

FORMATS = ("megatron", "nanogpt", "mds")
SPLITS = (("train", "train"), ("validation", "val"))  # manifest key, name in the export
EXPORT_FILE = "export.json"


def _writer(fmt: str, out: Path, name: str, meta: ShardMeta, mds_shard_bytes: int):
    if fmt == "megatron":
        return MegatronWriter(out / name, meta.vocab_size)
    if fmt == "nanogpt":
        return NanoGPTWriter(out / f"{name}.bin", meta.vocab_size)
    return MDSWriter(out / name, meta.vocab_size, mds_shard_bytes)


def export_tokens(mixture: str | Path, fmt: str, output: str | Path, *,
                  mds_shard_bytes: int = DEFAULT_SHARD_BYTES) -> dict:
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    mixture, out = Path(mixture), Path(output)
    m = artifact.require(mixture, "mixture", "export-tokens")  # refuses an unfinished mixture, saying what to run
    if out.resolve() == mixture.resolve() or mixture.resolve() in out.resolve().parents:
        raise ConfigError(f"export-tokens: -o {out} is inside the mixture {mixture}; choose a folder outside it")
    manifest = json.loads((mixture / "manifest.json").read_text())
    splits = {key: [mixture / s["file"] for s in manifest.get(key, {}).get("shards", [])] for key, _ in SPLITS}
    if not splits["train"]:
        raise ConfigError(f"export-tokens: {mixture} lists no train shards; re-run `corpus mix` on its mixture.yaml")
    meta = Shard(splits["train"][0]).meta
    _check_output(out, fmt)
    with exclusive(out, "token export"):
        artifact.clear(out)
        remove_temp_files(out)  # a killed export's half-written files
        written = {name: _export_split(paths, _writer(fmt, out, name, meta, mds_shard_bytes), meta, name)
                   for (key, name), paths in zip(SPLITS, splits.values())}
        info = _describe(fmt, meta, manifest, written)
        atomic_write_text(out / EXPORT_FILE, json.dumps(info, indent=1))
        if fmt == "nanogpt":
            with atomic_path(out / "meta.pkl") as tmp:
                tmp.write_bytes(pickle.dumps({"vocab_size": meta.vocab_size, "dtype": info["dtype"],
                                              "bos_id": meta.bos_id, "eos_id": meta.eos_id}))
        artifact.write(out, "token-export", config={"format": fmt, "mds_shard_bytes": mds_shard_bytes},
                       fingerprint=artifact.sha256_json(info), inputs=[artifact.input_ref(m, mixture, "mixture")],
                       details={"format": fmt, "train_tokens": written["train"]["tokens"]})
    log.info("export-tokens: %s train and %s validation tokens as %s in %s", f"{written['train']['tokens']:,}",
             f"{written['val']['tokens']:,}", fmt, out)
    return info


_WRITES = {"megatron": {"train.bin", "train.idx", "val.bin", "val.idx"}, "nanogpt": {"train.bin", "val.bin", "meta.pkl"},
           "mds": {"train", "val"}}


def _check_output(out: Path, fmt: str) -> None:
    """Only an export of the same format is replaced (or what a killed one left): never another
    command's output, nor files a user keeps there."""
    if not out.exists():
        return
    m = artifact.read(out)
    if m is not None and (m["kind"] != "token-export" or m["details"].get("format") != fmt):
        what = f"a {m['details'].get('format')} token export" if m["kind"] == "token-export" else f"a {m['kind']}"
        raise ConfigError(f"export-tokens: {out} holds {what}; choose another folder (or delete it first)")
    ours = _WRITES[fmt] | {EXPORT_FILE, artifact.ARTIFACT_FILE, LOCK_FILE}
    other = sorted(p.name for p in out.iterdir() if p.name not in ours and TMP_MARK not in p.name)
    if other:
        raise ConfigError(f"export-tokens: {out} holds files a {fmt} export does not write ({', '.join(other[:5])}); "
                          "choose an empty or new folder")


def _export_split(paths: list[Path], writer, meta: ShardMeta, name: str) -> dict:
    try:
        with task(f"export {name}", total=len(paths), unit="shards") as advance:
            for p in paths:
                shard = Shard(p)
                if shard.meta != meta:
                    raise ConfigError(f"export-tokens: {p} was written with another tokenizer or vocabulary than "
                                      f"{paths[0].name}; re-run `corpus mix` on its mixture.yaml")
                for tokens, lengths, codes, names in shard.batches():
                    writer.write(tokens, lengths, codes, names)
                advance()
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def _describe(fmt: str, meta: ShardMeta, manifest: dict, written: dict) -> dict:
    return {"format": fmt, "dtype": written["train"]["dtype"], "vocab_size": meta.vocab_size, "bos_id": meta.bos_id,
            "eos_id": meta.eos_id, "tokenizer_sha256": meta.tokenizer_sha256, "seq_len": manifest.get("seq_len"),
            "eos": (f"every document ends with EOS id {meta.eos_id} (none needs appending), but the one a "
                    "downsampled source's quota cut" if meta.eos_id >= 0 else "the tokenizer has no EOS"),
            "splits": written, "sources": sorted(manifest.get("sources", {}))}
