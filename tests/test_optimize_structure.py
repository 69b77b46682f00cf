"""The optimizer package's own rules: every public function's Examples run
(doctest), modules import no underscore name from a non-private sibling, and
the modules' imports form no cycle."""
from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import geoplan.optimize as pkg

PKG_DIR = Path(pkg.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(PKG_DIR)]))
PUBLIC_FUNCTIONS = [name for name in pkg.__all__ if callable(getattr(pkg, name))
                    and not isinstance(getattr(pkg, name), type)]


@pytest.mark.parametrize("name", ["__init__"] + MODULES)
def test_doctests_pass(name: str) -> None:
    mod = importlib.import_module("geoplan.optimize" + ("" if name == "__init__" else f".{name}"))
    res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert res.failed == 0


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_every_public_function_has_a_doctest_example(name: str) -> None:
    doc = getattr(pkg, name).__doc__ or ""
    assert "Examples\n    --------" in doc and ">>> " in doc.split("Examples", 1)[1], name


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``from geoplan.optimize...`` import, lazy ones included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("geoplan.optimize"):
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("geoplan.optimize.")]
    return out


def test_no_private_names_from_public_siblings() -> None:
    bad = []
    for name in MODULES:
        for mod, names in _imports(PKG_DIR / f"{name}.py"):
            leaf = mod.rsplit(".", 1)[-1]
            if mod != "geoplan.optimize" and not leaf.startswith("_"):
                bad += [f"{name}: {mod}.{n}" for n in names if n.startswith("_")]
    assert not bad


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        deps = set()
        for mod, names in _imports(PKG_DIR / f"{name}.py"):
            if mod == "geoplan.optimize":
                deps |= {n for n in names if n in MODULES}  # "from geoplan.optimize import _validate"
            else:
                deps.add(mod.rsplit(".", 1)[-1])
        graph[name] = deps & set(MODULES)
    state: dict[str, int] = {}

    def visit(v: str, path: list[str]) -> None:
        state[v] = 1
        for u in sorted(graph[v]):
            assert state.get(u) != 1, f"import cycle: {' -> '.join(path + [v, u])}"
            if u not in state:
                visit(u, path + [v])
        state[v] = 2

    for v in MODULES:
        if v not in state:
            visit(v, [])


def test_refactor_changed_no_result() -> None:
    """A slice of benchmarks/compare_optimize.py: the cases' outputs are
    deterministic (same call twice, same answer) — the full comparison
    against a recorded baseline is the script's job."""
    import sys

    sys.path.insert(0, str(PKG_DIR.parents[1] / "benchmarks"))
    try:
        import compare_optimize as C
    finally:
        sys.path.pop(0)
    for name, kw in C.cases(24):
        assert C.same(C.call(name, kw), C.call(name, kw)), name
