"""report.html: the numbers it gathers from a real build, the page itself, and the charts as
headless Chromium renders them (skipped, saying why, where no chromium is installed: `make test`
installs Debian's)."""
import bisect
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from corpusmill.cli import main as cli_main
from corpusmill.report import ReportError, write_report
from corpusmill.report import charts
from corpusmill.report.scan import LENGTH_EDGES, Languages, Lengths, Pii, scan
from corpusmill.report.source import open_build_output
from corpusmill.report.summary import dedup_clusters, funnel, removal_reasons
from fixtures import article_html, pages, write_jsonl, write_warc

GERMAN = ("Die Stadt am Fluss hat eine alte Steinbrücke, und jeden Frühling füllt der Markt den Platz mit "
          "Bauern, Bäckern und Musikanten, die bleiben, bis die Laternen brennen. ") * 3
FRENCH = ("La ville au bord de la rivière garde son vieux pont de pierre, et chaque printemps le marché "
          "remplit la place de paysans, de boulangers et de musiciens ambulants. ") * 3
MAIL = ("Dear members of the allotment society, the autumn meeting moves to the village hall this year. "
        "Please send your seed orders to marie.dupont@allotments-society.org before the end of the month, "
        "and bring gloves, labels and a thermos of something warm.")
CONTACT = ("<p>Write to the editor at editor@river-town-gazette.org or to letters@river-town-gazette.org, "
           "or call +1 415 555 0123 on weekdays.</p>")


def _build(tmp: Path, name: str, inputs: list[dict], stages: list, batch_size: int = 4) -> Path:
    out = tmp / name
    y = tmp / f"{name}.yaml"
    y.write_text(yaml.safe_dump({"inputs": inputs, "output": str(out), "stages": stages, "batch_size": batch_size}))
    r = CliRunner().invoke(cli_main, ["build", str(y)])  # the CLI writes report.html after the build
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory, ray_local):
    """A build through extract, length, langid, sensitive (PII) and dedup, with something for every chart."""
    tmp = tmp_path_factory.mktemp("report")
    contact = article_html(99, "Contact the Gazette").replace("</article>", CONTACT + "</article>")
    write_warc(tmp / "web.warc.gz", [
        *pages(4), {"url": "https://www.river-town.test/contact", "html": contact},
        {"url": "https://www.river-town.test/logo.png", "body": b"\x89PNG....", "content_type": "image/png"},
        {"url": "https://www.river-town.test/gone", "html": "<html>gone</html>", "status": 404}])
    write_jsonl(tmp / "notes.jsonl", [
        {"id": "de1", "text": GERMAN}, {"id": "fr1", "text": FRENCH}, {"id": "short", "text": "Kurz."},
        {"id": "de2", "text": GERMAN}, {"id": "mail", "text": MAIL}])
    (tmp / "house-words.txt").write_text("lanterns\nvillage\ngloves\nthermos\n")  # a house list: see MAIL
    badwords = {"packaged": False, "paths": {"en": [str(tmp / "house-words.txt")]}}
    stages = [{"extract": {}}, {"normalize": {}}, {"length": {"min_chars": 50}}, {"langid": {"languages": None}},
              {"sensitive": {"pii": "redact", "url_blocklist": False, "badwords": badwords}},
              {"dedup": {"exact": True, "url": True, "minhash": {"threshold": 0.7}}}]
    return _build(tmp, "out", [{"name": "web", "path": str(tmp / "web.warc.gz")},
                               {"name": "notes", "path": str(tmp / "notes.jsonl")}], stages)


@pytest.fixture(scope="module")
def bare(tmp_path_factory, ray_local):
    """No langid, no sensitive, no dedup, nothing removed: every chart but two has no data."""
    tmp = tmp_path_factory.mktemp("report-bare")
    write_jsonl(tmp / "a.jsonl", [{"id": f"d{i}", "text": f"Document {i}. " + "word " * (10 * i + 5)}
                                  for i in range(6)])
    return _build(tmp, "out", [{"name": "a", "path": str(tmp / "a.jsonl")}], [{"normalize": {}}])


def _histogram(out: Path, folders: list[str]) -> list[int]:
    """Documents per LENGTH_EDGES bin, computed the plain way."""
    counts = [0] * len(LENGTH_EDGES)
    for folder in folders:
        for text in ds.dataset(str(out / folder)).to_table(columns=["text"]).column("text").to_pylist():
            counts[bisect.bisect_right(LENGTH_EDGES, len(text or "")) - 1] += 1
    return counts


def _column_sum(out: Path, folder: str, column: str) -> tuple[int, int]:
    """(sum, rows > 0) of an int column over folder's Parquet files, where the column exists."""
    total = docs = 0
    for f in sorted((out / folder).rglob("*.parquet")):
        t = pq.read_table(f)
        if column in t.column_names:
            vals = [v for v in t.column(column).to_pylist() if v is not None]
            total, docs = total + sum(vals), docs + sum(v > 0 for v in vals)
    return total, docs


def test_build_writes_a_self_contained_report(full):
    page = (full / "report.html").read_text()
    assert page.count("plotly.js v") == 1  # the library's banner: embedded once
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)  # nothing fetched at view time
    for chart in ("chart-funnel", "chart-reasons", "chart-lengths", "chart-languages", "chart-dedup", "chart-pii"):
        assert f'id="{chart}"' in page and f'id="data-{chart}"' in page
    assert "data-empty" not in page
    stats = json.loads((full / "stats.json").read_text())
    assert f"<b>{stats['totals']['documents_in']:,}</b>" in page


def test_gathered_numbers_equal_stats_and_files(full):
    stats = json.loads((full / "stats.json").read_text())
    t = stats["totals"]
    assert (t["documents_in"], stats["stages"]["extract"]["removed_by_reason"]) == (12, {"http_404": 1, "not_html": 1})
    assert stats["stages"]["length"]["removed_by_reason"] == {"too_short": 1}
    b = open_build_output(full)
    steps = funnel(stats)
    assert [s.stage for s in steps] == ["ingest", "extract", "normalize", "length", "langid", "sensitive",
                                        "output", "dedup"]
    assert [(s.docs_in, s.kept, s.removed) for s in steps] == [
        (v["in"], v["kept"], v["removed"]) for v in stats["stages"].values()]
    assert steps[-1].kept == t["kept"] and sum(s.removed for s in steps) == t["removed"]
    reasons = removal_reasons(stats)
    assert {(r.stage, r.reason): r.count for r in reasons} == {
        (s, r): n for s, v in stats["stages"].items() for r, n in v["removed_by_reason"].items()}
    assert sum(r.count for r in reasons) == t["removed"]
    clusters = dedup_clusters(stats)
    d = stats["stages"]["dedup"]
    assert clusters["dedup"]["count"] == d["clusters"]["count"] > 0
    assert sum(n for _, n in clusters["dedup"]["sizes"]) == d["clusters"]["count"]
    assert d["removed_by_reason"].get("exact_duplicate") == 1  # de2 repeats de1

    s = scan(b)
    L = s.lengths
    assert L.first_stage == "normalize" and not L.sampled
    assert sum(L.before) == L.rows_before == L.measured_before == stats["stages"]["normalize"]["in"] == 10
    assert sum(L.after) == L.rows_after == t["kept"]
    assert L.after == _histogram(full, ["documents"])
    assert L.before == _histogram(full, ["documents", "removed/length", "removed/sensitive", "removed/dedup"])
    assert L.before[LENGTH_EDGES.index(5)] == 1  # "Kurz." (5 characters), removed by length
    assert sum(s.languages.kept.values()) == t["kept"] and s.languages.unlabelled_kept == 0
    assert {"en", "de", "fr"} <= set(s.languages.kept)
    assert sum(s.languages.removed.values()) == (  # the only removals after langid
        stats["stages"]["dedup"]["removed"] + stats["stages"]["sensitive"]["removed"])
    assert s.pii.kinds == ["email", "ip", "phone"]
    for kind in s.pii.kinds:
        for where, folder in (("kept", "documents"), ("removed", "removed")):
            assert (s.pii.matches[where][kind], s.pii.documents[where][kind]) == _column_sum(
                full, folder, f"sensitive.pii.{kind}")
    assert s.pii.matches["kept"]["email"] + s.pii.matches["removed"]["email"] == 3
    assert s.pii.scanned["kept"] + s.pii.scanned["removed"] == stats["stages"]["sensitive"]["in"]


def test_bad_words_are_counted_per_word_in_stats_and_the_report(full):
    stats = json.loads((full / "stats.json").read_text())
    sens = stats["stages"]["sensitive"]
    assert sens["removed_by_reason"] == {"badwords": 1}  # MAIL: village, gloves, thermos (3 different words)
    counters = sens["counters"]
    assert counters["badwords.removed_by_word"] == {"gloves": 1, "thermos": 1, "village": 1}
    # every river-town story holds "lanterns" once: counted, not removed (one word is not enough)
    stories = sum(1 for t in _texts(full, ["documents", "removed"]) if t and "lanterns" in t)
    assert counters["badwords.documents_by_word"] == {"lanterns": stories, "gloves": 1, "thermos": 1, "village": 1}
    assert stories >= 4
    assert stats["sources"]["notes"]["stages"]["sensitive"]["counters"]["badwords.removed_by_word"]["gloves"] == 1
    (mail,) = pq.read_table(full / "removed" / "sensitive").to_pylist()
    assert mail["reason"] == "badwords" and mail["sensitive.badwords.words"] == ["gloves", "thermos", "village"]
    kept_words = ds.dataset(str(full / "documents")).to_table(columns=["sensitive.badwords.words"]).column(0)
    assert ["lanterns"] in kept_words.to_pylist()
    page = (full / "report.html").read_text()
    assert "<h2>Bad words</h2>" in page and "<td>thermos</td>" in page and "<td>lanterns</td>" in page


def test_sample_documents_per_reason_and_language(full):
    from corpusmill.report.samples import PER_KEY, collect

    stats = json.loads((full / "stats.json").read_text())
    samples = collect(open_build_output(full))
    want = {f"{stage}: {reason}": n for stage, v in stats["stages"].items() if stage not in ("ingest", "output")
            for reason, n in v["removed_by_reason"].items()}
    assert {g.label: g.count for g in samples.reasons} == want
    for g in samples.reasons:
        stage, reason = g.label.split(": ")
        rows = {r["id"]: r for r in pq.read_table(full / "removed" / stage).to_pylist() if r["reason"] == reason}
        assert len(g.samples) == min(PER_KEY, g.count) and {s.id for s in g.samples} <= set(rows)
        assert all(s.text == (rows[s.id]["text"] or "")[:2000] for s in g.samples)
    kept = ds.dataset(str(full / "documents")).to_table(columns=["id", "lang"]).to_pylist()
    assert {g.label: g.count for g in samples.languages} == {
        f"lang {lang}": sum(r["lang"] == lang for r in kept) for lang in {r["lang"] for r in kept}}
    assert collect(open_build_output(full)) == samples  # the same sample on every run
    page = (full / "report.html").read_text()
    assert "<h2>Sample documents</h2>" in page and "sensitive: badwords" in page
    assert page.count('<details class="doc">') == sum(len(g.samples) for g in samples.reasons + samples.languages)


def test_sample_text_is_escaped_and_cut():
    from corpusmill.report.page import _group
    from corpusmill.report.samples import Group, Sample

    evil = "<script>alert(1)</script> & more " * 200
    html = _group(Group("quality: <odd>", 7, [Sample("id<1>", "src", "https://x.test/?a=1&b=2", "en",
                                                        evil[:2000], len(evil))]))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "quality: &lt;odd&gt;" in html and "id&lt;1&gt;" in html and "a=1&amp;b=2" in html
    assert f"{len(evil) - 2000:,} more characters" in html and html.count("alert(1)") <= 2000 // 30 + 5


def _texts(out: Path, folders: list[str]) -> list[str]:
    return [t for f in folders for t in ds.dataset(str(out / f)).to_table(columns=["text"]).column(0).to_pylist()]


def test_lengths_past_max_docs_are_a_fixed_sample(full):
    b = open_build_output(full)
    exact = scan(b).lengths
    a, again = scan(b, max_docs=3).lengths, scan(b, max_docs=3).lengths
    assert a.sampled and a == again  # deterministic
    assert 3 <= a.measured_before < exact.rows_before and sum(a.before) == a.measured_before
    assert sum(a.after) == a.measured_after <= a.measured_before
    page = charts.length_chart(a).note
    assert f"of {exact.rows_before:,} documents" in page and "Sampled" in page


def test_charts_say_why_when_there_is_no_data():
    assert charts.reasons_chart([], []).figure is None
    assert "langid not run" in charts.language_chart(Languages()).note
    assert "dedup not run" in charts.dedup_chart({}).note
    assert "found no duplicate" in charts.dedup_chart({"dedup": {"count": 0, "documents": 0, "largest": 0,
                                                                 "sizes": []}}).note
    assert "PII not looked for" in charts.pii_chart(Pii(), None).note
    nothing = Lengths("length", [0] * len(LENGTH_EDGES), [0] * len(LENGTH_EDGES), 0, 0)
    assert charts.length_chart(nothing).figure is None
    assert charts.funnel_chart([]).figure is None


def test_bare_build_report_and_cli(bare, tmp_path):
    page = (bare / "report.html").read_text()
    for text in ("langid not run", "dedup not run", "PII not looked for", "Nothing was removed"):
        assert text in page
    s = scan(open_build_output(bare))
    assert sum(s.lengths.before) == sum(s.lengths.after) == 6 and s.lengths.first_stage == "normalize"

    r = CliRunner().invoke(cli_main, ["report", str(bare), "--output", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.html").read_text().count("plotly.js v") == 1
    r = CliRunner().invoke(cli_main, ["report", str(tmp_path)])
    assert r.exit_code == 1 and "not a build output" in r.output
    (tmp_path / "stats.json").write_text("{}")
    with pytest.raises(ReportError, match="not the stats.json"):
        write_report(tmp_path)


def test_a_report_failure_never_fails_the_build(bare, monkeypatch):
    import corpusmill.report

    def boom(*args, **kwargs):
        raise RuntimeError("no plot today")

    monkeypatch.setattr(corpusmill.report, "write_report", boom)
    r = CliRunner().invoke(cli_main, ["build", str(bare.parent / "out.yaml")])  # resumes: every part is done
    assert r.exit_code == 0 and json.loads(r.stdout.strip().splitlines()[-1])["kept"] == 6
    assert "report.html not written" in r.stderr and "no plot today" in r.stderr


# --- the page as a browser draws it --------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0", "--virtual-time-budget=15000"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("chromium is not installed: `make test` installs Debian's (apt-get install chromium)")


def _render(page: Path) -> tuple[object, str]:
    """The DOM after the page's scripts ran, parsed; and chromium's log (console errors land there)."""
    import lxml.html

    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                            page.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and "</html>" in r.stdout, r.stderr[-2000:]
    return lxml.html.fromstring(r.stdout), r.stderr


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _drawn(chart) -> tuple[int, int]:
    """(traces, bars with a visible area) plotly drew in one chart div."""
    traces = chart.xpath(f".//g[{_cls('trace')}]")
    bars = 0
    for d in chart.xpath(f".//g[{_cls('point')}]/path/@d"):
        nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", d)]
        if len(nums) >= 4 and nums[1] != nums[2] and nums[0] != nums[3]:  # M x0,y0 V y1 H x1 ...
            bars += 1
    return len(traces), bars


def _expected(out: Path) -> dict[str, tuple[int, int]]:
    """Per chart: (traces, bars) from the gathered data."""
    stats = json.loads((out / "stats.json").read_text())
    s = scan(open_build_output(out))
    reasons = removal_reasons(stats)
    exp = {"chart-funnel": (1, len(stats["stages"]) + 1),
           "chart-lengths": (2, sum(1 for v in s.lengths.before + s.lengths.after if v))}
    if reasons:
        exp["chart-reasons"] = (len({r.stage for r in reasons}), len(reasons))
    if s.languages.labelled:
        exp["chart-languages"] = (2, sum(1 for v in [*s.languages.kept.values(), *s.languages.removed.values()] if v))
    if clusters := dedup_clusters(stats):
        exp["chart-dedup"] = (len(clusters), sum(len(c["sizes"]) for c in clusters.values()))
    if any(s.pii.matches[w][k] for w in ("kept", "removed") for k in s.pii.kinds):
        exp["chart-pii"] = (2, sum(1 for w in ("kept", "removed") for k in s.pii.kinds if s.pii.matches[w][k]))
    return exp


@pytest.mark.parametrize("which", ["full", "bare"])
def test_chromium_renders_every_chart(which, request):
    _chromium()
    out = request.getfixturevalue(which)
    dom, log = _render(out / "report.html")
    assert "Uncaught" not in log, log[-2000:]
    expected = _expected(out)
    drawn = {d.get("id"): d for d in dom.xpath(f"//div[{_cls('chart')}]")}
    assert set(drawn) == set(expected)
    for chart_id, (traces, bars) in expected.items():
        chart = drawn[chart_id]
        assert "js-plotly-plot" in chart.get("class").split(), chart_id  # plotly took the div
        assert chart.xpath(f".//*[local-name()='svg' and {_cls('main-svg')}]"), chart_id
        assert _drawn(chart) == (traces, bars), chart_id
    empty = {s.get("data-chart") for s in dom.xpath("//section[@data-empty]")}
    assert empty | set(expected) == {"chart-funnel", "chart-reasons", "chart-lengths", "chart-languages",
                                     "chart-dedup", "chart-pii"}
    if which == "full":
        assert len(expected) == 6 and expected["chart-pii"][1] >= 2
    else:
        assert empty == {"chart-reasons", "chart-languages", "chart-dedup", "chart-pii"}
