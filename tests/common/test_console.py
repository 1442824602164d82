"""--quiet / --verbose: what each shows on stderr, while stdout keeps the result line."""
import json

import pytest
from click.testing import CliRunner

from corpusmill.cli import main


@pytest.fixture
def small_build(tmp_path):
    docs = [{"id": f"d{i}", "text": ("word " * n).strip()} for i, n in enumerate((3, 40, 60))]
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    cfg = tmp_path / "build.yaml"
    cfg.write_text("inputs: [{name: web, path: in.jsonl}]\noutput: out\nstages:\n  - length: {min_chars: 50}\n")
    return cfg


def _run(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_build_verbosity_levels(small_build, ray_local):
    out, err = _run(["build", str(small_build), "--fresh"])
    assert (out["documents_in"], out["kept"], out["removed"]) == (3, 2, 1)
    assert "INFO    build: 3 documents in, 2 kept, 1 removed" in err
    assert "stats.json to " + str(small_build.parent / "out") in err
    assert "DEBUG" not in err

    out, err = _run(["build", str(small_build), "--fresh", "--quiet"])
    assert out["kept"] == 2
    assert err == ""

    out, err = _run(["build", str(small_build), "--fresh", "-v"])
    assert out["kept"] == 2
    assert "DEBUG   ray: 2 CPUs" in err and "INFO    build:" in err

    # the level is per invocation: a later plain run is not left quiet or verbose
    _, err = _run(["build", str(small_build), "--fresh"])
    assert "INFO    build:" in err and "DEBUG" not in err


@pytest.mark.parametrize("command", [["build"], ["mix", "build"], ["mix", "search"], ["train"], ["tokenizer", "train"]])
def test_long_commands_take_quiet(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "--quiet" in result.output


def test_progress_lines_where_no_terminal_is(monkeypatch, capsys):
    """A batch job's log (stderr a file) used to show nothing for minutes: now a line at a steady
    interval, from a timer, with what is done, the rate and the ETA."""
    import time

    from corpusmill.console import NORMAL, configure, task

    monkeypatch.setenv("CORPUSMILL_PROGRESS_SECONDS", "0.1")
    configure(NORMAL)
    with task("mix train", total=100, unit="tokens") as advance:
        advance(completed=20)  # resumed: not counted in the rate
        time.sleep(0.35)  # a long unit: lines keep coming
        advance(30, note="2 shards")
        time.sleep(0.25)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "mix train:" in ln]
    assert len(lines) >= 4, err
    assert "20/100 tokens" in lines[0] and "50/100 tokens" in lines[-1] and "ETA" in lines[-1] and "2 shards" in lines[-1]
    time.sleep(0.3)
    assert "mix train" not in capsys.readouterr().err  # the timer stops with the task
