"""The package's shape, checked: no import circle, small modules, and every library module
imported by a test file named after it or its package (so "where is the test of X?" has
an answer by name)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlflow_sweep_plugin"
TESTS = ROOT / "tests"
MAX_LINES = 400


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imported(tree: ast.AST, module: str, is_package: bool, known) -> set[str]:
    """The modules of ours an AST imports (a ``from pkg import sub`` counts as ``pkg.sub``
    only, not as the package ``pkg`` itself)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            subs = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in known]
            out.update(subs)
            if len(subs) < len(node.names):
                out.add(name)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    found = set()
    for name in out:
        while name and name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known:
            found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imported(ast.parse(path.read_text()), name, path.name == "__init__.py", modules) - {name}
            for name, path in modules.items()}


def _cycles(graph) -> list[list[str]]:
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_circle():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_library_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_integrations_package_is_gone():
    assert not (PACKAGE / "integrations").exists()


def _tests_of() -> dict[str, set[str]]:
    """Library module -> the test files (relative paths) that import it."""
    modules = _modules()
    out: dict[str, set[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        if "data" in path.relative_to(TESTS).parts:
            continue
        for name in _imported(ast.parse(path.read_text()), "tests", False, modules):
            out.setdefault(name, set()).add(str(path.relative_to(TESTS)))
    return out


def _covers(test: str, module: str) -> bool:
    """Whether the test file ``test`` (relative to tests/) is named after ``module`` or lies
    in the folder of its package: ``mlflow_sweep_plugin.export.s3`` is covered by
    ``.../test_s3.py`` or by any test file under ``tests/export/``; a package itself
    (``mlflow_sweep_plugin.export``) by a file under ``tests/export/``."""
    parts = module.split(".")[1:]
    folder = parts if (PACKAGE / pathlib.Path(*parts)).is_dir() else parts[:-1]
    path = pathlib.PurePath(test)
    if path.stem == f"test_{parts[-1]}":
        return True
    return bool(folder) and list(path.parts[:len(folder)]) == folder and len(path.parts) > len(folder)


def test_every_library_module_has_a_test_file_named_after_it_or_its_package():
    tests_of = _tests_of()
    missing = [name for name in _modules()
               if name.count(".") and not name.endswith("__main__")
               and not any(_covers(t, name) for t in tests_of.get(name, ()))]
    assert missing == []


def test_coverage_by_name_rules():
    assert _covers("export/test_anything.py", "mlflow_sweep_plugin.export.s3")
    assert _covers("test_s3.py", "mlflow_sweep_plugin.export.s3")
    assert _covers("export/test_x.py", "mlflow_sweep_plugin.export")
    assert not _covers("report/test_x.py", "mlflow_sweep_plugin.export.s3")
    assert not _covers("test_x.py", "mlflow_sweep_plugin.export")
