"""`corpus mix search`: mixture weights found by measurement (RegMix-style). Each source is encoded
once (OUT/_state/encoded/, reused by every proxy); weight vectors are drawn from a Dirichlet around
the prior, within what max_epochs allows at the target's size; each draw becomes a small mixture
(`build_mixture` over the encoded sources) and a tiny proxy model (`train`), one per CPU on Ray, scored
by held-out bits per byte. A regression of bpb on the weights (fit.py) then proposes the weights.

Resumable: proxy i's weights are a function of (seed, i) alone, and its result.json is kept; a re-run
(or one with a larger proxy.runs) trains only the proxies without one.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import yaml

from corpusmill.common.config import ConfigError, diff_keys
from corpusmill.common.files import atomic_write_text
from corpusmill.common.lock import exclusive
from corpusmill.console import log
from corpusmill.mix_search import fit as search_fit
from corpusmill.mix_search.heldout import encode_files, files_bpb
from corpusmill.mix_search.spec import SearchConfig
from corpusmill.mixtures.spec import MixtureConfig, SourceSpec

WEAK_FIT = 0.5  # leave-one-out R² below this: the proposal is flagged as untrustworthy
FILES = "evaluate_files"  # the text files' entry beside the sources' in bpb_per_source
MIN_WEIGHT = 1e-9  # a source drawn at ~0 stays in the proxy's mixture (quota 0) so its validation split is written


def search_key(cfg: SearchConfig) -> dict:
    """What decides a proxy's result besides its weights: a change here makes kept results stale (caps,
    prior and concentration only move the weights, and a proxy whose weights moved is trained again)."""
    return {**cfg.model_dump(mode="json", include={"tokenizer", "evaluate", "evaluate_files",
                                                    "evaluate_tokens", "seq_len", "seed", "validation"}),
            "sources": [{"name": s.name, "path": s.path} for s in cfg.sources],
            "proxy": cfg.proxy.model_dump(mode="json", exclude={"runs"})}


def run_search(cfg: SearchConfig, *, fresh: bool = False, ray_address=None, num_cpus=None) -> dict:
    from corpusmill.common.ray_session import ray_session
    from corpusmill.common.units import Tasks, run_units
    from corpusmill.mixtures.build import encode_sources, source_refs
    from corpusmill.mixtures.encoded import EncodedSource
    from corpusmill.tokenizer.model import load_tokenizer

    tok = load_tokenizer(cfg.tokenizer)
    out = Path(cfg.output)
    base = _encoding_config(cfg)
    refs = source_refs(base)  # refuses unfinished or empty builds before anything is touched
    with exclusive(out, "mixture search"), ray_session(ray_address, num_cpus) as cpus:
        gpus = proxy_gpus(cfg)  # before anything is reset
        _check_or_reset(out, cfg, fresh)
        folders = encode_sources(base, tok, out / "_state", refs, ray_address, num_cpus)
        available = {n: EncodedSource(f, n, tok.sha256, base).train_tokens for n, f in folders.items()}
        names = [s.name for s in cfg.sources]
        caps = weight_caps(cfg, available)
        alpha = _alpha(cfg)
        units = [(i, tuple(proxy_weights(cfg.seed, i, alpha, caps))) for i in range(cfg.proxy.runs)]
        job = {"cfg": cfg.model_dump(mode="json"), "encoded": {n: str(f) for n, f in folders.items()},
               "heldout": encode_files(cfg.evaluate_files, tok, out / "_state" / "heldout.npy", cfg.evaluate_tokens)
               if cfg.evaluate_files else None}
        log.info("mix search: %d proxies of %s tokens, %d at a time (%s) in %s", len(units),
                 f"{cfg.proxy.train_tokens:,}", gpus or cpus, "one per GPU" if gpus else "one per CPU", out)
        submit = Tasks(train_proxy, (job,), num_gpus=1 if gpus else 0)
        rows = [r for _, r in run_units(units, submit, window=gpus or cpus, label="mix search",
                                        finished=lambda i, w: finished_proxy(out, i, w), unit_name="proxies",
                                        note=lambda r: f"bpb {r['bpb']:.4f}")]
    rows.sort(key=lambda r: r["proxy"])
    return write_outputs(cfg, rows, names, available, caps, alpha)


def proxy_gpus(cfg: SearchConfig) -> int:
    """GPUs the proxies run on, one each (0: on CPUs); cuda asked for on a cluster without one fails."""
    import ray

    if cfg.proxy.device == "cpu":
        return 0
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if not gpus:
        raise ConfigError("proxy.device: cuda, but the Ray cluster has no GPU; use device: cpu (one proxy per CPU)")
    return gpus


def _encoding_config(cfg: SearchConfig) -> MixtureConfig:
    """A mixture config over the search's sources: what encoding and the validation hold-out read."""
    return MixtureConfig(tokenizer=cfg.tokenizer, output=str(Path(cfg.output) / "_state"),
                         total_tokens=cfg.proxy.train_tokens, seq_len=cfg.seq_len, seed=cfg.seed, normalize=True,
                         validation=cfg.validation,
                         sources=[SourceSpec(name=s.name, path=s.path, weight=1.0) for s in cfg.sources])


def _check_or_reset(out: Path, cfg: SearchConfig, fresh: bool) -> None:
    """Kept proxy results are only valid for the same sources, proxy and evaluation: another config is
    refused unless --fresh, which deletes them (the encoded sources stay: keyed by content)."""
    path = out / "_state" / "search.json"
    wanted = search_key(cfg)
    earlier = json.loads(path.read_text()) if path.is_file() else None
    if fresh:
        shutil.rmtree(out / "proxies", ignore_errors=True)
    elif earlier is not None and earlier != wanted and (out / "proxies").exists():
        raise ConfigError(f"{out} holds proxy runs of another search configuration (differs in: "
                          f"{', '.join(diff_keys(earlier, wanted)[:12])}); re-run with --fresh to discard them, "
                          "or choose another output (proxy.runs, max_epochs, prior, concentration, fit and target "
                          "may change)")
    atomic_write_text(path, json.dumps(wanted, indent=1, sort_keys=True))


def weight_caps(cfg: SearchConfig, available: dict[str, int]) -> np.ndarray:
    """The largest weight each source may get: max_epochs x its train tokens / target.total_tokens."""
    return np.array([np.inf if s.max_epochs is None else s.max_epochs * available[s.name] / cfg.target.total_tokens
                     for s in cfg.sources])


def _alpha(cfg: SearchConfig) -> np.ndarray:
    prior = np.array(list(cfg.prior_weights().values()))
    return (cfg.concentration or len(prior)) * prior


def proxy_weights(seed: int, i: int, alpha: np.ndarray, caps: np.ndarray) -> list[float]:
    """Proxy i's weights: a function of (seed, i), so a re-run or a larger budget redraws the same ones."""
    w = search_fit.sample_weights(np.random.default_rng([seed, i, 0x5EA7C4]), alpha, caps, 1)[0]
    return [round(float(x), 9) for x in w]


def finished_proxy(out: Path, i: int, weights: tuple) -> dict | None:
    path = out / "proxies" / f"{i:04d}" / "result.json"
    if not path.is_file():
        return None
    row = json.loads(path.read_text())
    return row if list(row["weights"].values()) == list(weights) else None


def train_proxy(job: dict, i: int, weights: tuple) -> dict:
    """One proxy (in a Ray worker): its mixture over the encoded sources, a tiny model trained on it,
    and the held-out bits per byte of its last step, kept in proxies/NNNN/result.json."""
    from corpusmill.mixtures.build import build_mixture
    from corpusmill.trainer.config import TrainConfig, TrainSpec
    from corpusmill.trainer.train import train

    cfg = SearchConfig.model_validate(job["cfg"])
    p, folder = cfg.proxy, Path(cfg.output) / "proxies" / f"{i:04d}"
    names = [s.name for s in cfg.sources]
    t0 = time.time()
    _claim(folder, weights)
    mcfg = MixtureConfig(tokenizer=cfg.tokenizer, output=str(folder / "mixture"), total_tokens=p.train_tokens,
                         seq_len=cfg.seq_len, seed=cfg.seed, normalize=True, validation=cfg.validation,
                         sources=[SourceSpec(name=n, path=job["encoded"][n], weight=max(w, MIN_WEIGHT))
                                  for n, w in zip(names, weights)])
    manifest = build_mixture(mcfg, fresh=True)  # the same bytes again after a killed run
    steps = max(1, p.train_tokens // p.global_batch_tokens)
    tcfg = TrainConfig(data=mcfg.output, output=str(folder / "run"), model=p.model,
                       train=TrainSpec(steps=steps, global_batch_tokens=p.global_batch_tokens,
                                       micro_batch_size=p.micro_batch_size, lr=p.lr, warmup_steps=max(1, steps // 10),
                                       eval_every=steps, eval_batches=p.eval_batches, ckpt_every=0, keep_last=1,
                                       seq_len=cfg.seq_len, device=p.device, cpu_threads=1, seed=cfg.seed,
                                       progress=False, tensorboard=False))
    result = train(tcfg)
    per_source = _final_bpb(folder / "run" / "metrics.jsonl", steps, cfg.eval_sources)
    if job.get("heldout"):  # text files in the held-out set
        per_source[FILES] = files_bpb(folder / "run", job["heldout"], cfg.seq_len, p.device)
    row = {"proxy": i, "weights": dict(zip(names, weights)), "bpb": float(np.mean(list(per_source.values()))),
           "bpb_per_source": per_source, "val_loss": result["val_loss"], "train_loss": result["last_loss"],
           "realised_shares": {n: s["realised_share"] for n, s in manifest["sources"].items()},
           "train_tokens": steps * p.global_batch_tokens, "seconds": round(time.time() - t0, 1)}
    atomic_write_text(folder / "result.json", json.dumps(row))
    return row


def _claim(folder: Path, weights: tuple) -> None:
    """The folder holds this proxy's work only: what a proxy of other weights left there (the prior or
    the caps changed since) is removed, so its checkpoint is never resumed on other data."""
    marker = folder / "weights.json"
    if folder.exists() and (not marker.is_file() or json.loads(marker.read_text()) != list(weights)):
        shutil.rmtree(folder)
    if not marker.is_file():
        atomic_write_text(marker, json.dumps(list(weights)))


def _final_bpb(metrics: Path, step: int, sources: list[str]) -> dict[str, float]:
    got = {}
    for line in metrics.read_text().splitlines():
        r = json.loads(line)
        if r.get("kind") == "val_source" and r.get("step") == step and "bpb" in r:
            got[r["source"]] = r["bpb"]
    missing = [s for s in sources if s not in got]
    if missing:
        raise ConfigError(f"mix search: no held-out bits per byte for {missing} in {metrics}: their validation "
                          "split holds fewer than seq_len + 1 tokens; raise validation.fraction (or tokens)")
    return {s: got[s] for s in sources}


def write_outputs(cfg: SearchConfig, rows: list[dict], names: list[str], available: dict[str, int],
                  caps: np.ndarray, alpha: np.ndarray) -> dict:
    """results.jsonl, fit.json, fit.html (predicted vs measured) and mixture.yaml with the proposed weights."""
    from corpusmill.mix_search.plot import write_plot
    from corpusmill.mixtures.spec import load_mixture_config

    out = Path(cfg.output)
    atomic_write_text(out / "results.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    W = np.array([[r["weights"][n] for n in names] for r in rows])
    y = np.array([r["bpb"] for r in rows])
    try:
        f = search_fit.fit(W, y, cfg.fit)
    except ValueError as e:
        raise ConfigError(f"mix search: {e}") from None
    coef = np.array(f["coef"])
    proposed = search_fit.propose(coef, f["kind"], alpha, caps, cfg.seed)
    prior = np.array(list(cfg.prior_weights().values()))
    best = rows[int(np.argmin(y))]
    summary = {
        "proxies": len(rows), "fit": f["kind"], "r2_loo": f["r2_loo"], "r2_in_sample": f["r2_in_sample"],
        "tried": f["tried"], "terms": _terms(names, f["kind"]), "coef": f["coef"],
        "proposed": dict(zip(names, proposed.round(4).tolist())),
        "predicted_bpb": {"proposed": float(search_fit.predict(coef, proposed, f["kind"])[0]),
                          "prior": float(search_fit.predict(coef, prior, f["kind"])[0])},
        "best_proxy": {"proxy": best["proxy"], "weights": best["weights"], "bpb": best["bpb"]},
        "caps": {n: None if np.isinf(c) else float(c) for n, c in zip(names, caps)},
        "available_train_tokens": available, "evaluate": cfg.eval_sources + ([FILES] if cfg.evaluate_files else []),
        "proxy_train_tokens": cfg.proxy.train_tokens, "target_total_tokens": cfg.target.total_tokens,
    }
    atomic_write_text(out / "fit.json", json.dumps({**summary, "loo_predictions": f["loo_predictions"]}, indent=1))
    write_plot(out / "fit.html", rows, f["loo_predictions"], summary)
    path = out / "mixture.yaml"
    head = (f"# proposed by `corpus mix search` ({out}): a {f['kind']} fit of held-out bits per byte over "
            f"{len(rows)} proxies,\n# leave-one-out R² {f['r2_loo']:.3f}; predicted bpb "
            f"{summary['predicted_bpb']['proposed']:.4f} (prior: {summary['predicted_bpb']['prior']:.4f})\n")
    atomic_write_text(path, head + yaml.safe_dump(_mixture_yaml(cfg, summary["proposed"]), sort_keys=False))
    load_mixture_config(path)  # what we hand over must load as it is
    log.info("mix search: %s fit over %d proxies, leave-one-out R² %.3f; proposed %s; wrote %s", f["kind"],
             len(rows), f["r2_loo"], summary["proposed"], path)
    if not f["r2_loo"] >= WEAK_FIT:
        log.warning("mix search: the fit predicts held-out proxies poorly (leave-one-out R² %.3f < %.1f): the "
                    "proposal is little better than a guess; raise proxy.runs or proxy.train_tokens (proxy "
                    "noise hides the weights' effect) and re-run: finished proxies are kept", f["r2_loo"], WEAK_FIT)
    return {**summary, "mixture_yaml": str(path)}


def _terms(names: list[str], kind: str) -> list[str]:
    pairs = [f"{a}*{b}" for k, a in enumerate(names) for b in names[k + 1:]]
    return names + ([] if kind == "linear" else pairs)


def _mixture_yaml(cfg: SearchConfig, weights: dict[str, float]) -> dict:
    return {"tokenizer": cfg.tokenizer, "output": cfg.target.output, "total_tokens": cfg.target.total_tokens,
            "seq_len": cfg.seq_len, "seed": cfg.seed, "normalize": True,  # the weights are rounded to 4 places
            "validation": cfg.validation.model_dump(exclude_none=True),
            "sources": [{"name": s.name, "path": s.path, "weight": weights[s.name],
                         **({"max_epochs": s.max_epochs} if s.max_epochs is not None else {})}
                        for s in cfg.sources if weights[s.name] > 0]}
