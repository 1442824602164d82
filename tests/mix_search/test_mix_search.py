"""`corpus mix search` on real text: tiny proxies on Ray, each one's result kept (a re-run with a larger
budget trains only the new ones), a fit whose leave-one-out R² is reported, and a mixture.yaml that
loads and respects max_epochs."""
import json

import numpy as np
import pytest
import yaml

from conftest import shared
from corpusmill.mix_search import fit as search_fit
from corpusmill.mixtures.spec import load_mixture_config

pytestmark = [pytest.mark.usefixtures("ray_local"), pytest.mark.slow]


def test_fit_recovers_a_known_quadratic_and_its_minimum():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.ones(3), 30)
    true = np.array([1.0, 1.2, 1.5, -0.8, 0.1, 0.2])  # linear + pairwise (a*b lowers bpb)
    y = search_fit.features(W, "quadratic") @ true + rng.normal(0, 0.002, len(W))
    f = search_fit.fit(W, y, "auto")
    assert f["kind"] == "quadratic" and f["r2_loo"] > 0.99 and f["tried"]["linear"] < f["r2_loo"]
    caps = np.array([np.inf, np.inf, 0.05])
    w = search_fit.propose(np.array(f["coef"]), f["kind"], np.ones(3), caps, seed=0)
    grid = rng.dirichlet(np.ones(3), 200_000)
    grid = grid[search_fit.feasible(grid, caps)]
    best = search_fit.predict(true, grid, "quadratic").min()
    assert w[2] <= 0.05 + 1e-9 and abs(w.sum() - 1) < 1e-9
    assert search_fit.predict(true, w, "quadratic")[0] < best + 0.005  # within noise of the true minimum


def write_docs(folder, name, texts):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": [f"{name}-{i}" for i in range(len(texts))], "text": texts,
                             "source": [name] * len(texts), "lang": [None] * len(texts)}), folder / "part-0.parquet")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    import sentencepiece as spm

    d = tmp_path_factory.mktemp("search")
    books = shared("text", "en", "gutenberg", "austen-emma.txt").read_text(encoding="utf-8", errors="replace")
    news = [n for n in shared("text", "en", "lee_news_background.cor").read_text().splitlines() if n.strip()]
    zh = shared("text", "zh", "hongloumeng.txt").read_text(encoding="utf-8")[:60_000]
    write_docs(d / "books", "books", [books[i:i + 2000] for i in range(0, 120_000, 2000)])
    write_docs(d / "news", "news", news[:60])
    write_docs(d / "zh", "zh", [zh[i:i + 600] for i in range(0, len(zh), 600)])
    (d / "tok").mkdir()
    (d / "sample.txt").write_text(books[:100_000] + "\n" + zh[:30_000] + "\n" + "\n".join(news[:60]))
    spm.SentencePieceTrainer.train(input=str(d / "sample.txt"), model_prefix=str(d / "tok" / "tokenizer"),
                                   vocab_size=1000, model_type="bpe", byte_fallback=True, character_coverage=0.98,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=3, minloglevel=2)
    return d


def search_yaml(d, runs):
    cfg = {"tokenizer": "tok", "output": "search", "seq_len": 64, "seed": 3, "validation": {"fraction": 0.1},
           "target": {"total_tokens": 200_000},
           "sources": [{"name": "books", "path": "books"}, {"name": "news", "path": "news", "max_epochs": 2},
                       {"name": "zh", "path": "zh"}],
           "proxy": {"runs": runs, "model": {"n_layer": 1, "n_head": 2, "d_model": 32}, "train_tokens": 20_480,
                     "global_batch_tokens": 1024, "micro_batch_size": 8, "eval_batches": 2}}
    (d / "search.yaml").write_text(json.dumps(cfg))
    return d / "search.yaml"


def test_search_resumes_fits_and_writes_a_mixture_that_loads(sources):
    from corpusmill.mix_search.search import run_search
    from corpusmill.mix_search.spec import load_search_config

    d = sources
    first = run_search(load_search_config(search_yaml(d, 5)))
    assert first["fit"] == "linear"  # 5 runs: too few for the 6 quadratic terms plus two
    results = {p.parent.name: p.stat().st_mtime_ns for p in (d / "search" / "proxies").glob("*/result.json")}
    assert len(results) == 5
    again = run_search(load_search_config(search_yaml(d, 9)))
    after = {p.parent.name: p.stat().st_mtime_ns for p in (d / "search" / "proxies").glob("*/result.json")}
    assert len(after) == 9 and all(after[k] == t for k, t in results.items())  # the 5 kept, not retrained
    # proxy 8 as a run of other weights left it (a changed prior), killed before its result: redone from scratch
    stale = d / "search" / "proxies" / "0008"
    (stale / "result.json").unlink()
    (stale / "weights.json").write_text(json.dumps([0.2, 0.3, 0.5]))
    again = run_search(load_search_config(search_yaml(d, 9)))
    redone = {p.parent.name: p.stat().st_mtime_ns for p in (d / "search" / "proxies").glob("*/result.json")}
    assert len(redone) == 9 and all(redone[k] == t for k, t in after.items() if k != "0008")
    assert json.loads((stale / "weights.json").read_text()) != [0.2, 0.3, 0.5]
    rows = [json.loads(line) for line in (d / "search" / "results.jsonl").read_text().splitlines()]
    assert [r["proxy"] for r in rows] == list(range(9))
    caps = again["caps"]
    assert 0 < caps["news"] < 1 and caps["books"] is None
    for r in rows:
        assert abs(sum(r["weights"].values()) - 1) < 1e-6 and r["weights"]["news"] <= caps["news"] + 1e-9
        assert 0.5 < r["bpb"] < 20 and set(r["bpb_per_source"]) == {"books", "news", "zh"}
        for n, w in r["weights"].items():  # the proxy trained on the weights it was given
            assert abs(r["realised_shares"][n] - w) < 0.02, (n, r)
    # the fit: its leave-one-out R² is the one recomputed from the rows, and it is reported as it is
    W = np.array([[r["weights"][n] for n in ("books", "news", "zh")] for r in rows])
    y = np.array([r["bpb"] for r in rows])
    fit = json.loads((d / "search" / "fit.json").read_text())
    loo = search_fit.loo_predictions(W, y, fit["fit"])
    assert fit["r2_loo"] == pytest.approx(search_fit.r2(y, loo)) and fit["r2_loo"] <= fit["r2_in_sample"]
    assert (d / "search" / "fit.html").stat().st_size > 100_000  # plotly.js inlined: opens offline
    mix = load_mixture_config(d / "search" / "mixture.yaml")
    weights = {s.name: s.weight for s in mix.sources}
    assert weights == pytest.approx(again["proposed"], abs=1e-3)
    assert weights["news"] <= caps["news"] + 1e-3 and mix.total_tokens == 200_000
    assert next(s for s in mix.sources if s.name == "news").max_epochs == 2


def test_search_refuses_kept_runs_of_another_config(sources):
    from corpusmill.mix_search.search import run_search
    from corpusmill.mix_search.spec import load_search_config
    from corpusmill.pipeline.config import ConfigError

    path = search_yaml(sources, 5)
    cfg = load_search_config(path)
    cfg.proxy.lr = 1e-3
    if not (sources / "search" / "proxies").exists():
        run_search(load_search_config(path))
    with pytest.raises(ConfigError, match="another search configuration.*proxy.lr"):
        run_search(cfg)
    cfg.proxy.lr, cfg.proxy.device = load_search_config(path).proxy.lr, "cuda"
    with pytest.raises(ConfigError, match="proxy.device: cuda, but the Ray cluster has no GPU"):
        run_search(cfg)  # refused before the kept runs are looked at
    assert len(list((sources / "search" / "proxies").glob("*/result.json"))) >= 5


def test_cli_search_resumes_and_mix_still_builds(sources):
    from click.testing import CliRunner

    from corpusmill.cli import main

    d = sources
    y = search_yaml(d, 5)
    r = CliRunner().invoke(main, ["mix", "search", str(y)])  # proxies kept from the tests above, or trained now
    assert r.exit_code == 0, r.output
    assert "5 proxies; linear fit, leave-one-out R²" in r.stdout and "wrote " in r.stdout
    # `corpus mix FILE` is still the mixture build: the proposed mixture.yaml, planned
    r = CliRunner().invoke(main, ["mix", str(d / "search" / "mixture.yaml"), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "asked 200,000" in r.stdout
    cfg = json.loads(y.read_text())
    cfg["proxy"]["runs"] = 4
    y.write_text(json.dumps(cfg))
    r = CliRunner().invoke(main, ["mix", "search", str(y)])
    assert r.exit_code == 1 and "proxy.runs: 4 proxies cannot fit the weights of 3 sources; give at least 5" in r.output
    assert "Traceback" not in r.output


def test_text_files_as_the_held_out_set(sources, tmp_path):
    """evaluate_files scores a proxy's final model on plain text: on news text, the proxy trained on the
    most news scores better than the one trained on the least, and near the bpb the trainer logged
    for the news validation split (same model, same kind of text, other windows)."""
    from corpusmill.mix_search.heldout import encode_files, files_bpb
    from corpusmill.mix_search.spec import load_search_config
    from corpusmill.tokenizer.model import load_tokenizer

    d = sources
    if not (d / "search" / "results.jsonl").is_file():
        from corpusmill.mix_search.search import run_search

        run_search(load_search_config(search_yaml(d, 5)))
    rows = [json.loads(line) for line in (d / "search" / "results.jsonl").read_text().splitlines()]
    news = tmp_path / "news.txt"
    news.write_text("\n".join(n for n in shared("text", "en", "lee_news_background.cor").read_text().splitlines()[200:260]))
    held = encode_files([str(news)], load_tokenizer(d / "tok"), tmp_path / "held.npy", 20_000)
    most = max(rows, key=lambda r: r["weights"]["news"])
    least = min(rows, key=lambda r: r["weights"]["news"])
    bpb = {r["proxy"]: files_bpb(d / "search" / "proxies" / f"{r['proxy']:04d}" / "run", held, 64, "cpu")
           for r in (most, least)}
    assert bpb[most["proxy"]] < bpb[least["proxy"]]
    assert bpb[most["proxy"]] == pytest.approx(most["bpb_per_source"]["news"], rel=0.1)
    cfg = json.loads(search_yaml(d, 5).read_text())
    (d / "files.yaml").write_text(json.dumps({**cfg, "evaluate_files": [str(news)]}))
    assert load_search_config(d / "files.yaml").eval_sources == []  # files given: no source by default
    (d / "bad.yaml").write_text(json.dumps({**cfg, "evaluate_files": ["missing.txt"]}))
    from corpusmill.pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="evaluate_files: .*missing.txt is not a file"):
        load_search_config(d / "bad.yaml")
