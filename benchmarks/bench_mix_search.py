"""`corpus mix search` pays: a search over 3 real sources (novels, Shakespeare, news) with tiny
proxies, then the proposed weights against the uniform mixture and each single source, all trained at
--scale times the proxies' token budget, over --seeds seeds (each seed: its own model init, data order
and validation hold-out). Held-out bits per byte = the mean over the --evaluate sources' validation
splits (default all three), the objective the search fitted. JSON lines: the search (proxies, R², proposal, seconds), each
contender per seed, and the summary with the ratios proposed / uniform and proposed / best single.

    PYTHONPATH=. python benchmarks/bench_mix_search.py [--runs 12] [--seeds 3] [--scale 4]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, shared_data, skip  # noqa: E402

BENCH = "mix_search"


def write_docs(folder: Path, name: str, texts: list[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [f"{name}-{i}" for i in range(len(texts))], "text": texts,
                             "source": [name] * len(texts), "lang": [None] * len(texts)}), folder / "part-0.parquet")


def chunks(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size) if text[i:i + size].strip()]


def prepare(work: Path, data: Path) -> None:
    """Three sources of different size and style, and a tokenizer trained on all three."""
    import sentencepiece as spm

    gut = data / "text" / "en" / "gutenberg"
    novels = "".join((gut / f).read_text(encoding="utf-8", errors="replace")
                     for f in ("austen-emma.txt", "austen-persuasion.txt", "chesterton-brown.txt"))
    shakespeare = (data / "text" / "en" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    news = [n for n in (data / "text" / "en" / "lee_news_background.cor").read_text().splitlines() if n.strip()]
    write_docs(work / "novels", "novels", chunks(novels, 4000))
    write_docs(work / "shakespeare", "shakespeare", chunks(shakespeare, 4000))
    write_docs(work / "news", "news", news)
    (work / "tok").mkdir()
    (work / "sample.txt").write_text(novels[:400_000] + "\n" + shakespeare[:400_000] + "\n" + "\n".join(news))
    spm.SentencePieceTrainer.train(input=str(work / "sample.txt"), model_prefix=str(work / "tok" / "tokenizer"),
                                   vocab_size=2000, model_type="bpe", byte_fallback=True, unk_id=0, bos_id=1,
                                   eos_id=2, pad_id=3, minloglevel=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="/tmp/corpusmill-bench-mix-search")
    ap.add_argument("--runs", type=int, default=12, help="proxy runs")
    ap.add_argument("--proxy-tokens", type=int, default=65_536)
    ap.add_argument("--scale", type=int, default=4, help="the comparison runs train on this many times the proxy tokens")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="start over: delete --work first")
    ap.add_argument("--evaluate", default="novels,shakespeare,news",
                    help="the held-out set: these sources' validation splits (mean bits per byte)")
    args = ap.parse_args()
    data = shared_data()
    if not (data / "text" / "en" / "tinyshakespeare.txt").is_file():
        skip(BENCH, f"real data not available at {data}")

    from corpusmill.common.ray_session import ray_session
    from corpusmill.common.units import Tasks, run_units
    from corpusmill.console import QUIET, configure
    from corpusmill.mix_search.search import run_search, train_proxy
    from corpusmill.mix_search.spec import SearchConfig

    configure(QUIET)
    work = Path(args.work)
    if args.fresh or not (work / "tok" / "tokenizer.model").is_file():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        prepare(work, data)  # else: the same data again, and the search resumes (finished proxies kept)
    names = ["novels", "shakespeare", "news"]
    cfg = SearchConfig.model_validate({
        "tokenizer": str(work / "tok"), "output": str(work / "search"), "seq_len": 128, "seed": 0,
        "validation": {"fraction": 0.05}, "target": {"total_tokens": args.proxy_tokens * args.scale},
        "sources": [{"name": "novels", "path": str(work / "novels")},
                    {"name": "shakespeare", "path": str(work / "shakespeare")},
                    {"name": "news", "path": str(work / "news"), "max_epochs": 4}],
        "proxy": {"runs": args.runs, "model": {"n_layer": 2, "n_head": 2, "d_model": 64},
                  "train_tokens": args.proxy_tokens, "global_batch_tokens": 2048, "micro_batch_size": 16,
                  "lr": 3e-3, "eval_batches": 4}, "evaluate": args.evaluate.split(",")})
    with ray_session(None, args.num_cpus) as cpus:
        t0 = time.time()
        found = run_search(cfg)
        search_s = time.time() - t0
        emit({"bench": BENCH, "stage": "search", "evaluate": cfg.eval_sources, "proxies": found["proxies"], "fit": found["fit"],
              "r2_loo": round(found["r2_loo"], 4), "proposed": found["proposed"], "caps": found["caps"],
              "best_proxy_bpb": round(found["best_proxy"]["bpb"], 4), "seconds": round(search_s, 1),
              "proxy_seconds_sum": round(sum(json.loads(line)["seconds"] for line in
                                             (work / "search" / "results.jsonl").read_text().splitlines()), 1),
              "proxy_tokens": args.proxy_tokens})
        contenders = {"proposed": [found["proposed"][n] for n in names], "uniform": [1 / 3] * 3,
                      **{f"only {n}": [float(n == m) for m in names] for n in names}}
        units = []
        for seed in range(1, args.seeds + 1):
            big = cfg.model_copy(update={"output": str(work / f"final-seed{seed}"), "seed": seed,
                                         "proxy": cfg.proxy.model_copy(update={"train_tokens": args.proxy_tokens * args.scale})})
            job = {"cfg": big.model_dump(mode="json"),
                   "encoded": {n: str(p) for n, p in _encoded(work / "search", names).items()}}
            units += [(job, i, tuple(w)) for i, w in enumerate(contenders.values())]
        t0 = time.time()
        bpb: dict[str, list[float]] = {c: [] for c in contenders}
        for (job, i, _), row in run_units(units, Tasks(train_proxy), window=cpus, label="bench", ordered=True):
            name = list(contenders)[i]
            bpb[name].append(row["bpb"])
            emit({"bench": BENCH, "stage": "compare", "contender": name, "seed": job["cfg"]["seed"],
                  "bpb": round(row["bpb"], 4), "bpb_per_source": {k: round(v, 4) for k, v in row["bpb_per_source"].items()}})
    mean = {c: float(np.mean(v)) for c, v in bpb.items()}
    single = min((c for c in contenders if c.startswith("only ")), key=mean.get)
    wins = {"vs_uniform": sum(p < u for p, u in zip(bpb["proposed"], bpb["uniform"])),
            "vs_best_single": sum(p < s for p, s in zip(bpb["proposed"], bpb[single]))}
    emit({"bench": BENCH, "stage": "summary", "seeds": args.seeds, "scale": args.scale,
          "target_tokens": args.proxy_tokens * args.scale, "mean_bpb": {c: round(v, 4) for c, v in mean.items()},
          "best_single": single, "ratio_vs_uniform": round(mean["proposed"] / mean["uniform"], 4),
          "ratio_vs_best_single": round(mean["proposed"] / mean[single], 4), "seeds_won": wins,
          "compare_seconds": round(time.time() - t0, 1)})


def _encoded(search: Path, names: list[str]) -> dict[str, Path]:
    """The search's encoded sources (one folder per source under _state/encoded/)."""
    return {n: next((search / "_state" / "encoded").glob(f"{n}-*")) for n in names}


if __name__ == "__main__":
    main()
