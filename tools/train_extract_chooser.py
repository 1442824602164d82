"""Train the `auto` extraction engine's chooser on WCXB's dev split and write
corpusmill/stages/extract_chooser.json; print cross-validated figures (sites never on both sides).

The engine (corpusmill/stages/extract_chooser.py) always runs resiliparse (one parse, two texts:
main content, and the page less its chrome) and computes cheap features. Three models of boosted
trees then decide:
  page_vs_main  (page features)          predicts F1(page) - F1(main): the cheap pick
  gain          (page features)          predicts F1(trafilatura) - F1(best cheap): run trafilatura
                                         when it is above `tau`, set so that trafilatura runs on at
                                         most the share of pages the speed budget allows
  keep          (+ trafilatura's text)   predicts F1(trafilatura) - F1(cheap pick): keep it when > 0
Evaluation: group k-fold by the page's domain; every model and `tau` come from the training folds
only; each page's figure is the fold that held it out. Engine outputs and their CPU times come
from the cache of benchmarks/extract_sets.py (filled on first use: slow, trafilatura on 1,358 pages).

    python tools/train_extract_chooser.py [--folds 5] [--speedup 2.0] [--traf "trafilatura no comments"]
                                          [--no-write]
"""
from __future__ import annotations

import argparse
import json
import logging
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
from corpusmill.stages.extract_chooser import MODEL_PATH, page_features, pair_features  # noqa: E402

MAIN, PAGE = CANDIDATES  # the two cheap texts, in resiliparse_texts' order
BEFORE = "hybrid (before issue 15)"
PLAIN = "trafilatura"
PARAMS = {"trees": 120, "depth": 3, "rate": 0.06, "min_leaf": 20}


def matrix(rows: list[dict[str, float]]) -> tuple[np.ndarray, list[str]]:
    names = list(rows[0])
    return np.array([[r[n] for n in names] for r in rows], dtype=np.float64), names


def folds_by_domain(domains: list[str], k: int) -> np.ndarray:
    return np.array([zlib.crc32(d.encode()) % k for d in domains])


def fit_models(x1, x2, f_main, f_page, f_traf, speed_share: float) -> dict:
    page_vs_main = gbdt.fit(x1, f_page - f_main, **PARAMS)
    pick_page = gbdt.predict(page_vs_main, x1) > 0
    cheap = np.where(pick_page, f_page, f_main)
    gain = gbdt.fit(x1, f_traf - cheap, **PARAMS)
    # keep: a model per cheap pick, each sees trafilatura's text against that pick
    keep = gbdt.fit(np.column_stack([x2, pick_page]), f_traf - cheap, **PARAMS)
    g = gbdt.predict(gain, x1)
    tau = float(np.quantile(g, 1 - speed_share)) if speed_share < 1 else -np.inf
    return {"page_vs_main": page_vs_main, "gain": gain, "keep": keep, "tau": tau}


def decide(models: dict, x1, x2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per page: took the page text (vs main), ran trafilatura, kept trafilatura."""
    pick_page = gbdt.predict(models["page_vs_main"], x1) > 0
    run = gbdt.predict(models["gain"], x1) > models["tau"]
    keep = run & (gbdt.predict(models["keep"], np.column_stack([x2, pick_page])) > 0)
    return pick_page, run, keep


def summary(name, f, cpu, types) -> dict:
    return {"setting": name, "word_f1": round(float(f.mean()), 4),
            "by_type": {t: round(float(f[types == t].mean()), 4) for t in sorted(set(types))},
            "pages_per_s_per_core": round(len(f) / float(cpu.sum()), 1)}


def features(pages, out, traf_name):
    """Page features (x1) and with trafilatura's text (x2), and the CPU seconds each took."""
    rows1, rows2, feat_cpu, pair_cpu = [], [], [], []
    for p in pages:
        main, page, traf = out[MAIN][p.pid][0], out[PAGE][p.pid][0], out[traf_name][p.pid][0]
        tree = HTMLTree.parse(p.html)  # the parse is inside the candidates' timed cost
        t0 = time.process_time()
        r = page_features(tree, p.html, p.url, main, page)
        feat_cpu.append(time.process_time() - t0)
        rows1.append(r)
        t0 = time.process_time()
        rows2.append({**r, **pair_features(main, traf, "traf"), **pair_features(page, traf, "trafp")})
        pair_cpu.append(time.process_time() - t0)
    x1, names1 = matrix(rows1)
    x2, names2 = matrix(rows2)
    return x1, x2, names1, names2, np.array(feat_cpu), np.array(pair_cpu)


def second_check(models: dict, traf_name: str) -> dict:
    """The model trained on all of WCXB dev, on the ScrapingHub articles it never saw."""
    pages = load_set("aeb")
    out = {n: outputs("aeb", n, setting_fn(n), pages) for n in (MAIN, PAGE, traf_name, BEFORE)}
    f = {n: np.array([word_f1(o[p.pid][0], p.gold) for p in pages]) for n, o in out.items()}
    x1, x2, *_ = features(pages, out, traf_name)
    pick_page, run, keep = decide(models, x1, x2)
    chosen = np.where(keep, f[traf_name], np.where(pick_page, f[PAGE], f[MAIN]))
    return {"set": "aeb", "word_f1": round(float(chosen.mean()), 4), "before_word_f1": round(float(f[BEFORE].mean()), 4),
            "trafilatura_share": round(float(run.mean()), 3), "pages": len(pages)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--speedup", type=float, default=2.0, help="speed goal against the old hybrid default")
    ap.add_argument("--margin", type=float, default=0.85, help="share of the speed budget to plan for")
    ap.add_argument("--traf", default="trafilatura no comments", choices=[s for s in ENGINE_SETTINGS if "trafil" in s])
    ap.add_argument("--no-write", action="store_true", help="report only; leave the shipped model alone")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    pages = load_set("wcxb_dev")
    out = {n: outputs("wcxb_dev", n, setting_fn(n), pages) for n in (MAIN, PAGE, args.traf, BEFORE, PLAIN)}
    f = {n: np.array([word_f1(o[p.pid][0], p.gold) for p in pages]) for n, o in out.items()}
    cpu = {n: np.array([o[p.pid][1] for p in pages]) for n, o in out.items()}
    types = np.array([p.page_type for p in pages])

    x1, x2, names1, names2, feat_cpu, pair_cpu = features(pages, out, args.traf)

    # Speed: resiliparse (either candidate's time covers the one parse and both texts) + features
    # always, trafilatura (+ its pair features) on a share of pages; budget: old default's CPU / speedup.
    budget = cpu[BEFORE].mean() / args.speedup * args.margin
    always = cpu[MAIN] + feat_cpu
    extra = cpu[args.traf] + pair_cpu
    share = float(np.clip((budget - always.mean()) / extra.mean(), 0, 1))

    fold = folds_by_domain([p.domain for p in pages], args.folds)
    chosen, cost, ran = np.zeros(len(pages)), np.zeros(len(pages)), np.zeros(len(pages), bool)
    for k in range(args.folds):
        tr, te = fold != k, fold == k
        models = fit_models(x1[tr], x2[tr], f[MAIN][tr], f[PAGE][tr], f[args.traf][tr], share)
        pick_page, run, keep = decide(models, x1[te], x2[te])
        cheap = np.where(pick_page, f[PAGE][te], f[MAIN][te])
        chosen[te] = np.where(keep, f[args.traf][te], cheap)
        cost[te] = always[te] + run * extra[te]
        ran[te] = run
    report = {"cross_validated": summary("auto (cross-validated)", chosen, cost, types),
              "trafilatura_share": round(float(ran.mean()), 3), "planned_share": round(share, 3),
              "feature_ms": round(1000 * float(feat_cpu.mean()), 2),
              "speed_vs_before": round(float(cpu[BEFORE].sum() / cost.sum()), 2),
              "folds": args.folds, "traf": args.traf, "pages": len(pages),
              "sites": len({p.domain for p in pages})}
    for n in (BEFORE, PLAIN, args.traf, MAIN, PAGE):
        print(json.dumps(summary(n, f[n], cpu[n], types)))
    print(json.dumps(report))
    below = [t for t, v in report["cross_validated"]["by_type"].items()
             if v < summary(PLAIN, f[PLAIN], cpu[PLAIN], types)["by_type"][t]]
    print(json.dumps({"types_below_plain_trafilatura": below}))
    models = fit_models(x1, x2, f[MAIN], f[PAGE], f[args.traf], share)
    report["aeb"] = second_check(models, args.traf)
    print(json.dumps(report["aeb"]))
    if args.no_write:
        return
    spec = {"trained_on": f"WCXB dev split, {len(pages)} pages, {versions()}", "cross_validated": report,
            "traf_options": {k: v for k, v in ENGINE_SETTINGS[args.traf].items() if k != "engine"},
            "tau": models["tau"], "features1": names1, "features2": names2 + ["pick_page"],
            "models": {k: models[k] for k in ("page_vs_main", "gain", "keep")}}
    MODEL_PATH.write_text(json.dumps(spec, separators=(",", ":")))
    print(json.dumps({"wrote": str(MODEL_PATH), "bytes": MODEL_PATH.stat().st_size}))


if __name__ == "__main__":
    main()
