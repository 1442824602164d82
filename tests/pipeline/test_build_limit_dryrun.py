"""`corpus build --limit N` (N records of each source spread over its parts, in their own output) and
`corpus build --dry-run` (what would be read and done, an estimate, nothing written)."""
import gzip
import json
from pathlib import Path

import pyarrow.dataset as ds
import pytest
import yaml
from click.testing import CliRunner

from corpusmill.cli import main
from corpusmill.pipeline.dryrun import compression_ratio
from fixtures import write_jsonl

TEXT = "The river town kept its old stone bridge, and every spring the market filled the square. "


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": f"a{i}", "text": f"{i} {TEXT * 3}"} for i in range(3)])
    write_jsonl(tmp_path / "in" / "b.jsonl", [{"id": f"b{i}", "text": f"{i} {TEXT * 3}"} for i in range(6)])
    write_jsonl(tmp_path / "other.jsonl.gz", [{"id": f"o{i}", "text": f"{i} {TEXT * 5}"} for i in range(40)],
                compress=True)
    cfg = {"inputs": [{"name": "news", "path": "in/*.jsonl"}, {"name": "other", "path": "other.jsonl.gz"}],
           "output": "out", "stages": [{"normalize": {}}, {"length": {"min_chars": 10}}, {"sensitive": {"pii": "redact"}}]}
    (tmp_path / "build.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "build.yaml"


def corpus(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


@pytest.mark.slow
@pytest.mark.usefixtures("ray_local")
def test_limit_builds_n_records_of_each_source_spread_over_it_into_its_own_output(config):
    code, text = corpus("build", str(config), "--limit", "5", "-q")
    assert code == 0, text
    out = config.parent / "out-limit5"
    assert json.loads(text.splitlines()[-1])["output"] == str(out) and not (config.parent / "out").exists()
    ids = ds.dataset(str(out / "documents")).to_table(columns=["id"]).column("id").to_pylist()
    # news: a.jsonl holds a third of its bytes, so 2 of 5 (the first two), b.jsonl 3; other: one part
    assert sorted(ids) == ["a0", "a1", "b0", "b1", "b2", "o0", "o1", "o2", "o3", "o4"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sources"]["news"]["documents_in"] == 5 and stats["sources"]["other"]["documents_in"] == 5
    assert stats["sources"]["news"]["parts"] == 2
    code, again = corpus("build", str(config), "--limit", "5", "-q")  # resumes: every part is done
    assert code == 0 and json.loads(again.splitlines()[-1])["documents_in"] == 10


def test_limit_spreads_over_many_parts_and_takes_the_shortfall_elsewhere(tmp_path):
    from corpusmill.pipeline.config import load_build_config
    from corpusmill.pipeline.limit import limit_parts, spread
    from corpusmill.pipeline.parts import plan_parts

    assert spread(3, [10] * 10) == [0, 1, 0, 0, 1, 0, 0, 0, 1, 0] and spread(5, [0, 0]) == [3, 2]
    for i in range(10):
        write_jsonl(tmp_path / f"f{i}.jsonl", [{"id": f"f{i}-{j}", "text": TEXT} for j in range(4)])
    write_jsonl(tmp_path / "g-big.jsonl", [{"id": "big", "text": TEXT * 200}])  # most bytes, one record
    write_jsonl(tmp_path / "h.jsonl", [{"id": f"h{j}", "text": TEXT} for j in range(9)])
    cfg = {"inputs": [{"name": "many", "path": "f*.jsonl"}, {"name": "lumpy", "path": ["g-big.jsonl", "h.jsonl"]}],
           "output": "out", "limit": 3, "stages": []}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(cfg))
    c = load_build_config(tmp_path / "b.yaml")
    got = {(p.source, Path(p.path).name): p.limit for p in limit_parts(c, plan_parts(c))}
    assert {k: v for k, v in got.items() if k[0] == "many"} == {
        ("many", "f1.jsonl"): 1, ("many", "f4.jsonl"): 1, ("many", "f8.jsonl"): 1}
    assert got[("lumpy", "g-big.jsonl")] == 1 and got[("lumpy", "h.jsonl")] == 2  # g's share was 3: 2 moved to h


def test_dry_run_says_what_it_would_do_and_writes_nothing(config):
    code, text = corpus("build", str(config), "--dry-run", "--num-cpus", "2")
    assert code == 0, text
    assert not (config.parent / "out").exists()
    assert "stages   ingest -> normalize -> length -> sensitive -> output" in text
    assert "url_blocklist and badwords not named, so off" in text  # the notice of the changed defaults
    assert "parts    3 (0 finished earlier" in text
    news_bytes = sum(f.stat().st_size for f in (config.parent / "in").glob("*.jsonl"))
    assert f"news: 2 file(s), 2 part(s), jsonl, {news_bytes / 1e6:,.1f} MB on disk" in text
    line = next(ln for ln in text.splitlines() if "other:" in ln)
    estimated = int(line.rsplit("~", 1)[1].split()[0].replace(",", ""))
    assert 40 <= estimated <= 60  # 40 records; the JSON around each text makes the estimate lean high
    assert "sample: 9 records here, 9 kept" in text and "sample: 40 records here, 40 kept" in text
    assert "estimate ~" in text and "on 2 CPU(s)" in text and "not included: ray start-up" in text


def test_compression_ratio_is_measured_on_the_file(tmp_path):
    raw = (TEXT * 2000).encode()
    (tmp_path / "t.txt.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "t.txt").write_bytes(raw)
    assert compression_ratio(str(tmp_path / "t.txt.gz")) == pytest.approx(len(raw) / len(gzip.compress(raw)))
    assert compression_ratio(str(tmp_path / "t.txt")) == 1.0


def test_limit_weighs_a_split_parquet_file_by_its_bytes(tmp_path):
    """A Parquet range counts row groups, not bytes: its weight is its share of the file's size, so the
    parts of a split file add up to the file and weigh like a whole file of that size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpusmill.pipeline.limit import _part_bytes
    from corpusmill.pipeline.parts import Part

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": [f"document number {i} " * 20 for i in range(1000)]}), path, row_group_size=100)
    size = path.stat().st_size
    whole = _part_bytes(Part("s", str(path), "t.parquet", "parquet"))
    head, tail = (_part_bytes(Part("s", str(path), "t.parquet", "parquet", a, b)) for a, b in ((0, 3), (3, None)))
    assert whole == size and abs(head + tail - size) <= 1 and abs(head / size - 0.3) < 0.02
