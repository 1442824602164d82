"""The package's import graph read from its own files (ast, no import runs): the floors each module
sits on, the arrows that go up a floor, import circles, the longest functions and the lines of code.

    python tools/import_graph.py [--json] [--root corpusmill]

Floors, bottom to top (docs/architecture.md): a module may import its own floor or below; lazy
imports (inside functions) count too, since they are still arrows between modules."""
from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

FLOORS = [  # (floor, module prefixes)
    (0, ["common", "console", "faults", "__init__"]),
    (1, ["pipeline", "stages"]),
    (2, ["tokenizer"]),
    (3, ["mixtures"]),
    (4, ["trainer"]),
    (5, ["report", "inspection", "mix_search", "cli", "docs", "__main__"]),
]


def floor_of(module: str) -> int:
    first = module.split(".")[1] if "." in module else "__init__"
    for floor, prefixes in FLOORS:
        if first in prefixes:
            return floor
    return 5


def modules(root: Path) -> dict[str, Path]:
    pkg = root.name
    out = {}
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or [pkg]
        out[".".join(parts)] = f
    return out


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(imported module, lazy) for every import of a module of ours."""
    tree = ast.parse(path.read_text())
    found = []
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative
                base = ".".join(name.split(".")[: -node.level] + [node.module])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.append((t, id(node) not in top))
    return sorted(set(found))



def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def longest_functions(mods: dict[str, Path], n: int) -> list[tuple[int, str]]:
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(found, reverse=True)[:n]


def report(root: Path) -> dict:
    mods = modules(root)
    known = set(mods)
    graph, upward = {}, []
    for name, path in mods.items():
        edges = imports(name, path, known)
        graph[name] = {t for t, _ in edges}
        for t, lazy in edges:
            if floor_of(t) > floor_of(name):
                upward.append({"from": name, "to": t, "lazy": lazy})
    loc = sum(len(p.read_text().splitlines()) for p in mods.values())
    return {"modules": len(mods), "lines": loc, "edges": sum(map(len, graph.values())),
            "cycles": cycles(graph), "upward": upward, "longest_functions": longest_functions(mods, 12)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / "corpusmill"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = report(Path(args.root))
    if args.json:
        print(json.dumps(r, indent=1))
        return 0
    print(f"{r['modules']} modules, {r['lines']} lines, {r['edges']} import arrows")
    print(f"import circles: {len(r['cycles'])}")
    for c in r["cycles"]:
        print("  " + " <-> ".join(c))
    print(f"arrows up a floor: {len(r['upward'])}")
    for u in r["upward"]:
        print(f"  {u['from']} -> {u['to']}{' (lazy)' if u['lazy'] else ''}")
    print("longest functions (lines):")
    for n, f in r["longest_functions"]:
        print(f"  {n:4d}  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
