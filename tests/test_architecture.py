"""The package's layers: every import (module level and inside functions) goes from a
module to one on its own floor or a floor above it, and the import graph has no circles.

The floors, top to bottom (docs/architecture.md):
ground helpers -> io -> schedules -> laws -> fit -> forecast, allocate -> synthetic -> train
-> plot, report -> cli.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "scalelaw"

#: floor of each top-level part of the package (lower number = higher floor)
FLOORS = {
    "errors": 0, "_blas": 0, "_atomic": 0, "spec": 0, "expr": 0, "_output": 0,
    "io": 1,
    "schedules": 2,
    "laws": 3,
    "fitting": 4,
    "forecast": 5, "allocate": 5, "lrfit": 5, "compare": 5, "costs": 5, "shapes": 5, "suggest": 5,
    "synthetic": 6,
    "train": 7,
    "plot": 8, "report": 8,
    "cli": 9,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(current: str, is_package: bool, node) -> list[str]:
    """Module names an import statement in module ``current`` depends on."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = current.split(".") if is_package else current.split(".")[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    targets = []
    for alias in node.names:
        sub = f"{prefix}.{alias.name}"
        targets.append(sub if sub in MODULES else prefix)
    return targets


def _lazy_names() -> dict[str, str]:
    """The top-level namespace's lazy names -> the module each one loads."""
    tree = ast.parse(MODULES["scalelaw"].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {k: v[0] for k, v in table.items()}
    return {}


LAZY = _lazy_names()


def _targets(name: str, path: Path, node) -> list[str]:
    """The package modules an import statement (or an ``import_module("scalelaw...")``
    call) depends on; names from the lazy top-level namespace count as their modules."""
    if isinstance(node, ast.Call):
        f = node.func
        called = getattr(f, "attr", None) or getattr(f, "id", None)
        if called == "import_module" and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            return [node.args[0].value]
        return []
    out = []
    for t in _resolve(name, path.name == "__init__.py", node):
        if t == "scalelaw" and isinstance(node, ast.ImportFrom):   # from .. import fit
            out += [LAZY.get(a.name, f"scalelaw.{a.name}") for a in node.names]
        elif t == "scalelaw" and isinstance(node, ast.Import):
            out.append("scalelaw")
        else:
            out.append(t)
    return out


def _parents(module: str) -> list[str]:
    """The packages importing ``module`` runs first (``a.b.c`` -> ``a.b``; not the root)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps = set()
        for node in ast.walk(tree):   # every import, at module level or inside functions
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
                for t in _targets(name, path, node):
                    if t.startswith("scalelaw.") and t in MODULES:
                        deps.add(t)
                        deps.update(p for p in _parents(t) if p in MODULES)
        graph[name] = deps - {name} - set(_parents(name))
    return graph


def _floor(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None   # the top-level package: a lazy namespace, imported by nobody inside
    return FLOORS.get(parts[1])


def test_every_part_of_the_package_has_a_floor():
    missing = sorted({m.split(".")[1] for m in MODULES if "." in m and _floor(m) is None})
    assert not missing, f"add these to FLOORS and docs/architecture.md: {missing}"


def test_no_import_runs_back_up():
    upward = []
    for mod, deps in _edges().items():
        f = _floor(mod)
        for d in deps:
            fd = _floor(d)
            if f is not None and fd is not None and fd > f:
                upward.append(f"{mod} (floor {f}) imports {d} (floor {fd})")
    assert not upward, "imports running back up:\n" + "\n".join(sorted(upward))


def test_import_graph_has_no_circles():
    graph = _edges()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for d in sorted(graph.get(node, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_the_checker_sees_lazy_names_and_import_module(tmp_path):
    """``from .. import fit`` (a lazy top-level name) and ``importlib.import_module`` strings
    count as imports of the modules they load."""
    from_lazy = ast.parse("def f():\n    from .. import fit\n").body[0].body[0]
    assert _targets("scalelaw.io.table", MODULES["scalelaw.io.table"], from_lazy) == ["scalelaw.fitting.api"]
    call = ast.parse("importlib.import_module('scalelaw.cli')").body[0].value
    assert _targets("scalelaw.laws.base", MODULES["scalelaw.laws.base"], call) == ["scalelaw.cli"]
    assert _parents("scalelaw.fitting.api") == ["scalelaw.fitting"]


def test_the_checker_sees_function_level_imports(tmp_path):
    """The graph must count imports inside functions (the checker itself is tested)."""
    src = "def f():\n    from ..cli import main\n    return main\n"
    node = ast.parse(src)
    imports = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom)]
    assert _resolve("scalelaw.laws.base", False, imports[0]) == ["scalelaw.cli.main"] or \
        _resolve("scalelaw.laws.base", False, imports[0]) == ["scalelaw.cli"]


@pytest.mark.parametrize("name", ["scalelaw.fitting", "scalelaw.laws", "scalelaw.io", "scalelaw.synthetic"])
def test_package_init_files_only_re_export(name):
    """``__init__`` files hold imports, ``__all__`` and docstrings (plus tiny lazy hooks)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    logic = [type(n).__name__ for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name not in ("__getattr__", "__dir__")]
    assert not logic, f"{name} defines {logic}: move the logic to a module"


def test_fit_is_a_plain_function_with_its_signature():
    import inspect

    import scalelaw as sl
    import scalelaw.fitting.engine  # noqa: F401  (importing a submodule must not rebind sl.fit)
    assert inspect.isfunction(sl.fit)
    params = inspect.signature(sl.fit).parameters
    assert list(params)[:2] == ["data", "law"]
    assert {"columns", "objective", "bootstrap", "pool", "n_jobs"} <= set(params)
