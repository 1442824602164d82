"""`mode: annotate` + `corpus select` equals a build with the same thresholds, decision for decision:
the same files under documents/ and removed/ (rows, order, columns, text), the same stats, for a
looser, a tighter and a mixed setting; what select cannot re-apply exactly is refused."""
import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from corpusmill.cli import main
from corpusmill.common.artifact import ArtifactError, build_documents
from corpusmill.common.config import ConfigError
from corpusmill.pipeline.config import load_build_config
from corpusmill.pipeline.runner import run_build
from corpusmill.pipeline.select import run_select
from fixtures import TOWN_NEWS, write_jsonl

SENTENCES = [s for s in TOWN_NEWS if not s.startswith(("The football", "A family of otters"))]
GERMAN = ("Der Gemeinderat hat am Dienstag beschlossen, die alte Steinbrücke vor dem Winterhochwasser zu "
          "reparieren. Die Bauern auf dem Markt sagten, der späte Frost habe die Apfelernte halbiert. ")

# A build config whose thresholds the three settings move; dedup runs after them.
STAGES = [{"length": {"min_chars": 100}}, {"langid": {"languages": ["en"], "min_score": 0.5}},
          {"quality": {}}, {"sensitive": {"pii": "redact", "badwords": {"min_distinct": 2, "min_ratio": 0.01}}},
          {"dedup": {"exact": True, "url": False, "minhash": {"ngram": 5, "threshold": 0.7}}}]
SETTINGS = {
    "looser": {"length.min_chars": 20, "quality.gopher.min_doc_words": 10, "quality.c4.min_num_sentences": 2,
               "langid.languages": None, "sensitive.badwords.min_distinct": 4},
    "tighter": {"length.min_chars": 600, "quality.gopher.min_doc_words": 120, "quality.fineweb.short_line_thr": 0.3,
                "sensitive.badwords.min_distinct": 1, "sensitive.badwords.min_ratio": None},
    "mixed": {"quality.gopher.min_doc_words": 20, "quality.c4.min_num_sentences": 8,
              "quality.gopher_repetition.dup_line_frac": 0.05, "langid.min_score": 0.95},
}


def documents() -> list[dict]:
    rnd = random.Random(7)
    docs = []
    for i in range(36):
        k = 1 + i % 12  # 1..12 sentences: the word and sentence rules cut at different places
        text = " ".join(rnd.sample(SENTENCES, min(k, len(SENTENCES))))
        if i % 5 == 0:
            text += "\n" + "\n".join(f"- item {j}" for j in range(i % 7 + 1))  # short lines, bullets
        if i % 6 == 0:
            text += "\nWrite to clerk%d@river-news.example.org or call." % i  # PII, redacted where kept
        if i % 7 == 3:
            text += " Some said it was crap and bullshit, others that the fuck-up was fixed."  # listed words
        if i % 9 == 4:
            text += "\n" + "\n".join([SENTENCES[0]] * 3)  # repeated lines
        docs.append({"id": f"d{i}", "text": text, "url": f"https://river.test/{i}"})
    docs += [{"id": "copy-d11", "text": docs[11]["text"], "url": "https://mirror.test/11"},
             {"id": "de", "text": GERMAN * 4}, {"id": "tiny", "text": "Too short."},
             {"id": "mixed-de", "text": GERMAN + SENTENCES[1] + " " + SENTENCES[2]}]
    return docs


def config(tmp: Path, output: str, mode: str = "build", sets: dict | None = None) -> Path:
    stages = json.loads(json.dumps(STAGES))
    for key, value in (sets or {}).items():
        name, *path = key.split(".")
        opts = next(s[name] for s in stages if name in s)
        for p in path[:-1]:
            opts = opts.setdefault(p, {})
        opts[path[-1]] = value
    cfg = {"inputs": [{"name": "news", "path": [str(tmp / "news-b.jsonl"), str(tmp / "news-a.jsonl")]}],
           "output": str(tmp / output),
           "batch_size": 8, "mode": mode, "stages": stages}
    path = tmp / f"{output}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def annotated(tmp_path_factory, ray_local) -> Path:
    tmp = tmp_path_factory.mktemp("select")
    docs = documents()  # two files (two parts): dedup keeps the copy in the part planned first
    write_jsonl(tmp / "news-a.jsonl", docs[::2])
    write_jsonl(tmp / "news-b.jsonl", docs[1::2] + [{**docs[10], "id": "copy-d10"}])
    run_build(load_build_config(config(tmp, "annotated", mode="annotate")))
    return tmp


def files(root: Path) -> dict[str, list[dict]]:
    return {str(f.relative_to(root)): pq.read_table(f).to_pylist()
            for f in sorted(root.rglob("*.parquet")) if "_state" not in f.parts}


def comparable(stats: dict) -> dict:
    drop = {"seconds", "cpu_seconds_in_parts"}
    out = {k: v for k, v in stats.items() if k not in drop | {"select", "failed_parts"}}
    for g in out["stages"].values():
        g.pop("seconds", None)
    for s in out["sources"].values():
        for g in s["stages"].values():
            g.pop("seconds", None)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_select_equals_a_build_with_the_same_thresholds(annotated, setting, monkeypatch):
    from corpusmill.pipeline import select

    tmp, sets = annotated, SETTINGS[setting]
    if setting == "mixed":  # its parts on the Ray workers (small outputs run them in-process)
        monkeypatch.setattr(select, "IN_PROCESS_BELOW", 0)
    run_build(load_build_config(config(tmp, f"direct-{setting}", sets=sets)))
    run_select(tmp / "annotated", tmp / f"selected-{setting}", sets)
    direct, selected = files(tmp / f"direct-{setting}"), files(tmp / f"selected-{setting}")
    assert sorted(direct) == sorted(selected)
    for name in direct:
        assert direct[name] == selected[name], name  # rows, order, every column, the text
    kept = [r["id"] for n, rows in direct.items() if n.startswith("documents/") for r in rows]
    removed = {r["id"]: f"{r['stage']}/{r['reason']}" for n, rows in direct.items() if n.startswith("removed/") for r in rows}
    assert kept and len(set(r.split("/")[0] for r in removed.values())) >= 3, (kept, removed)  # the setting bites
    d = json.loads((tmp / f"direct-{setting}" / "stats.json").read_text())
    s = json.loads((tmp / f"selected-{setting}" / "stats.json").read_text())
    assert comparable(d) == comparable(s)
    base = run_select(tmp / "annotated", tmp / "selected-base", {})["totals"]["kept"]  # the annotate config's own
    assert {"looser": len(kept) > base, "tighter": len(kept) < base, "mixed": len(kept) != base}[setting], (base, kept)
    assert (tmp / f"direct-{setting}/_state/config.json").read_text() == \
        (tmp / f"selected-{setting}/_state/config.json").read_text()


@pytest.mark.parametrize("sets, says", [
    ({"quality.gopher.stop_words": {"en": ["the"]}}, "quality.gopher.stop_words.en: not a threshold"),
    ({"quality.word_tokenizer": "spacy"}, "quality.word_tokenizer: not a threshold"),
    ({"quality.c4": False}, "quality.c4: not a threshold"),
    ({"sensitive.pii": "off"}, "sensitive.pii.mode: not a threshold"),
    ({"quality.gopher_repetition.top_n_grams": [[5, 0.1]]}, "n=[5] was not measured"),
    ({"nosuch.min": 1}, "no stage 'nosuch'"),
    ({"length.min_chars": "many"}, "length.min_chars"),
])
def test_what_cannot_be_reapplied_exactly_is_refused_naming_the_key(annotated, sets, says):
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        run_select(annotated / "annotated", annotated / "refused", sets)
    assert not (annotated / "refused" / "documents").exists()


def test_select_reads_only_a_finished_annotate_build(annotated, tmp_path):
    from corpusmill.common import artifact

    plain = tmp_path / "plain"  # a finished build as corpusmill before annotate mode wrote it (no `mode`)
    artifact.write(plain, "build", config={}, fingerprint="-", details={"documents": 3})
    with pytest.raises(ConfigError, match="plain build"):
        run_select(plain, tmp_path / "x", {})
    unfinished = tmp_path / "unfinished"
    artifact.write(unfinished, "build", config={}, fingerprint="-", status=artifact.INCOMPLETE,
                   details={"mode": "annotate", "unfinished": "1 parts failed"})
    with pytest.raises(ArtifactError, match="unfinished build"):
        run_select(unfinished, tmp_path / "x", {})
    with pytest.raises(ArtifactError, match="corpus select"):  # tokenizer, mix: never an annotate build's documents
        build_documents(annotated / "annotated", "corpus mix")


def test_cli_refusal_is_a_message(annotated):
    r = CliRunner().invoke(main, ["select", str(annotated / "annotated"), "-o", str(annotated / "cli"),
                                  "--set", "quality.word_tokenizer=spacy"])
    assert r.exit_code == 1 and "quality.word_tokenizer: not a threshold" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["select", str(annotated / "annotated"), "-o", str(annotated / "cli"), "--set", "x"])
    assert r.exit_code == 1 and "STAGE.KEY=VALUE" in r.output


@pytest.mark.slow
def test_cli_select_section_in_a_yaml_and_set_on_top(annotated):
    sets = SETTINGS["tighter"]
    (annotated / "select.yaml").write_text(yaml.safe_dump({"select": {**sets, "length.min_chars": 5}}))
    r = CliRunner().invoke(main, ["select", str(annotated / "annotated"), "-o", str(annotated / "cli-yaml"), "-q",
                                  "--config", str(annotated / "select.yaml"),
                                  "--set", f"length.min_chars={sets['length.min_chars']}"])  # --set wins
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["kept"] > 0
    run_select(annotated / "annotated", annotated / "api-tighter", sets)
    assert files(annotated / "cli-yaml") == files(annotated / "api-tighter")
    assert (annotated / "cli-yaml" / "report.html").is_file()


def test_select_never_overwrites_a_folder_it_did_not_write(annotated, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not empty and not an earlier `corpus select` output"):
        run_select(annotated / "annotated", tmp_path / "mine", {})
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_annotate_refuses_what_select_could_not_redo(tmp_path):
    import pyarrow as pa

    from corpusmill.pipeline import annotate
    from corpusmill.stages.normalize import Normalize

    batch = pa.table({"text": ["a", "b"]})
    with pytest.raises(ConfigError, match="stage normalize removed 1 documents but cannot re-decide them"):
        annotate.record(Normalize(), batch, batch, [None, "gone"])
    changed = annotate.record(Normalize(), batch, pa.table({"text": ["a", "B"]}), [None, None])
    assert changed.column("_text_before.normalize").to_pylist() == [None, "b"]  # what select gives a removed row
    write_jsonl(tmp_path / "news.jsonl", documents()[:2])
    (tmp_path / "evals.txt").write_text("a question from an evaluation set that must not be trained on\n")
    decon = {"decontaminate": {"references": [{"name": "evals", "path": str(tmp_path / "evals.txt")}], "mode": "remove"}}
    for extra, says in (({"partition_by": "lang"}, "cannot be combined with partition_by"),
                        ({"stages": [{"normalize": {}}]}, "no stage in `stages` has thresholds"),
                        ({"stages": [*STAGES[:2], decon]}, "stage decontaminate \\(mode: remove\\) comes after")):
        cfg = {"inputs": [{"name": "news", "path": str(tmp_path / "news.jsonl")}], "output": str(tmp_path / "o"),
               "mode": "annotate", "stages": STAGES[:2], **extra}
        (tmp_path / "b.yaml").write_text(yaml.safe_dump(cfg))
        with pytest.raises(ConfigError, match=says):
            run_build(load_build_config(tmp_path / "b.yaml"))
