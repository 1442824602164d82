"""Does cleaning pay? The same tiny GPT, trained for the same number of tokens on (a) the raw extracted
text of a crawl and (b) the cleaned corpus built from the same crawl, scored on held-out clean reference
text: the gold article bodies of ScrapingHub pages that neither corpus contains.

The crawl (all real pages, plus optional synthetic crawl noise):
  * every real WARC/ARC under ../shared/data/warc: a 2020 Common Crawl sample (mostly Chinese), two 2024
    wget crawls of English sites, and the Internet Archive's 2008 Heritrix crawl of archive.org, both as
    WARC *and* as ARC (the same crawl twice: real duplicates, as when two crawls overlap);
  * the training share of the 181 ScrapingHub article pages (html/*.html.gz), written into a WARC as HTTP
    200 responses with their real URLs (real news pages: menus, footers, related links and all);
  * the quickstart's demo dump (examples/quickstart/make_demo_dump.py, --demo-pages; 0 leaves it out):
    exact and near duplicates, junk pages, five other languages, planted PII, legacy charsets.
A fixed, deterministic set of --heldout ScrapingHub pages (a seeded sample of the sorted ids) is left out
of the crawl; their gold articleBody is the evaluation text. The script asserts that no held-out URL and no
held-out article has half or more of its word 13-grams in either corpus, and reports the overlap that
remains (sibling pages of one site share template paragraphs).

(a) raw     = `corpus build` with only `extract: {}` (the default hybrid extractor);
(b) cleaned = `corpus build` with the default chain: extract, normalize, length, langid [en], quality,
              sensitive, dedup, the same extractor options.
One SentencePiece model for both (trained on the union of the two corpora, so neither side gets a tokenizer
fitted to it alone; bits per byte would compare across tokenizers anyway). For each seed, both mixtures get
the same token budget (total_tokens = steps x global batch; a smaller corpus is repeated, a larger one
sampled; seed = the mixture seed and the training seed), and `corpus train` trains the same preset with the
same steps, batch, schedule and seed (spike recovery off, so no run changes its own schedule). The final
checkpoint is scored on the held-out gold text: each article as BOS + tokens + EOS, back to back, cut into
non-overlapping windows of seq_len (every token but the first predicted once); bits/byte = summed loss in
nats / ln 2 / UTF-8 bytes of the gold text (the primary figure, tokenizer-independent), ppl = exp(mean loss
per token). Primary: the English held-out pages (lid.176 on the gold text; the ScrapingHub set has a few
pages in other languages, which the cleaned chain's langid [en] removes from training); all held-out pages
are reported too.

    .venv/bin/python benchmarks/bench_cleaning_pays.py [--seeds 0,1,2] [--tokens 409600] [--demo-pages 240]

JSON lines: one per (seed, corpus), one per seed with the ratio, and a summary (mean ± spread over seeds).
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import argparse  # noqa: E402
import gzip  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import REPO, emit, shared_data, skip  # noqa: E402

BENCH = "cleaning_pays"
CORPUS = [str(Path(sys.executable).with_name("corpus"))]
AEB = "html_extraction/scrapinghub_aeb"
CLEAN_CHAIN = [  # the README's default chain; langid keeps English (the eval text is English)
    {"extract": {}},
    {"normalize": {"form": "NFC"}},
    {"length": {"min_chars": 200, "min_words": 30}},
    {"langid": {"languages": ["en"], "min_score": 0.65}},
    {"quality": {"gopher": {}, "c4": {}, "fineweb": {}}},
    {"sensitive": {"pii": "redact", "url_blocklist": True, "badwords": True}},
    {"dedup": {"exact": True, "url": True, "minhash": {"ngram": 5, "bands": 14, "rows": 8}}},
]
RAW_CHAIN = [{"extract": {}}]


def log(msg: str) -> None:
    print(f"[{BENCH}] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str], logfile: Path) -> None:
    with open(logfile, "ab") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}); see {logfile}:\n" + logfile.read_text()[-3000:])


# ---------------------------------------------------------------------------------------------- the crawl

def split_aeb(data: Path, n_heldout: int) -> tuple[dict, list[str], list[str]]:
    gold = json.loads((data / AEB / "ground-truth.json").read_text())
    ids = sorted(i for i in gold if (data / AEB / "html" / f"{i}.html.gz").exists())
    held = sorted(random.Random(20251123).sample(ids, n_heldout))
    return gold, [i for i in ids if i not in set(held)], held


def write_aeb_warc(data: Path, gold: dict, ids: list[str], path: Path) -> None:
    """The pages as WARC/1.0 response records (HTTP 200, text/html, the page's real URL), byte-stable."""
    import uuid

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for i in ids:
            body = gzip.decompress((data / AEB / "html" / f"{i}.html.gz").read_bytes())
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            rec = w.create_warc_record(gold[i]["url"], "response", payload=io.BytesIO(body), http_headers=http,
                                       warc_headers_dict={
                                           "WARC-Date": "2019-11-20T12:00:00Z",
                                           "WARC-Record-ID": f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, gold[i]['url'])}>"})
            w.write_record(rec)


def crawl_inputs(data: Path, dump: Path, demo: bool) -> list[dict]:
    w = data / "warc"
    inputs = [
        {"name": "cc2020", "path": str(w / "cc_resiliparse" / "*.warc.gz"), "format": "warc"},
        {"name": "wget2024", "path": str(w / "dolma_wget" / "*.warc.gz"), "format": "warc"},
        {"name": "ia2008_warc", "path": str(w / "ia_heritrix_aut" / "*.warc.gz"), "format": "warc"},
        {"name": "ia2008_arc", "path": str(w / "ia_heritrix_aut" / "*.arc.gz"), "format": "arc"},
        {"name": "news", "path": str(dump / "news.warc.gz"), "format": "warc"},
    ]
    if demo:
        inputs.append({"name": "demo", "path": str(dump / "demo" / "*.warc.gz"), "format": "warc"})
    return inputs


def build(work: Path, name: str, inputs: list[dict], stages: list[dict], num_cpus: int) -> Path:
    import yaml

    cfg = work / f"build_{name}.yaml"
    cfg.write_text(yaml.safe_dump({"inputs": inputs, "output": str(work / name), "stages": stages}, sort_keys=False))
    sh(CORPUS + ["build", str(cfg), "--fresh", "--quiet", "--num-cpus", str(num_cpus)], work / "log.txt")
    return work / name


def read_docs(out: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for f in sorted((out / "documents").rglob("*.parquet")):
        rows += pq.read_table(f, columns=["id", "source", "url", "text"]).to_pylist()
    return rows


_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int = 13) -> set[int]:
    w = _WORD.findall(text.lower())
    return {hash(tuple(w[i:i + n])) for i in range(len(w) - n + 1)}


def check_heldout(docs: list[dict], held_gold: dict[str, dict]) -> dict:
    """Assert the held-out pages are absent: no held-out URL, and no held-out article with half or more
    of its word 13-grams in the corpus. Report the overlap that remains (sibling pages of one site share
    template text, e.g. two theatre reviews with the same credits paragraph)."""
    urls = {d["url"] for d in docs if d["url"]}
    bad = [v["url"] for v in held_gold.values() if v["url"] in urls]
    assert not bad, f"held-out URLs in a training corpus: {bad[:3]}"
    blob = "\n".join(d["text"] for d in docs)
    train = set().union(*(ngrams(d["text"]) for d in docs)) if docs else set()
    ev, shared_paras, worst = set(), 0, 0.0
    for i, v in held_gold.items():
        g = ngrams(v["articleBody"])
        ev |= g
        frac = len(g & train) / max(1, len(g))
        assert frac < 0.5, f"held-out page {i} ({v['url']}): {frac:.0%} of its 13-grams are in a training corpus"
        worst = max(worst, frac)
        shared_paras += sum(1 for p in v["articleBody"].split("\n") if len(p.strip()) >= 200 and p.strip() in blob)
    return {"eval_13gram_overlap": round(len(ev & train) / max(1, len(ev)), 4),
            "eval_13gram_overlap_worst_page": round(worst, 4), "eval_paragraphs_in_corpus": shared_paras}


def corpus_facts(out: Path, docs: list[dict]) -> dict:
    st = json.loads((out / "stats.json").read_text())
    by_source: dict[str, int] = {}
    for d in docs:
        by_source[d["source"]] = by_source.get(d["source"], 0) + 1
    return {"documents": len(docs), "bytes": sum(len(d["text"].encode()) for d in docs),
            "records_in": st.get("totals", {}).get("documents_in"), "documents_by_source": by_source,
            "removed_by_stage": {k: sum(v.get("removed_by_reason", {}).values()) for k, v in st.get("stages", {}).items()}}


# ---------------------------------------------------------------------------------------------- training

def mix_and_train(work: Path, corpus: str, seed: int, a, tok: Path, logfile: Path) -> Path:
    import yaml

    mix = work / f"mix_{corpus}_s{seed}"
    run = work / f"run_{corpus}_s{seed}"
    steps = a.tokens // a.batch_tokens
    (work / f"mix_{corpus}_s{seed}.yaml").write_text(yaml.safe_dump({
        "tokenizer": str(tok), "output": str(mix), "total_tokens": steps * a.batch_tokens, "seq_len": a.seq_len,
        "seed": seed, "validation": {"tokens": 0}, "shard_tokens": 10**9,
        "sources": [{"name": corpus, "path": str(work / f"enc_{corpus}"), "weight": 1.0, "max_epochs": None}]}))
    shutil.rmtree(mix, ignore_errors=True)
    sh(CORPUS + ["mix", str(work / f"mix_{corpus}_s{seed}.yaml"), "--num-cpus", "1"], logfile)
    from corpusmill.trainer.config import TrainSpec

    spec = {"steps": steps, "global_batch_tokens": a.batch_tokens, "micro_batch_size": a.micro_batch,
            "lr": a.lr, "warmup_steps": max(1, steps // 10), "seed": seed, "eval_every": 0,
            "ckpt_every": 0, "cpu_threads": a.threads, "progress": False, "device": "cpu"}
    if "tensorboard" in TrainSpec.model_fields:
        spec["tensorboard"] = False
    # spike recovery off: it would roll one run back and halve its LR, so runs would differ in recipe
    # (it fired once on a cleaned run at lr 2e-3 in development); any spike shows in train_loss_max_late
    (work / f"train_{corpus}_s{seed}.yaml").write_text(yaml.safe_dump({
        "data": str(mix), "model": {"preset": a.preset}, "output": str(run), "train": spec,
        "spike": {"enabled": False}}))
    shutil.rmtree(run, ignore_errors=True)
    sh(CORPUS + ["train", str(work / f"train_{corpus}_s{seed}.yaml")], logfile)
    return run


def train_facts(run: Path) -> dict:
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines() if ln.strip()]
    losses = [r["loss"] for r in rows if r.get("kind") == "train"]
    late = losses[len(losses) // 4:]
    return {"train_loss_last10": round(statistics.mean(losses[-10:]), 4), "train_loss_max_late": round(max(late), 4),
            "train_steps_logged": len(losses), "events": [r.get("event") for r in rows if r.get("kind") == "event"]}


def mix_facts(work: Path, corpus: str, seed: int) -> dict:
    m = json.loads((work / f"mix_{corpus}_s{seed}" / "manifest.json").read_text())
    src = m["sources"][corpus]
    return {"train_tokens": src["train"]["tokens"], "train_documents": src["train"]["documents"],
            "available_tokens": src["available_train_tokens"], "epochs": src["epochs"]}


def gold_langs(texts: list[str]) -> list[str]:
    """lid.176's top label per gold article (the langid stage's model)."""
    from corpusmill.stages import fasttext_model
    from corpusmill.stages.langid import default_model_path

    labels, _ = fasttext_model.predict(fasttext_model.load_model(default_model_path()), texts, k=1)
    return [lab[0] for lab in labels]


def evaluate(run: Path, groups: dict[str, list[str]], seq_len: int, threads: int) -> dict:
    """The final checkpoint on the held-out gold text: per group (English, other), each packed on its own
    (see the module doc); 'all' sums the two. Returns {subset: figures}."""
    import torch

    from corpusmill.trainer.generate import load_model, load_tokenizer_for

    torch.set_num_threads(threads)
    model, state = load_model(run, "cpu")
    tok = load_tokenizer_for(state)
    sums = {g: summed_loss(model, tok, texts, seq_len) for g, texts in groups.items() if texts}
    sums["all"] = tuple(map(sum, zip(*sums.values())))
    return {g: {"bits_per_byte": n / math.log(2) / b, "ppl": math.exp(n / t), "loss": n / t, "eval_tokens": t,
                "eval_bytes": b} for g, (n, t, b) in sums.items()}


def summed_loss(model, tok, texts: list[str], seq_len: int, batch: int = 32) -> tuple[float, int, int]:
    """(nats summed over every predicted token, tokens predicted, UTF-8 bytes of the texts)."""
    import numpy as np
    import torch

    ids = np.concatenate([np.asarray(t, dtype=np.int64) for t in tok.encode(texts, add_bos=True, add_eos=True)])
    starts = list(range(0, len(ids) - 1, seq_len))
    full = [s for s in starts if s + seq_len + 1 <= len(ids)]
    nats, count = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(full), batch):  # whole windows, batched
            w = torch.from_numpy(np.stack([ids[s: s + seq_len + 1] for s in full[k: k + batch]]))
            logits, _ = model(w[:, :-1])
            nats += float(torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), w[:, 1:].flatten(),
                                                            reduction="sum"))
            count += w[:, 1:].numel()
        for s in starts[len(full):]:  # the short last window
            w = torch.from_numpy(ids[s:]).unsqueeze(0)
            logits, _ = model(w[:, :-1])
            nats += float(torch.nn.functional.cross_entropy(logits.float()[0], w[0, 1:], reduction="sum"))
            count += w.shape[1] - 1
    assert count == len(ids) - 1
    return nats, count, sum(len(t.encode()) for t in texts)


def spread(xs: list[float]) -> dict:
    return {"mean": round(statistics.mean(xs), 4), "min": round(min(xs), 4), "max": round(max(xs), 4),
            "stdev": round(statistics.stdev(xs), 4) if len(xs) > 1 else 0.0}


# ---------------------------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated; one training per corpus per seed")
    ap.add_argument("--tokens", type=int, default=409_600, help="training tokens per run (rounded to whole steps)")
    ap.add_argument("--batch-tokens", type=int, default=4096, help="global batch in tokens")
    ap.add_argument("--micro-batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--heldout", type=int, default=60, help="ScrapingHub pages held out for evaluation")
    ap.add_argument("--demo-pages", type=int, default=240, help="pages of the synthetic demo dump (0: none)")
    ap.add_argument("--num-cpus", type=int, default=2, help="Ray workers for the builds")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per training")
    ap.add_argument("--jobs", type=int, default=1, help="trainings run at once (each uses --threads)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep everything here (default: a temp dir, removed)")
    ap.add_argument("--reuse", action="store_true", help="with --workdir: reuse its builds and tokenizer")
    a = ap.parse_args()
    data = shared_data()
    if not (data / AEB / "ground-truth.json").exists() or not (data / "warc").is_dir():
        skip(BENCH, f"no real data at {data} (ScrapingHub pages and WARCs)")
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    t_start = time.perf_counter()
    tmp = None
    if a.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_cleaning_")
        work = Path(tmp.name)
    else:
        work = a.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
    logfile = work / "log.txt"
    log(f"work dir {work}; command log {logfile}")

    # the crawl: real WARCs/ARC, the training share of the article pages, the demo dump
    gold, train_ids, held_ids = split_aeb(data, a.heldout)
    dump = work / "dump"
    dump.mkdir(exist_ok=True)
    write_aeb_warc(data, gold, train_ids, dump / "news.warc.gz")
    if a.demo_pages:
        sh([sys.executable, str(REPO / "examples/quickstart/make_demo_dump.py"), str(dump / "demo"),
            "--pages", str(a.demo_pages)], logfile)
    inputs = crawl_inputs(data, dump, bool(a.demo_pages))
    held_gold = {i: gold[i] for i in held_ids}
    texts = [gold[i]["articleBody"] for i in held_ids]
    langs = gold_langs(texts)
    # primary: the English held-out articles (the cleaned corpus keeps English only); also all of them
    groups = {"en": [t for t, lang in zip(texts, langs) if lang == "en"],
              "other": [t for t, lang in zip(texts, langs) if lang != "en"]}
    subsets = {"en": groups["en"], "all": texts}
    log(f"held out {len(held_ids)} pages; gold text languages {dict(sorted(Counter(langs).items()))}")

    t0 = time.perf_counter()
    reuse = a.reuse and a.workdir is not None
    for name, chain in (("raw", RAW_CHAIN), ("cleaned", CLEAN_CHAIN)):
        if not (reuse and (work / name / "stats.json").exists()):
            build(work, name, inputs, chain, a.num_cpus)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    facts = {}
    for c in ("raw", "cleaned"):
        docs = read_docs(work / c)
        facts[c] = {**corpus_facts(work / c, docs), **check_heldout(docs, held_gold)}
        log(f"{c}: {facts[c]}")

    t_check = time.perf_counter() - t0

    # one tokenizer for both: the union of the two corpora
    t0 = time.perf_counter()
    tok = work / "tok"
    if not (reuse and (tok / "tokenizer.model").exists()):
        sh(CORPUS + ["tokenizer", "train", "--input", str(work / "raw"), "--input", str(work / "cleaned"),
                     "--vocab-size", str(a.vocab), "--output", str(tok), "--num-threads", "1", "--num-cpus", "1",
                     "--no-fertility", "--heldout-fraction", "0"], logfile)
    for c in ("raw", "cleaned"):  # encoded once; each seed's mixture samples from it (no Ray per mixture)
        if not (reuse and (work / f"enc_{c}" / "manifest.json").exists()):
            shutil.rmtree(work / f"enc_{c}", ignore_errors=True)
            sh(CORPUS + ["tokenizer", "encode", "--tokenizer", str(tok), "--input", str(work / c),
                         "--output", str(work / f"enc_{c}"), "--num-cpus", "1"], logfile)
    t_tok = time.perf_counter() - t0

    # train: per seed, both corpora
    t0 = time.perf_counter()
    jobs = [(c, s) for s in seeds for c in ("raw", "cleaned")]
    with ThreadPoolExecutor(max_workers=a.jobs) as ex:
        runs = dict(zip(jobs, ex.map(lambda j: mix_and_train(work, j[0], j[1], a, tok,
                                                              work / f"log_{j[0]}_s{j[1]}.txt"), jobs)))
    t_train = time.perf_counter() - t0

    steps = a.tokens // a.batch_tokens
    trained = steps * a.batch_tokens
    results: dict[tuple[str, int], dict] = {}
    t0 = time.perf_counter()
    for (c, s), run in runs.items():
        mf = mix_facts(work, c, s)
        r = {**evaluate(run, groups, a.seq_len, a.threads), **mf, **train_facts(run),
             "epochs_trained": round(trained / mf["available_tokens"], 3)}
        results[(c, s)] = r
        emit({"bench": BENCH, "corpus": c, "seed": s, "preset": a.preset, "steps": steps, "trained_tokens": trained,
              **{k: ({m: (round(x, 4) if isinstance(x, float) else x) for m, x in v.items()} if isinstance(v, dict)
                     else v) for k, v in r.items()}})

    t_eval = time.perf_counter() - t0

    def fig(c: str, s: int, sub: str, m: str) -> float:
        return results[(c, s)][sub][m]

    for s in seeds:
        emit({"bench": BENCH, "seed": s, "peer": "raw extracted text (extract stage only)",
              "ours": "cleaned corpus (default chain)", "metric": "bits_per_byte, held-out gold English articles",
              "peer_bits_per_byte": round(fig("raw", s, "en", "bits_per_byte"), 4),
              "ours_bits_per_byte": round(fig("cleaned", s, "en", "bits_per_byte"), 4),
              "peer_ppl": round(fig("raw", s, "en", "ppl"), 2), "ours_ppl": round(fig("cleaned", s, "en", "ppl"), 2),
              "ratio": round(fig("cleaned", s, "en", "bits_per_byte") / fig("raw", s, "en", "bits_per_byte"), 4),
              "ratio_all_languages": round(fig("cleaned", s, "all", "bits_per_byte") / fig("raw", s, "all", "bits_per_byte"), 4)})
    summary = {}
    for sub in subsets:
        summary[sub] = {
            **{f"{side}_{m}": spread([fig(c, s, sub, m) for s in seeds])
               for side, c in (("peer", "raw"), ("ours", "cleaned")) for m in ("bits_per_byte", "ppl")},
            "ratio": spread([fig("cleaned", s, sub, "bits_per_byte") / fig("raw", s, sub, "bits_per_byte") for s in seeds]),
            "cleaned_wins_every_seed": all(fig("cleaned", s, sub, "bits_per_byte") < fig("raw", s, sub, "bits_per_byte")
                                           for s in seeds),
            "pages": len(subsets[sub]), "bytes": results[("raw", seeds[0])][sub]["eval_bytes"],
            "tokens": results[("raw", seeds[0])][sub]["eval_tokens"]}
    wall = time.perf_counter() - t_start
    emit({"bench": BENCH, "peer": "raw extracted text (extract stage only)", "ours": "cleaned corpus (default chain)",
          "metric": "bits_per_byte on held-out gold article text (lower is better); primary: English pages",
          "seeds": seeds, "preset": a.preset, "steps": steps, "trained_tokens_per_run": trained,
          "ratio": summary["en"]["ratio"]["mean"], "en": summary["en"], "all": summary["all"],
          "corpora": {c: {**facts[c], "available_tokens": [results[(c, s)]["available_tokens"] for s in seeds],
                          "epochs_trained": [results[(c, s)]["epochs_trained"] for s in seeds]}
                      for c in ("raw", "cleaned")},
          "seconds": {"build": round(t_build, 1), "heldout_check": round(t_check, 1), "tokenizer": round(t_tok, 1),
                      "mix_and_train": round(t_train, 1), "eval": round(t_eval, 1), "total": round(wall, 1)}})
    print(f"\ncleaning pays? {trained:,} training tokens per run ({steps} steps x {a.batch_tokens}), preset "
          f"{a.preset}, seeds {seeds}; held-out gold text of {len(held_ids)} ScrapingHub pages", file=sys.stderr)
    for c in ("raw", "cleaned"):
        f = facts[c]
        print(f"  {c:8s} {f['documents']:5d} docs {f['bytes'] / 1e6:5.2f} MB "
              f"{statistics.mean(results[(c, s)]['available_tokens'] for s in seeds):>11,.0f} tokens, "
              f"{statistics.mean(results[(c, s)]['epochs_trained'] for s in seeds):.2f} epochs", file=sys.stderr)
    for sub in subsets:
        m = summary[sub]
        print(f"  {sub} ({m['pages']} pages, {m['bytes']:,} bytes):", file=sys.stderr)
        for side, c in (("peer", "raw"), ("ours", "cleaned")):
            b, p = m[f"{side}_bits_per_byte"], m[f"{side}_ppl"]
            print(f"    {c:8s} bits/byte {b['mean']:.4f} [{b['min']:.4f}, {b['max']:.4f}]  "
                  f"ppl {p['mean']:.1f} [{p['min']:.1f}, {p['max']:.1f}]", file=sys.stderr)
        print(f"    cleaned / raw bits/byte {m['ratio']['mean']:.3f} [{m['ratio']['min']:.3f}, {m['ratio']['max']:.3f}]"
              f"; cleaned better on every seed: {m['cleaned_wins_every_seed']}", file=sys.stderr)
    print(f"  wall {wall:.0f} s (build {t_build:.0f}, held-out check {t_check:.0f}, tokenizer {t_tok:.0f}, "
          f"mix+train {t_train:.0f}, eval {t_eval:.0f})", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
