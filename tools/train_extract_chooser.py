"""Train the `auto` extraction engine's models and write corpusmill/stages/extract_chooser.json;
print cross-validated figures (a site's pages never on both sides).

The engine (corpusmill/stages/extract_chooser.py) always runs resiliparse (one parse, two texts:
main content, and the page less its chrome), cuts the page into DOM blocks (extract_blocks.py) and
computes cheap features. Models of boosted trees:
  blocks1       (block features)         predicts the share of a block's word pairs in the gold text
  blocks2       (+ blocks1 around it)    the same, second stage; the blocks it scores above 0.5,
                                         0.3 and 0.7 are three more cheap texts: five in all
  f1_<text>     (page features)          predicts each cheap text's word-F1; the best is the pick
  gain          (page features)          predicts F1(trafilatura) - F1(pick): run trafilatura when it
                                         is above `tau` (and 0), set so that trafilatura's cost on the
                                         WCXB pages it runs on fits the speed budget
  keep          (+ trafilatura's text)   predicts F1(trafilatura) - F1(pick): keep it when > 0
Training sets: WCXB's dev split, and with --aeb-weight > 0 the 181 ScrapingHub articles too (each
weighing that many WCXB pages): then both sets are reported by cross-validation, else the articles
are the second check, seen by the final model only. Evaluation: group k-fold by the page's domain;
every model and `tau` come from the training folds only; each page's figure is the fold that held it
out. Engine outputs and their CPU times come from the cache of benchmarks/extract_sets.py (filled on
first use: slow, trafilatura on every page).

    python tools/train_extract_chooser.py [--folds 5] [--speedup 2.0] [--aeb-weight 1]
                                          [--traf "trafilatura no comments"] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from resiliparse.parse.html import HTMLTree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
import gbdt  # noqa: E402

from benchmarks.extract_sets import CANDIDATES, ENGINE_SETTINGS, load_set, outputs, setting_fn, versions, word_f1  # noqa: E402
from corpusmill.stages.extract_blocks import BlockModel, Blocks, block_features, second_features, segment  # noqa: E402
from corpusmill.stages.extract_chooser import (BLOCK_THRESHOLDS, CHEAP, MODEL_PATH, block_texts,  # noqa: E402
                                               page_features, pair_features)
from corpusmill.stages.extract_trees import Trees  # noqa: E402

MAIN, PAGE = CANDIDATES  # the two resiliparse texts, in resiliparse_texts' order
BEFORE = "hybrid (before issue 15)"
PLAIN = "trafilatura"
PARAMS = {"trees": 120, "depth": 3, "rate": 0.06, "min_leaf": 20}
BLOCK_PARAMS = {"trees": 100, "depth": 4, "rate": 0.1, "min_leaf": 40}
BLOCKS_PER_PAGE = 60  # training sample of blocks per page (each page weighs the same; a block by sqrt(words))
_WORD = re.compile(r"\w+")


def matrix(rows: list[dict[str, float]]) -> tuple[np.ndarray, list[str]]:
    names = list(rows[0])
    return np.array([[r[n] for n in names] for r in rows], dtype=np.float64), names


def folds_by_domain(domains: list[str], k: int) -> np.ndarray:
    return np.array([zlib.crc32(d.encode()) % k for d in domains])


def block_target(lines: list[str], gold: str) -> np.ndarray:
    """Share of each block's adjacent word pairs (its word, for one-word blocks) found in the gold text."""
    g = _WORD.findall(gold.lower())
    pairs, words = set(zip(g, g[1:])), set(g)
    out = []
    for ln in lines:
        t = _WORD.findall(ln.lower())
        if len(t) < 2:
            out.append(float(bool(t) and t[0] in words))
        else:
            out.append(sum(p in pairs for p in zip(t, t[1:])) / (len(t) - 1))
    return np.array(out)


def load(set_name: str, traf_name: str) -> dict:
    """One gold set as arrays: page features, blocks with their features and targets, each engine's
    word-F1 and CPU seconds, types, domains."""
    pages = load_set(set_name)
    out = {n: outputs(set_name, n, setting_fn(n), pages) for n in dict.fromkeys((MAIN, PAGE, traf_name, BEFORE, PLAIN))}
    rows1, pairs, feat_cpu, pair_cpu, blocks = [], [], [], [], []
    for p in pages:
        main, page, traf = out[MAIN][p.pid][0], out[PAGE][p.pid][0], out[traf_name][p.pid][0]
        tree = HTMLTree.parse(p.html)  # the parse is inside the resiliparse texts' timed cost
        t0 = time.process_time()
        rows1.append(page_features(tree, p.html, p.url, main, page))
        b = segment(p.html)
        x = block_features(b) if b.texts else None
        feat_cpu.append(time.process_time() - t0)
        words = np.array([len(_WORD.findall(t)) for t in b.texts], dtype=np.float64)
        blocks.append((b, x, block_target(b.texts, p.gold_text), words))
        t0 = time.process_time()
        pairs.append({**pair_features(main, traf, "traf"), **pair_features(page, traf, "trafp")})
        pair_cpu.append(time.process_time() - t0)
    x1, names1 = matrix(rows1)
    x2, names2 = matrix(pairs)
    return {"set": np.array([set_name] * len(pages)), "x1": x1, "pairs": x2, "names1": names1, "names_pairs": names2,
            "f": {n: np.array([word_f1(o[p.pid][0], p.gold) for p in pages]) for n, o in out.items()},
            "cpu": {n: np.array([o[p.pid][1] for p in pages]) for n, o in out.items()},
            "feat_cpu": np.array(feat_cpu), "pair_cpu": np.array(pair_cpu), "types": np.array([p.page_type for p in pages]),
            "domains": [p.domain for p in pages], "blocks": blocks, "gold": [p.gold for p in pages]}


def pool(a: dict, b: dict) -> dict:
    """Two sets as one (the features are the same names in the same order)."""
    both = {k: np.concatenate([a[k], b[k]]) for k in ("set", "x1", "pairs", "feat_cpu", "pair_cpu", "types")}
    both.update({k: {n: np.concatenate([a[k][n], b[k][n]]) for n in a[k]} for k in ("f", "cpu")})
    both.update({k: a[k] + b[k] for k in ("domains", "blocks", "gold")})
    return {**both, "names1": a["names1"], "names_pairs": a["names_pairs"]}


def fit_blocks(data: dict, rows: np.ndarray, weight: np.ndarray) -> dict:
    """The block model's two stages, on a fixed sample of each training page's blocks (the second
    stage sees the first's scores of whole pages, as the engine does)."""
    rng = np.random.default_rng(0)
    train = [i for i in np.nonzero(rows)[0] if data["blocks"][i][1] is not None]
    takes, xs, ys, ws = [], [], [], []
    for i in train:
        _, x, y, words = data["blocks"][i]
        take = np.arange(len(y)) if len(y) <= BLOCKS_PER_PAGE else np.sort(rng.choice(len(y), BLOCKS_PER_PAGE, replace=False))
        w = np.sqrt(words[take] + 1.0)
        takes.append(take)
        xs.append(x[take])
        ys.append(y[take])
        ws.append(weight[i] * w / w.sum())  # every page weighs the same
    y, w = np.concatenate(ys), np.concatenate(ws)
    first = gbdt.fit(np.vstack(xs), y, weight=w, **BLOCK_PARAMS)
    stage1 = Trees(first)
    x2 = [second_features(data["blocks"][i][1], stage1.predict_rows(data["blocks"][i][1]), data["blocks"][i][0])[take]
          for i, take in zip(train, takes)]
    return {"blocks1": first, "blocks2": gbdt.fit(np.vstack(x2), y, weight=w, **BLOCK_PARAMS)}


def cheap_f1(data: dict, block_models: dict) -> tuple[dict, np.ndarray, np.ndarray]:
    """Word-F1 of the cheap texts per page, the block features the engine adds to the page's,
    and the block model's CPU seconds per page (the engine's own code: BlockModel.scores and block_texts)."""
    model = BlockModel(block_models["blocks1"], block_models["blocks2"])
    n = len(data["gold"])
    f = {name: np.zeros(n) for name in CHEAP}
    f["main"], f["page"] = data["f"][MAIN], data["f"][PAGE]
    extra, cpu = np.zeros((n, 1 + len(BLOCK_THRESHOLDS))), np.zeros(n)
    for i, (b, x, _, _) in enumerate(data["blocks"]):
        t0 = time.process_time()
        texts, shares = block_texts(b, model.scores(b, x))  # as cheap_texts() in the engine
        cpu[i] = time.process_time() - t0
        extra[i] = list(shares.values())
        for name in BLOCK_THRESHOLDS:
            f[name][i] = word_f1(texts[name], data["gold"][i])
    return f, extra, cpu


def fit_models(x1, pairs, f: dict, f_traf, spare_s: float, traf_cost, weight, budget_rows) -> dict:
    """The pick, gain and keep models; `tau` lets trafilatura run on the `budget_rows` pages of the
    largest predicted gain whose trafilatura costs (`traf_cost`) fit `spare_s` a page on average
    (cheap pages cost less of the budget: articles are short), and only where a gain is predicted."""
    fit = lambda x, y: gbdt.fit(x, y, weight=weight, **PARAMS)  # noqa: E731
    models = {f"f1_{name}": fit(x1, f[name]) for name in CHEAP}
    pick = np.argmax([gbdt.predict(models[f"f1_{name}"], x1) for name in CHEAP], axis=0)
    cheap = np.choose(pick, [f[name] for name in CHEAP])
    models["gain"] = fit(x1, f_traf - cheap)
    models["keep"] = fit(np.column_stack([x1, pairs, pick]), f_traf - cheap)
    g = gbdt.predict(models["gain"], x1)[budget_rows]
    order = np.argsort(-g, kind="stable")
    fits = int((np.cumsum(traf_cost[budget_rows][order]) <= spare_s * len(g)).sum())  # a prefix: costs are >= 0
    models["tau"] = max(float(g[order[fits]]) if fits < len(g) else -np.inf, 0.0)
    return models


def decide(models: dict, x1, pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per page: the cheap text picked (index into CHEAP), ran trafilatura, kept trafilatura."""
    pick = np.argmax([gbdt.predict(models[f"f1_{name}"], x1) for name in CHEAP], axis=0)
    run = gbdt.predict(models["gain"], x1) > models["tau"]
    keep = run & (gbdt.predict(models["keep"], np.column_stack([x1, pairs, pick])) > 0)
    return pick, run, keep


def summary(name, f, cpu, types) -> dict:
    return {"setting": name, "word_f1": round(float(f.mean()), 4),
            "by_type": {t: round(float(f[types == t].mean()), 4) for t in sorted(set(types))},
            "pages_per_s_per_core": round(len(f) / float(cpu.sum()), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--speedup", type=float, default=2.0, help="speed goal against the old hybrid default")
    ap.add_argument("--margin", type=float, default=0.85, help="share of the speed budget to plan for")
    ap.add_argument("--traf", default="trafilatura no comments", choices=[s for s in ENGINE_SETTINGS if "trafil" in s])
    ap.add_argument("--aeb-weight", type=float, default=1.0,
                    help="train on the ScrapingHub articles too, each page weighing this many WCXB pages "
                         "(0: they stay out of training and are the second check)")
    ap.add_argument("--no-write", action="store_true", help="report only; leave the shipped model alone")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    dev, aeb = load("wcxb_dev", args.traf), load("aeb", args.traf)
    data = pool(dev, aeb) if args.aeb_weight > 0 else dev
    f, cpu, x1, pairs, types = data["f"], data["cpu"], data["x1"], data["pairs"], data["types"]
    n = len(types)
    weight = np.where(data["set"] == "aeb", args.aeb_weight, 1.0)
    is_dev = data["set"] == "wcxb_dev"

    # The final block model first: its live cost per page enters the speed plan.
    final_blocks = fit_blocks(data, np.ones(n, bool), weight)
    f_all, shares_all, block_cpu = cheap_f1(data, final_blocks)
    # Speed: resiliparse (either text's time covers the one parse and both texts), the features, the
    # blocks and their model always, trafilatura (+ its pair features) on a share of pages; budget:
    # the old default's CPU / speedup, planned on WCXB's pages of every type.
    always = cpu[MAIN] + data["feat_cpu"] + block_cpu
    extra = cpu[args.traf] + data["pair_cpu"]
    budget = cpu[BEFORE][is_dev].mean() / args.speedup * args.margin
    spare = max(budget - always[is_dev].mean(), 0.0)  # seconds a page left for trafilatura, on average

    fold = folds_by_domain(data["domains"], args.folds)
    chosen, cost, ran = np.zeros(n), np.zeros(n), np.zeros(n, bool)
    picks = np.zeros(n, np.int64)
    for k in range(args.folds):
        tr, te = fold != k, fold == k
        fk, shares, _ = cheap_f1(data, fit_blocks(data, tr, weight))
        xk = np.column_stack([x1, shares])
        models = fit_models(xk[tr], pairs[tr], {c: v[tr] for c, v in fk.items()}, f[args.traf][tr], spare,
                            extra[tr], weight[tr], is_dev[tr])
        pick, run, keep = decide(models, xk[te], pairs[te])
        cheap = np.choose(pick, [fk[c][te] for c in CHEAP])
        chosen[te] = np.where(keep, f[args.traf][te], cheap)
        cost[te] = always[te] + run * extra[te]
        ran[te], picks[te] = run, pick
        print(json.dumps({"fold": k, "test_pages": int(te.sum()), "word_f1": round(float(chosen[te].mean()), 4)}), flush=True)
    report = {"folds": args.folds, "traf": args.traf, "aeb_weight": args.aeb_weight, "spare_ms": round(1000 * spare, 2),
              "block_thresholds": BLOCK_THRESHOLDS, "feature_ms": round(1000 * float(dev["feat_cpu"].mean()), 2),
              "block_model_ms": round(1000 * float(block_cpu[is_dev].mean()), 2)}
    plain_types = summary(PLAIN, dev["f"][PLAIN], dev["cpu"][PLAIN], dev["types"])["by_type"]
    for name in (BEFORE, PLAIN, args.traf, MAIN, PAGE):
        print(json.dumps(summary(name, dev["f"][name], dev["cpu"][name], dev["types"])))
    xf = np.column_stack([x1, shares_all])
    models = fit_models(xf, pairs, f_all, f[args.traf], spare, extra, weight, is_dev)
    for name, d in (("wcxb_dev", dev), ("aeb", aeb)):
        rows = data["set"] == name
        if rows.any():  # cross-validated: this set's pages were in the pool
            got, f_, c_, run_, pick_ = "auto (cross-validated)", chosen[rows], cost[rows], ran[rows], picks[rows]
        else:  # kept out of training: the final models, on pages they never saw
            fd, sd, cd = cheap_f1(d, final_blocks)
            pick_, run_, keep = decide(models, np.column_stack([d["x1"], sd]), d["pairs"])
            f_ = np.where(keep, d["f"][args.traf], np.choose(pick_, [fd[c] for c in CHEAP]))
            c_ = d["cpu"][MAIN] + d["feat_cpu"] + cd + run_ * (d["cpu"][args.traf] + d["pair_cpu"])
            got = "auto (never trained on)"
        report[name] = {**summary(got, f_, c_, d["types"]), "trafilatura_share": round(float(run_.mean()), 3),
                        "picks": {c: int((pick_ == j).sum()) for j, c in enumerate(CHEAP)},
                        "speed_vs_before": round(float(d["cpu"][BEFORE].sum() / c_.sum()), 2),
                        "before_word_f1": round(float(d["f"][BEFORE].mean()), 4),
                        "pages": len(d["domains"]), "sites": len(set(d["domains"]))}
        print(json.dumps({"set": name, **report[name]}))
    below = [t for t, v in report["wcxb_dev"]["by_type"].items() if v < plain_types[t]]
    print(json.dumps({"types_below_plain_trafilatura": below}))
    if args.no_write:
        return
    names1 = data["names1"] + list(block_texts(Blocks(), np.zeros(0))[1])  # the extra columns of cheap_f1
    spec = {"trained_on": f"WCXB dev split ({len(dev['types'])} pages)"
                          + (f" and the ScrapingHub articles (181, weight {args.aeb_weight})" if args.aeb_weight > 0 else "")
                          + f", {versions()}", "cross_validated": report,
            "traf_options": {k: v for k, v in ENGINE_SETTINGS[args.traf].items() if k != "engine"},
            "tau": models["tau"], "features1": names1, "features2": names1 + data["names_pairs"] + ["pick"],
            "models": {**final_blocks, **{k: v for k, v in models.items() if k != "tau"}}}
    MODEL_PATH.write_text(json.dumps(spec, separators=(",", ":")))
    print(json.dumps({"wrote": str(MODEL_PATH), "bytes": MODEL_PATH.stat().st_size}))


if __name__ == "__main__":
    main()
