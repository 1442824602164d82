"""`corpus mix`: encode each source once (cached under OUT/_state/encoded/), hold out a
validation share, plan quotas, and write train/validation token shards plus manifest.json.

Same config, same bytes: every choice is a function of (seed, source, document id). Re-running
after a crash reuses the encoded sources and rewrites the shards identically.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from corpusmill.console import log, task
from corpusmill.faults import kill_point
from corpusmill.mixtures.encoded import EncodedSource
from corpusmill.mixtures.interleave import interleave, window_shuffle
from corpusmill.mixtures.plan import SourcePlan, combined, plan_phases, plan_quotas
from corpusmill.mixtures.shards import ShardMeta, ShardWriter
from corpusmill.mixtures.spec import MixtureConfig
from corpusmill.common import artifact
from corpusmill.common.artifact import build_documents
from corpusmill.common.config import ConfigError, diff_keys
from corpusmill.common.files import atomic_write_text, remove_temp_files
from corpusmill.common.lock import exclusive

ENCODED = "corpusmill-encoded/1"


def source_refs(cfg: MixtureConfig) -> dict[str, dict]:
    """Each source as lineage names it (kind, path, fingerprint), checked before any work: a build
    must be complete and not empty; a pre-tokenized folder is fingerprinted by its manifest."""
    refs = {}
    for s in cfg.sources:
        given = Path(s.path) / "manifest.json"
        manifest = json.loads(given.read_text()) if given.is_file() else {}
        if manifest.get("format") == ENCODED:
            refs[s.name] = {"name": s.name, "kind": "encoded", "path": str(Path(s.path).resolve()),
                            "fingerprint": artifact.sha256_json(manifest)}
        else:
            refs[s.name] = {"name": s.name, **build_documents(s.path, f"mix: sources.{s.name}")[1]}
    return refs


def encode_sources(cfg: MixtureConfig, tok, state: Path, refs: dict[str, dict], ray_address=None,
                   num_cpus=None) -> dict[str, Path]:
    """Each source's encoded folder: a pre-tokenized input as it is, else encoded once into
    state/encoded/NAME-KEY, KEY from the source's fingerprint and the tokenizer's sha256: a rebuilt
    source or another tokenizer is encoded again, never served from a stale cache."""
    from corpusmill.tokenizer.encode import write_encoded

    folders = {}
    for s in cfg.sources:
        if refs[s.name]["kind"] == "encoded":
            folders[s.name] = Path(s.path)
            continue
        done = _cached(state, s.name, refs[s.name], tok)
        for stale in [state / "encoded" / s.name, *(state / "encoded").glob(f"{s.name}-*")]:
            if stale != done and stale.is_dir():  # an earlier build of the source, or another tokenizer
                shutil.rmtree(stale)
        if not (done / "manifest.json").is_file():
            log.info("mix: encoding %s (%s) with %s", s.name, s.path, cfg.tokenizer)
            tmp = state / "encoded" / f".{done.name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            write_encoded([s.path], tok, tmp, ray_address=ray_address, num_cpus=num_cpus, label=f"encode {s.name}")
            shutil.rmtree(done, ignore_errors=True)
            tmp.rename(done)
            kill_point("mix.encoded")
        folders[s.name] = done
    return folders


def mixture_config(cfg: MixtureConfig) -> dict:
    """What decides the shards (the output folder itself does not)."""
    return cfg.model_dump(mode="json", exclude={"output"})


def build_mixture(cfg: MixtureConfig, *, dry_run: bool = False, fresh: bool = False, ray_address=None,
                  num_cpus=None) -> dict:
    from corpusmill.tokenizer.model import load_tokenizer

    tok = load_tokenizer(cfg.tokenizer)
    refs = source_refs(cfg)  # refuses unfinished or empty builds before anything is touched
    out = Path(cfg.output)
    with exclusive(out, "mixture"):
        _check_or_reset(out, cfg, fresh, dry_run)
        return _mix(cfg, tok, refs, out, dry_run, ray_address, num_cpus)


def _check_or_reset(out: Path, cfg: MixtureConfig, fresh: bool, dry_run: bool) -> None:
    """Like build: a folder holding a mixture of another config is refused unless --fresh, which
    deletes the shards and manifests (the encoded cache stays: it is keyed by content)."""
    if dry_run:  # writes nothing, so it neither refuses nor deletes
        return
    path = out / "_state" / "config.json"
    wanted = mixture_config(cfg)
    earlier = json.loads(path.read_text()) if path.is_file() else None
    has_output = (out / "manifest.json").exists() or any(out.glob("*.arrow"))
    if fresh:
        _clear_outputs(out)
    elif has_output and earlier is not None and earlier != wanted:
        raise ConfigError(f"{out} holds a mixture made with another configuration (differs in: "
                          f"{', '.join(diff_keys(earlier, wanted)[:12])}); re-run with --fresh to replace it")
    elif has_output and earlier is None:
        raise ConfigError(f"{out} holds token shards of unknown origin (no _state/config.json); re-run with "
                          "--fresh to replace them, or choose another output")
    atomic_write_text(path, json.dumps(wanted, indent=1, sort_keys=True))


def _dry_run(cfg: MixtureConfig, tok, refs: dict, out: Path) -> dict:
    """The plan from exact counts where a source is already encoded, else from an estimate."""
    from corpusmill.mixtures.estimate import estimate_train_tokens

    available, estimated = {}, {}
    for s in cfg.sources:
        done = _cached(out / "_state", s.name, refs[s.name], tok) if refs[s.name]["kind"] != "encoded" else Path(s.path)
        if (done / "manifest.json").is_file():
            available[s.name] = EncodedSource(done, s.name, tok.sha256, cfg).train_tokens
        else:
            frac = cfg.validation.fraction if cfg.validation.fraction is not None else 0.0
            est = estimate_train_tokens(build_documents(s.path, f"mix: sources.{s.name}")[0], tok, frac)
            available[s.name], estimated[s.name] = est["tokens"], est
    phases = _plan(cfg, available)
    plans = phases[0] if cfg.phases is None else combined(phases, available)
    return {"plan": [p.to_dict() for p in plans], "dry_run": True, "estimated": estimated,
            "phases": None if cfg.phases is None else [[p.to_dict() for p in ph] for ph in phases]}


def _cached(state: Path, name: str, ref: dict, tok) -> Path:
    return state / "encoded" / f"{name}-{artifact.sha256_json([ref['fingerprint'], tok.sha256])[:16]}"


def _mix(cfg: MixtureConfig, tok, refs: dict, out: Path, dry_run: bool, ray_address, num_cpus) -> dict:
    if dry_run:
        return _dry_run(cfg, tok, refs, out)
    state = out / "_state"
    folders = encode_sources(cfg, tok, state, refs, ray_address, num_cpus)
    sources = {s.name: EncodedSource(folders[s.name], s.name, tok.sha256, cfg) for s in cfg.sources}
    phases = _plan(cfg, {n: e.train_tokens for n, e in sources.items()})
    plans = phases[0] if cfg.phases is None else combined(phases, {n: e.train_tokens for n, e in sources.items()})
    meta = ShardMeta(tok.vocab_size, tok.bos_id, tok.eos_id, tok.sha256, tuple(s.name for s in cfg.sources))
    _clear_outputs(out)
    remove_temp_files(out, "*.arrow", recursive=False)  # a killed run's half-written shards
    planned = sum(p.quota_tokens for p in plans)
    log.info("mix: writing %s planned train tokens from %d sources to %s", f"{planned:,}", len(plans), out)
    if cfg.phases is None:
        train = _write_split(out, "train", meta, cfg.shard_tokens,
                             _train_docs(sources, plans, cfg.seed, cfg.shuffle_window), planned)
    else:
        train = _write_phases(out, meta, cfg, sources, phases, planned)
    val = _write_validation(out, meta, cfg.shard_tokens, sources, tok)
    manifest = _manifest(cfg, tok, plans, sources, train, val)
    if cfg.phases is not None:
        manifest["phases"] = train.pop("phases")
    manifest["inputs"] = list(refs.values())
    kill_point("mix.manifest")
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    artifact.write(out, "mixture", config=mixture_config(cfg), fingerprint=artifact.sha256_json(manifest),
                   inputs=[tokenizer_ref(tok, cfg.tokenizer), *refs.values()],
                   details={"train_tokens": sum(s["tokens"] for s in train["shards"]), "seq_len": cfg.seq_len,
                            "tokenizer_sha256": tok.sha256})
    log.info("mix: %d train and %d validation shards and manifest.json in %s", len(train["shards"]),
             len(val["shards"]), out)
    return manifest


def _clear_outputs(out: Path) -> None:
    """The manifests first: a run killed after this must not leave them naming shards being rewritten."""
    artifact.clear(out)
    (out / "manifest.json").unlink(missing_ok=True)
    for old in out.glob("*.arrow"):
        old.unlink()


def tokenizer_ref(tok, path: str) -> dict:
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    m = artifact.read(folder)
    if m is not None and m["kind"] == "tokenizer" and m["fingerprint"] == tok.sha256:
        return {"name": "tokenizer", **artifact.input_ref(m, folder)}
    return {"name": "tokenizer", "kind": "tokenizer", "path": str(Path(path).resolve()), "fingerprint": tok.sha256}


def _plan(cfg: MixtureConfig, available: dict[str, int]) -> list[list[SourcePlan]]:
    """The quotas: one plan, or one per curriculum phase (epochs counted across phases)."""
    caps = {s.name: s.max_epochs for s in cfg.sources}
    if cfg.phases is None:
        return [plan_quotas({s.name: s.weight for s in cfg.sources}, available, caps, cfg.total_tokens, cfg.on_cap)]
    return plan_phases([(p.until, p.weights) for p in cfg.phases], available, caps, cfg.total_tokens, cfg.on_cap)


def _train_docs(sources: dict[str, EncodedSource], plans: list[SourcePlan], seed: int, window: int,
                offsets: dict[str, int] | None = None, phase: int = 0):
    """Every source's documents, shuffled within a window and interleaved by share (interleave.py).
    offsets (a curriculum's phase): each source's tokens used by earlier phases, where this one goes on."""
    def docs(p: SourcePlan):
        return _source_docs(sources[p.name], p) if offsets is None else _span_docs(sources[p.name], p, offsets[p.name])

    salt = [phase] if offsets is not None else []
    streams = {p.name: window_shuffle(docs(p), window, np.random.default_rng([seed, i, 0x5EED, *salt]))
               for i, p in enumerate(plans)}
    yield from interleave(streams, {p.name: p.quota_tokens for p in plans})


def _span_docs(src: EncodedSource, p: SourcePlan, offset: int):
    for epoch, mask in src.spans(offset, offset + p.quota_tokens):
        for _, tokens in src.docs(mask):
            yield p.name, epoch, tokens


def _write_phases(out: Path, meta: ShardMeta, cfg: MixtureConfig, sources: dict[str, EncodedSource],
                  phases: list[list[SourcePlan]], planned: int) -> dict:
    """A curriculum's train split: each phase's shards in turn (train-NNNNN.arrow numbered on), each
    shard entry naming its phase; per phase the planned and realised shares."""
    shards, counts, described = [], {}, []
    offsets = dict.fromkeys(sources, 0)
    with task("mix train", total=planned, unit="tokens") as advance:
        for k, (spec, plans) in enumerate(zip(cfg.phases, phases)):
            docs = _train_docs(sources, plans, cfg.seed, cfg.shuffle_window, offsets, phase=k)
            part = _write_shards(out, "train", meta, cfg.shard_tokens, docs, advance, first=len(shards))
            shards += [{**s, "phase": k} for s in part["shards"]]
            for p in plans:
                offsets[p.name] += p.quota_tokens
            for n, c in part["sources"].items():
                t = counts.setdefault(n, {"documents": 0, "tokens": 0, "epochs_started": 0})
                t["documents"] += c["documents"]
                t["tokens"] += c["tokens"]
                t["epochs_started"] = max(t["epochs_started"], c["epochs_started"])
            tokens = sum(c["tokens"] for c in part["sources"].values()) or 1
            described.append({"until": spec.until, "weights": spec.weights, "planned": [p.to_dict() for p in plans],
                              "tokens": sum(c["tokens"] for c in part["sources"].values()),
                              "realised_shares": {n: c["tokens"] / tokens for n, c in part["sources"].items()},
                              "shards": [s["file"] for s in part["shards"]]})
    return {"shards": shards, "sources": counts, "phases": described}


def _source_docs(src: EncodedSource, p: SourcePlan):
    """One source: whole epochs first, then the deterministic sample for the fractional one."""
    full, rest = divmod(p.quota_tokens, src.train_tokens)
    take = src.sample(rest) if rest else None
    for epoch in range(int(full) + (1 if rest else 0)):
        partial = epoch == full
        for row, tokens in src.docs(take > 0 if partial else ~src.is_val):
            yield p.name, epoch, tokens[:take[row]] if partial else tokens


def _val_docs(src: EncodedSource, tok, text_bytes: dict):
    """The source's validation documents; counts the UTF-8 bytes of their text as the tokenizer decodes
    it, for bits per byte (a loss comparable across tokenizers)."""
    for _, tokens in src.docs(src.is_val):
        text_bytes[src.name] = text_bytes.get(src.name, 0) + len(tok.decode(tokens).encode())
        yield src.name, 0, tokens


def _write_validation(out: Path, meta: ShardMeta, shard_tokens: int, sources: dict[str, EncodedSource], tok) -> dict:
    """Each source's validation documents in shards of their own (the trainer evaluates each source
    apart); every shard entry names its source."""
    shards, counts, text_bytes = [], {}, {}
    with task("mix val", total=None, unit="tokens") as advance:
        for name, src in sources.items():
            part = _write_shards(out, "val", meta, shard_tokens, _val_docs(src, tok, text_bytes), advance,
                                 first=len(shards))
            shards += [{**s, "source": name} for s in part["shards"]]
            counts.update({n: {**c, "text_bytes": text_bytes.get(n, 0)} for n, c in part["sources"].items()})
    return {"shards": shards, "sources": counts}


def _write_split(out: Path, split: str, meta: ShardMeta, shard_tokens: int, docs, planned: int | None) -> dict:
    """Shards SPLIT-00000.arrow ... of about shard_tokens each; counts per source."""
    with task(f"mix {split}", total=planned, unit="tokens") as advance:
        return _write_shards(out, split, meta, shard_tokens, docs, advance)


def _write_shards(out: Path, split: str, meta: ShardMeta, shard_tokens: int, docs, advance, first: int = 0) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    shards, counts = [], {}
    writer, buf, srcs = None, [], []

    def flush():
        if buf:
            writer.write(buf, srcs)
            advance(sum(map(len, buf)))
            buf.clear()
            srcs.clear()

    def close():
        flush()
        writer.close()
        shards.append({"file": writer.path.name, "documents": writer.documents, "tokens": writer.tokens})

    try:
        for name, epoch, tokens in docs:
            if writer is None:
                writer = ShardWriter(out / f"{split}-{first + len(shards):05d}.arrow", meta)
            buf.append(tokens)
            srcs.append(name)
            c = counts.setdefault(name, {"documents": 0, "tokens": 0, "epochs_started": 0})
            c["documents"] += 1
            c["tokens"] += len(tokens)
            c["epochs_started"] = max(c["epochs_started"], epoch + 1)
            if len(buf) >= 1024:
                flush()
            if writer.tokens + sum(map(len, buf)) >= shard_tokens:
                close()
                writer = None
                kill_point(f"mix.{split}_shard")
        if writer is not None:
            close()
    except BaseException:
        if writer is not None:  # no temp shard left behind by an error
            writer.abort()
        raise
    return {"shards": shards, "sources": counts}


def _manifest(cfg: MixtureConfig, tok, plans: list[SourcePlan], sources, train: dict, val: dict) -> dict:
    total = sum(c["tokens"] for c in train["sources"].values()) or 1
    config = cfg.model_dump(mode="json")
    return {
        "format": "corpusmill-mixture/1", "config": config,
        "config_sha256": hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest(),
        "tokenizer": {**tok.metadata(), "path": cfg.tokenizer}, "seq_len": cfg.seq_len, "seed": cfg.seed,
        "train": train, "validation": val,
        "sources": {p.name: {"weight": p.weight, "realised_share": train["sources"].get(p.name, {}).get("tokens", 0) / total,
                             "planned_tokens": p.quota_tokens, "available_train_tokens": p.available_tokens,
                             "epochs": round(train["sources"].get(p.name, {}).get("tokens", 0) / p.available_tokens, 4),
                             "capped": p.capped,
                             "train": train["sources"].get(p.name, {}), "validation": val["sources"].get(p.name, {})}
                    for p in plans},
    }
