"""The floors hold (docs/architecture.md): no import circle, no arrow up a floor, and the shared floor
imports nothing above it."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", REPO / "tools" / "import_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_circle_and_no_arrow_up_a_floor():
    r = _tool().report(REPO / "corpusmill")
    assert r["cycles"] == []
    assert r["upward"] == []
    assert r["modules"] > 90 and r["lines"] > 9000  # it read the package, not an empty folder


def test_the_shared_floor_imports_only_itself():
    tool = _tool()
    mods = tool.modules(REPO / "corpusmill")
    for name in (m for m in mods if m.startswith("corpusmill.common")):
        targets = {t for t, _ in tool.imports(name, mods[name], set(mods))}
        assert all(tool.floor_of(t) == 0 for t in targets), (name, targets)
