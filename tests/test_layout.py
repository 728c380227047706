"""The tree keeps the layout it promises: packages by capability, one-way imports, short functions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeguard"
MODULES = sorted(PACKAGE.rglob("*.py"))
# private torch names with no public equivalent
ALLOWED_PRIVATE = {"torch.utils._pytree", "torch.utils.data._utils.pin_memory"}
PROCESS_NOTE = re.compile(r"#.*\bissue \d+|not built in this checkout", re.I)
MAX_BODY = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every pipeguard module ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text())
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(target + "." + alias.name)
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    known = {_module_name(p) for p in MODULES}
    return {name for name in found if name in known and name != _module_name(path)}


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in MODULES}


def test_packages_by_capability():
    subpackages = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    plain = [p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(subpackages) >= 4
    assert len(plain) <= 6, plain
    for pkg in subpackages:
        doc = ast.get_docstring(ast.parse((pkg / "__init__.py").read_text()))
        assert doc and "import" in doc, f"{pkg.name}/__init__.py should say what it holds and may import"


def test_implementation_modules_are_private():
    public = [p for p in MODULES if not p.name.startswith("_")]
    assert public == [], public


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_counting_imports_inside_functions():
    graph = _graph()
    # a package's __init__ re-exporting its own modules is not a dependency of theirs
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (d in graph and name.startswith(d + "."))}
    assert _cycle(graph) == []


LAYERS = {  # subpackage -> the subpackages it may import
    "diagnosis": set(),
    "model": {"diagnosis"},
    "core": {"diagnosis", "model"},
    "transforms": {"diagnosis", "core"},
    "data": {"diagnosis", "core", "transforms"},
    "scanner": {"diagnosis", "core", "htmlreport"},  # htmlreport only inside ScanReport.to_html (tested below)
    # the page; it never imports scanner: ScanReport.to_html hands over the report and error_kind
    "htmlreport": {"diagnosis", "core", "transforms"},
    "testing": {"diagnosis", "model", "core", "transforms", "data", "scanner", "htmlreport"},
    "lightning": {"diagnosis", "model", "core", "transforms", "data", "scanner", "htmlreport", "testing"},
}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_dependencies_point_one_way(package):
    for name, deps in _graph().items():
        if not name.startswith(f"pipeguard.{package}"):
            continue
        for dep in deps:
            other = dep.split(".")[1] if dep.count(".") else None
            if other is not None and other.startswith("_"):  # a top-level private helper: below every layer
                continue
            assert other in LAYERS[package] | {package, None}, f"{name} imports {dep}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_function_bodies_are_short(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body_start = node.body[0].lineno
            length = node.end_lineno - body_start + 1
            assert length <= MAX_BODY, f"{node.name} at line {node.lineno}: {length} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_torch_imports_and_no_process_notes(path):
    text = path.read_text()
    for node in ast.walk(ast.parse(text)):
        names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                 [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] in ("torch", "torchvision") and any(p.startswith("_") for p in name.split(".")):
                assert any(name.startswith(ok) for ok in ALLOWED_PRIVATE), f"private import {name}"
    notes = [line for line in text.splitlines() if PROCESS_NOTE.search(line)]
    assert notes == []


def test_scanner_imports_htmlreport_only_inside_to_html():
    """The page is optional: a scan never loads Jinja2 or the page code unless asked for HTML."""
    found = []
    for path in (PACKAGE / "scanner").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)] + [tree]:
            body = func.body if isinstance(func, ast.FunctionDef) else [
                n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            for node in (n for stmt in body for n in ast.walk(stmt)):
                if isinstance(node, ast.ImportFrom) and "htmlreport" in (node.module or ""):
                    found.append((path.name, getattr(func, "name", "<module>")))
    assert set(found) == {("_report.py", "to_html")}, found


def _package(module: str) -> str:
    path = PACKAGE.parent / Path(*module.split("."))
    return module if (path / "__init__.py").exists() else module.rsplit(".", 1)[0]


def test_packages_talk_through_the_names_their_init_exports():
    """A private module (``_name``) is imported only from inside its own package's subtree:
    any other package imports the names that package's ``__init__`` exports."""
    found = []
    for name, deps in _graph().items():
        here = _package(name)
        for dep in deps:
            owner = _package(dep)
            if dep != owner and dep.rsplit(".", 1)[1].startswith("_") and not (here + ".").startswith(owner + "."):
                found.append(f"{name} imports {dep}")
    assert found == []


def test_the_scanner_is_made_of_stages():
    stages = [p for p in (PACKAGE / "scanner").iterdir() if (p / "__init__.py").exists()]
    assert len(stages) >= 4
    for stage in stages:
        doc = ast.get_docstring(ast.parse((stage / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), f"{stage.name}/__init__.py should say what it holds and may import"


MAX_LINES = 500


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES
