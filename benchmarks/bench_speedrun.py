"""Tokens to a loss: corpusmill's trainer with the speedrun options (Muon, QK-norm, ReLU^2, zero-init
projections, z-loss, WSD) against the nanoGPT recipe (AdamW on everything, warmup + cosine, the
LLaMA-style model as it was), each at the best LR of a small sweep, on a fixed mixture of real
English text from ../shared/data (Austen, Chesterton, Milton, Whitman, Shakespeare: books cut into
~2,000-character documents; every 20th document is validation), byte-level tokens (vocab 258:
256 bytes + BOS + EOS; no tokenizer training in the benchmark).

Both sides run the same loop, data order, model size and validation windows: the only differences
are the recipe's options. Per run: validation loss at the token budget, and the tokens at which the
validation curve (every --eval-every steps, linearly interpolated) first reaches the baseline's
final loss. JSON lines: one per run, then a summary per seed with the ratios, then the ablation
(ours minus one option at a time, on --ablate-seeds seeds). `align` (BOS-aligned windows) reports
the share of target tokens read twice (`repeated_share`; nothing is dropped or padded);
--doc-chars sets the documents' length (windows per document). Goal (issue 18): the baseline's final
loss in <= 0.7x its tokens at <= 1.15x its time per token."""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, shared_data, skip  # noqa: E402

from corpusmill.mixtures.shards import ShardMeta, ShardWriter  # noqa: E402
from corpusmill.trainer.config import ModelSpec, SpikeSpec, TrainConfig, TrainSpec  # noqa: E402
from corpusmill.trainer.metrics import read_metrics  # noqa: E402

BOOKS = ["austen-emma.txt", "austen-persuasion.txt", "chesterton-thursday.txt", "milton-paradise.txt",
         "whitman-leaves.txt", "shakespeare-hamlet.txt"]
VOCAB, BOS, EOS = 258, 256, 257
# pinned, not the defaults: the baseline must stay the nanoGPT recipe whatever the defaults become
BASELINE = dict(model={"qk_norm": False, "mlp": "swiglu", "zero_init": False},
                train={"optimizer": "adamw", "schedule": "cosine", "z_loss": 0.0})
# ours: each option of issue 18; the ablation drops one at a time
OPTIONS = {"muon": ("train", "optimizer", "muon"), "qk_norm": ("model", "qk_norm", True),
           "relu2": ("model", "mlp", "relu2"), "zero_init": ("model", "zero_init", True),
           "z_loss": ("train", "z_loss", 1e-4), "wsd": ("train", "schedule", "wsd"),
           "align": ("train", "align", "bos")}


def build_mixture(folder: Path, seq_len: int, doc_chars: int = 2000) -> dict:
    """The fixed mixture: books cut at line ends into documents of ~doc_chars, byte tokens, 1 in 20 held out."""
    rnd = random.Random(0)
    docs = []
    for name in BOOKS:
        text = (shared_data() / "text" / "en" / "gutenberg" / name).read_text(encoding="utf-8", errors="replace")
        cur, size = [], 0
        for line in text.splitlines(keepends=True):
            cur.append(line)
            size += len(line)
            if size >= doc_chars:
                docs.append((name.split(".")[0], "".join(cur)))
                cur, size = [], 0
    rnd.shuffle(docs)
    meta = ShardMeta(vocab_size=VOCAB, bos_id=BOS, eos_id=EOS, tokenizer_sha256="b" * 64)
    manifest = {"format": "corpusmill-mixture/1", "seq_len": seq_len, "seed": 0,
                "tokenizer": {"path": "bytes", "vocab_size": VOCAB, "bos_id": BOS, "eos_id": EOS,
                              "tokenizer_sha256": meta.tokenizer_sha256}}
    for split, keep in (("train", lambda i: i % 20), ("validation", lambda i: not i % 20)):
        chosen = [(s, t.encode()) for i, (s, t) in enumerate(docs) if keep(i)]
        w = ShardWriter(folder / f"{split}-00000.arrow", meta)
        w.write([np.array([BOS, *b, EOS], dtype=np.uint16) for _, b in chosen], [s for s, _ in chosen])
        w.close()
        manifest[split] = {"shards": [{"file": f"{split}-00000.arrow", "documents": len(chosen), "tokens": w.tokens}]}
        if split == "validation":  # bytes per token = 1 (+ BOS/EOS): bits per byte ~ loss / ln 2
            manifest[split]["sources"] = {"all": {"tokens": w.tokens, "text_bytes": sum(len(b) for _, b in chosen)}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return {"documents": len(docs), "train_tokens": manifest["train"]["shards"][0]["tokens"],
            "val_tokens": manifest["validation"]["shards"][0]["tokens"]}


def recipe(options: list[str]) -> dict:
    r = {"model": dict(BASELINE["model"]), "train": dict(BASELINE["train"])}
    for o in options:
        part, key, value = OPTIONS[o]
        r[part][key] = value
    return r


def run(mix: Path, out: Path, a, options: list[str], lr: float, seed: int) -> dict:
    from corpusmill.trainer.train import train
    r = recipe(options)
    cfg = TrainConfig(
        data=str(mix), output=str(out),
        model=ModelSpec(n_layer=a.layers, n_head=a.heads, d_model=a.d_model, **r["model"]),
        train=TrainSpec(steps=a.steps, global_batch_tokens=a.batch * a.seq_len, micro_batch_size=a.batch, lr=lr,
                        warmup_steps=a.warmup, eval_every=a.eval_every, eval_batches=a.eval_batches, ckpt_every=0,
                        keep_last=1, seed=seed, cpu_threads=a.threads, progress=False, tensorboard=False, **r["train"]),
        spike=SpikeSpec(enabled=False))
    res = train(cfg)
    rows = read_metrics(out / "metrics.jsonl")
    curve = [(r["step"] * a.batch * a.seq_len, r["loss"]) for r in rows if r["kind"] == "val"]
    start = next(r for r in rows if r["kind"] == "start")
    return {"options": options, "lr": lr, "seed": seed, "val_loss": curve[-1][1], "curve": curve,
            "tokens_per_s": res["tokens_per_s"], "repeated_share": start.get("repeated_share", 0.0)}


def tokens_to(curve: list[tuple[int, float]], target: float) -> float | None:
    """First point where the validation curve reaches target, interpolated between evaluations."""
    prev = (0, float("inf"))
    for tok, loss in curve:
        if loss <= target:
            if prev[1] == float("inf"):
                return float(tok)
            return prev[0] + (tok - prev[0]) * (prev[1] - target) / (prev[1] - loss)
        prev = (tok, loss)
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=96)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--eval-batches", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--baseline-lrs", default="1e-3,2e-3,4e-3")
    ap.add_argument("--ours-lrs", default="2e-3,4e-3,8e-3")
    ap.add_argument("--options", default=",".join(OPTIONS), help="ours: comma-separated options")
    ap.add_argument("--ablate", nargs="?", const="all", default="",
                    help="also ours minus each option (or minus those listed, comma-separated)")
    ap.add_argument("--ablate-seeds", type=int, default=1, help="seeds of each ablation run (0, 1, ...)")
    ap.add_argument("--doc-chars", type=int, default=2000, help="documents cut at the first line end past this")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time (each on --threads threads)")
    a = ap.parse_args()
    if not (shared_data() / "text" / "en" / "gutenberg").is_dir():
        skip("speedrun", f"no {shared_data()}/text/en/gutenberg")
    ours_opts = [o for o in a.options.split(",") if o]
    with tempfile.TemporaryDirectory() as d, ProcessPoolExecutor(a.jobs, mp_context=get_context("spawn")) as pool:
        d = Path(d)
        (d / "mix").mkdir()
        emit({"bench": "speedrun", "mixture": build_mixture(d / "mix", a.seq_len, a.doc_chars), "args": vars(a)})
        n = iter(range(10 ** 6))

        def many(jobs: list[tuple[list[str], float, int, str]]) -> list[dict]:
            """Independent runs, --jobs at a time (each on its own thread count)."""
            futures = [pool.submit(run, d / "mix", d / f"run{next(n)}", a, o, lr, seed) for o, lr, seed, _ in jobs]
            out = []
            for (_, _, _, tag), f in zip(jobs, futures):
                r = f.result()
                emit({"bench": "speedrun", "run": tag, **{k: v for k, v in r.items() if k != "curve"},
                      "tokens_per_s": round(r["tokens_per_s"], 1)})
                out.append(r)
            return out

        # 1. LR sweeps on seed 0: the baseline at its best, ours at its best
        blrs, olrs = [float(x) for x in a.baseline_lrs.split(",")], [float(x) for x in a.ours_lrs.split(",")]
        sweep = many([([], lr, 0, "baseline_sweep") for lr in blrs] + [(ours_opts, lr, 0, "ours_sweep") for lr in olrs])
        base = min(sweep[:len(blrs)], key=lambda r: r["val_loss"])
        ours = min(sweep[len(blrs):], key=lambda r: r["val_loss"])
        # 2. both at their best LR over the seeds (seed 0 from the sweep); with --ablate, each option
        # dropped from ours (ours' LR, seeds 0..ablate_seeds-1) in the same batch of runs
        seeds = list(range(1, a.seeds))
        jobs = [j for s in seeds for j in (([], base["lr"], s, "baseline"), (ours_opts, ours["lr"], s, "ours"))]
        ablated = ours_opts if a.ablate == "all" else [o for o in a.ablate.split(",") if o]
        if unknown := [o for o in ablated if o not in ours_opts]:
            raise SystemExit(f"--ablate {','.join(unknown)}: not among --options {','.join(ours_opts)}")
        if a.ablate_seeds > a.seeds:
            raise SystemExit(f"--ablate-seeds {a.ablate_seeds}: at most --seeds ({a.seeds}), the seeds ours ran")
        abl_seeds = range(a.ablate_seeds)
        jobs += [([x for x in ours_opts if x != o], ours["lr"], s, f"ours_minus_{o}") for o in ablated for s in abl_seeds]
        done = many(jobs)
        pairs = [(base, ours)] + [(done[2 * i], done[2 * i + 1]) for i in range(len(seeds))]
        ratios = []
        for seed, (b, o) in enumerate(pairs):
            budget = b["curve"][-1][0]
            reach = tokens_to(o["curve"], b["val_loss"])
            row = {"bench": "speedrun", "summary": "seed", "seed": seed, "baseline_lr": b["lr"], "ours_lr": o["lr"],
                   "baseline_val_loss": round(b["val_loss"], 4), "ours_val_loss": round(o["val_loss"], 4),
                   "ours_tokens_to_baseline_final": reach, "budget_tokens": budget,
                   "token_ratio": round(reach / budget, 3) if reach else None,
                   "time_per_token_ratio": round(b["tokens_per_s"] / o["tokens_per_s"], 3)}
            ratios.append(row)
            emit(row)
        tr = [r["token_ratio"] for r in ratios if r["token_ratio"]]
        emit({"bench": "speedrun", "summary": "all", "seeds": a.seeds,
              "baseline_val_loss_mean": round(statistics.mean(r["baseline_val_loss"] for r in ratios), 4),
              "ours_val_loss_mean": round(statistics.mean(r["ours_val_loss"] for r in ratios), 4),
              "token_ratio_mean": round(statistics.mean(tr), 3) if tr else None, "reached": f"{len(tr)}/{len(ratios)}",
              "time_per_token_ratio_mean": round(statistics.mean(r["time_per_token_ratio"] for r in ratios), 3)})
        # 3. the ablation: ours without each option, at ours' LR, against ours and the baseline of the same seed
        minus_runs = iter(done[2 * len(seeds):])
        for o in ablated:
            for s in abl_seeds:
                minus, (b, o_run) = next(minus_runs), pairs[s]
                emit({"bench": "speedrun", "summary": "ablation", "option": o, "seed": s,
                      "ours_val_loss": round(o_run["val_loss"], 4), "ours_minus_val_loss": round(minus["val_loss"], 4),
                      "ours_tokens_to_baseline_final": tokens_to(o_run["curve"], b["val_loss"]),
                      "ours_minus_tokens_to_baseline_final": tokens_to(minus["curve"], b["val_loss"]),
                      "ours_repeated_share": o_run["repeated_share"], "ours_minus_repeated_share": minus["repeated_share"],
                      "ours_tokens_per_s": round(o_run["tokens_per_s"], 1),
                      "ours_minus_tokens_per_s": round(minus["tokens_per_s"], 1)})


if __name__ == "__main__":
    main()
