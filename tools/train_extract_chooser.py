"""Train the `auto` extraction engine's models and write corpusmill/stages/extract_chooser.json;
print cross-validated figures (a site's pages never on both sides).

The engine (corpusmill/stages/extract_chooser.py) always runs resiliparse (one parse, two texts:
main content, and the page less its chrome) and computes cheap features. Models of boosted trees:
  lines         (line features)          predicts the share of a line's word pairs in the gold text;
                                         each resiliparse text is kept also without the lines
                                         scored <= LINE_THRESHOLD: four cheap texts in all
  f1_<text>     (page features)          predicts each cheap text's word-F1; the best is the pick
  gain          (page features)          predicts F1(trafilatura) - F1(pick): run trafilatura when it
                                         is above `tau`, set so that trafilatura runs on at most the
                                         share of WCXB pages the speed budget allows
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
from corpusmill.stages.extract_chooser import (CHEAP, MODEL_PATH, Trees, drop_boilerplate, line_features,  # noqa: E402
                                               page_features, pair_features, text_lines)

MAIN, PAGE = CANDIDATES  # the two resiliparse texts, in resiliparse_texts' order
BEFORE = "hybrid (before issue 15)"
PLAIN = "trafilatura"
PARAMS = {"trees": 120, "depth": 3, "rate": 0.06, "min_leaf": 20}
LINE_PARAMS = {"trees": 100, "depth": 4, "rate": 0.1, "min_leaf": 40}
LINE_THRESHOLD = 0.5  # a line stays when at least half its word pairs are predicted to be main text
LINES_PER_TEXT = 80  # training sample of lines per text (weighted back to the text's size)
_WORD = re.compile(r"\w+")


def matrix(rows: list[dict[str, float]]) -> tuple[np.ndarray, list[str]]:
    names = list(rows[0])
    return np.array([[r[n] for n in names] for r in rows], dtype=np.float64), names


def folds_by_domain(domains: list[str], k: int) -> np.ndarray:
    return np.array([zlib.crc32(d.encode()) % k for d in domains])


def line_target(lines: list[str], gold: str) -> np.ndarray:
    """Share of each line's adjacent word pairs (its word, for one-word lines) found in the gold text."""
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
    """One gold set as arrays: page features, line features and targets, each engine's word-F1 and
    CPU seconds, types, domains."""
    pages = load_set(set_name)
    out = {n: outputs(set_name, n, setting_fn(n), pages) for n in dict.fromkeys((MAIN, PAGE, traf_name, BEFORE, PLAIN))}
    rows1, pairs, feat_cpu, pair_cpu, lines, sizes = [], [], [], [], [], []
    for p in pages:
        main, page, traf = out[MAIN][p.pid][0], out[PAGE][p.pid][0], out[traf_name][p.pid][0]
        tree = HTMLTree.parse(p.html)  # the parse is inside the resiliparse texts' timed cost
        t0 = time.process_time()
        rows1.append(page_features(tree, p.html, p.url, main, page))
        ml, pl = text_lines(main), text_lines(page)
        fm, fp = line_features(ml, set(ml), False), line_features(pl, set(ml), True)
        feat_cpu.append(time.process_time() - t0)
        lines.append((ml, fm, line_target(ml, p.gold_text), pl, fp, line_target(pl, p.gold_text)))
        sizes.append((len(main), len(page)))
        t0 = time.process_time()
        pairs.append({**pair_features(main, traf, "traf"), **pair_features(page, traf, "trafp")})
        pair_cpu.append(time.process_time() - t0)
    x1, names1 = matrix(rows1)
    x2, names2 = matrix(pairs)
    return {"set": np.array([set_name] * len(pages)), "x1": x1, "pairs": x2, "names1": names1, "names_pairs": names2,
            "f": {n: np.array([word_f1(o[p.pid][0], p.gold) for p in pages]) for n, o in out.items()},
            "cpu": {n: np.array([o[p.pid][1] for p in pages]) for n, o in out.items()},
            "feat_cpu": np.array(feat_cpu), "pair_cpu": np.array(pair_cpu), "types": np.array([p.page_type for p in pages]),
            "domains": [p.domain for p in pages], "lines": lines, "gold": [p.gold for p in pages],
            "sizes": np.array(sizes, dtype=np.float64).reshape(-1, 2)}


def pool(a: dict, b: dict) -> dict:
    """Two sets as one (the features are the same names in the same order)."""
    both = {k: np.concatenate([a[k], b[k]]) for k in ("set", "x1", "pairs", "feat_cpu", "pair_cpu", "types", "sizes")}
    both.update({k: {n: np.concatenate([a[k][n], b[k][n]]) for n in a[k]} for k in ("f", "cpu")})
    both.update({k: a[k] + b[k] for k in ("domains", "lines", "gold")})
    return {**both, "names1": a["names1"], "names_pairs": a["names_pairs"]}


def fit_lines(data: dict, rows: np.ndarray, weight: np.ndarray) -> dict:
    """The line model, on a fixed sample of each training text's lines."""
    rng = np.random.default_rng(0)
    xs, ys, ws = [], [], []
    for i in np.nonzero(rows)[0]:
        ml, fm, ym, pl, fp, yp = data["lines"][i]
        for x, y in ((fm, ym), (fp, yp)):
            if not len(y):
                continue
            take = np.arange(len(y)) if len(y) <= LINES_PER_TEXT else np.sort(rng.choice(len(y), LINES_PER_TEXT, replace=False))
            xs.append(x[take])
            ys.append(y[take])
            ws.append(np.full(len(take), weight[i] / len(take)))  # every text weighs the same
    return gbdt.fit(np.vstack(xs), np.concatenate(ys), weight=np.concatenate(ws), **LINE_PARAMS)


def cheap_f1(data: dict, lines_model: dict, timed: bool = False) -> tuple[dict, np.ndarray, np.ndarray]:
    """Word-F1 of the four cheap texts per page, how much the line model kept, and its CPU seconds
    per page (the engine's own code: Trees.predict_rows and drop_boilerplate)."""
    trees = Trees(lines_model)
    f = {name: np.zeros(len(data["gold"])) for name in CHEAP}
    f["main"], f["page"] = data["f"][MAIN], data["f"][PAGE]
    shares, cpu = np.zeros((len(data["gold"]), 2)), np.zeros(len(data["gold"]))
    for i, (ml, fm, _, pl, fp, _) in enumerate(data["lines"]):
        t0 = time.process_time()
        kept = [drop_boilerplate(ls, trees.predict_rows(x), LINE_THRESHOLD) if ls else "" for ls, x in ((ml, fm), (pl, fp))]
        cpu[i] = time.process_time() - t0
        for j, name in enumerate(("main_kept", "page_kept")):
            f[name][i] = word_f1(kept[j], data["gold"][i])
            shares[i, j] = len(kept[j]) / max(data["sizes"][i, j], 1)  # as kept_features() in the engine
    return f, shares, cpu


def fit_models(x1, pairs, f: dict, f_traf, speed_share: float, weight, budget_rows) -> dict:
    """The pick, gain and keep models; `tau` lets trafilatura run on `speed_share` of the `budget_rows` pages."""
    fit = lambda x, y: gbdt.fit(x, y, weight=weight, **PARAMS)  # noqa: E731
    models = {f"f1_{name}": fit(x1, f[name]) for name in CHEAP}
    pick = np.argmax([gbdt.predict(models[f"f1_{name}"], x1) for name in CHEAP], axis=0)
    cheap = np.choose(pick, [f[name] for name in CHEAP])
    models["gain"] = fit(x1, f_traf - cheap)
    models["keep"] = fit(np.column_stack([x1, pairs, pick]), f_traf - cheap)
    g = gbdt.predict(models["gain"], x1)[budget_rows]
    models["tau"] = float(np.quantile(g, 1 - speed_share)) if speed_share < 1 else -np.inf
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

    # The final line model first: its live cost per page enters the speed plan.
    final_lines = fit_lines(data, np.ones(n, bool), weight)
    f_all, shares_all, line_cpu = cheap_f1(data, final_lines)
    # Speed: resiliparse (either text's time covers the one parse and both texts), the features and
    # the line model always, trafilatura (+ its pair features) on a share of pages; budget: the old
    # default's CPU / speedup, planned on WCXB's pages of every type.
    always = cpu[MAIN] + data["feat_cpu"] + line_cpu
    extra = cpu[args.traf] + data["pair_cpu"]
    budget = cpu[BEFORE][is_dev].mean() / args.speedup * args.margin
    share = float(np.clip((budget - always[is_dev].mean()) / extra[is_dev].mean(), 0, 1))

    fold = folds_by_domain(data["domains"], args.folds)
    chosen, cost, ran = np.zeros(n), np.zeros(n), np.zeros(n, bool)
    picks = np.zeros(n, np.int64)
    for k in range(args.folds):
        tr, te = fold != k, fold == k
        fk, shares, _ = cheap_f1(data, fit_lines(data, tr, weight))
        xk = np.column_stack([x1, shares])
        models = fit_models(xk[tr], pairs[tr], {c: v[tr] for c, v in fk.items()}, f[args.traf][tr], share,
                            weight[tr], is_dev[tr])
        pick, run, keep = decide(models, xk[te], pairs[te])
        cheap = np.choose(pick, [fk[c][te] for c in CHEAP])
        chosen[te] = np.where(keep, f[args.traf][te], cheap)
        cost[te] = always[te] + run * extra[te]
        ran[te], picks[te] = run, pick
        print(json.dumps({"fold": k, "test_pages": int(te.sum()), "word_f1": round(float(chosen[te].mean()), 4)}), flush=True)
    report = {"folds": args.folds, "traf": args.traf, "aeb_weight": args.aeb_weight, "planned_share": round(share, 3),
              "line_threshold": LINE_THRESHOLD, "feature_ms": round(1000 * float(dev["feat_cpu"].mean()), 2),
              "line_model_ms": round(1000 * float(line_cpu[is_dev].mean()), 2)}
    plain_types = summary(PLAIN, dev["f"][PLAIN], dev["cpu"][PLAIN], dev["types"])["by_type"]
    for name in (BEFORE, PLAIN, args.traf, MAIN, PAGE):
        print(json.dumps(summary(name, dev["f"][name], dev["cpu"][name], dev["types"])))
    xf = np.column_stack([x1, shares_all])
    models = fit_models(xf, pairs, f_all, f[args.traf], share, weight, is_dev)
    for name, d in (("wcxb_dev", dev), ("aeb", aeb)):
        rows = data["set"] == name
        if rows.any():  # cross-validated: this set's pages were in the pool
            got, f_, c_, run_, pick_ = "auto (cross-validated)", chosen[rows], cost[rows], ran[rows], picks[rows]
        else:  # kept out of training: the final models, on pages they never saw
            fd, sd, cd = cheap_f1(d, final_lines)
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
    names1 = data["names1"] + ["main_share", "page_share"]
    spec = {"trained_on": f"WCXB dev split ({len(dev['types'])} pages)"
                          + (f" and the ScrapingHub articles (181, weight {args.aeb_weight})" if args.aeb_weight > 0 else "")
                          + f", {versions()}", "cross_validated": report,
            "traf_options": {k: v for k, v in ENGINE_SETTINGS[args.traf].items() if k != "engine"},
            "tau": models["tau"], "line_threshold": LINE_THRESHOLD, "features1": names1,
            "features2": names1 + data["names_pairs"] + ["pick"],
            "models": {"lines": final_lines, **{k: v for k, v in models.items() if k != "tau"}}}
    MODEL_PATH.write_text(json.dumps(spec, separators=(",", ":")))
    print(json.dumps({"wrote": str(MODEL_PATH), "bytes": MODEL_PATH.stat().st_size}))


if __name__ == "__main__":
    main()
