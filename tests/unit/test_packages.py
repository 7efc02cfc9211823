"""The packages point one way: kb <- indexer <- eval <- api, with bench on top, read from the imports of every
module (its syntax tree, so an import inside a function counts too), and no module imports itself in a circle.

    kb        imports only kb
    indexer   kb
    eval      kb, indexer                 (evaluation never imports the service)
    api       kb, indexer, eval           (the QA page shows evaluation reports)
    bench     everything                  (it measures the service too; nothing imports it)
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
MAY_IMPORT = {
    "kb": {"kb"},
    "indexer": {"kb", "indexer"},
    "eval": {"kb", "indexer", "eval"},
    "api": {"kb", "indexer", "eval", "api"},
    "bench": {"kb", "indexer", "eval", "api", "bench"},
}
#: Scripts, not modules of the library: eval/data builds data files when run.
NOT_MODULES = ("eval/data/",)
#: Imports against the direction, each with its reason: none since `kb eval agents --sent-from` finds the service's
#: database through an entry point (pyproject.toml, `kb.sent_replies`). A new crossing fails the test.
CROSSINGS: set[tuple[str, str]] = set()
#: Import circles tolerated for now: none since the store protocol (kb.store_types below kb.store) landed; a new
#: circle fails the test.
KNOWN_CIRCLES: set[frozenset[str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.as_posix().startswith(NOT_MODULES):
                continue
            parts = relative.with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(name: str, *, at_run_time: bool = False) -> set[str]:
    """Every module `name` imports, absolute (relative imports resolved); `at_run_time` leaves out the imports
    under `if TYPE_CHECKING:`, which exist only for the type checker."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    is_package = MODULES[name].name == "__init__.py"
    found: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if at_run_time and isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_every_module_of_every_package_imports() -> None:
    for name in MODULES:
        importlib.import_module(name)


def test_packages_import_only_the_packages_below_them() -> None:
    wrong = sorted((name, target) for name in MODULES for target in imports(name)
                   if target.split(".")[0] in MAY_IMPORT
                   and target.split(".")[0] not in MAY_IMPORT[name.split(".")[0]] and (name, target) not in CROSSINGS)
    assert not wrong, "imports against the direction kb <- indexer <- eval <- api <- bench: " + \
        ", ".join(f"{a} imports {b}" for a, b in wrong)


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The import circles of `graph` (strongly connected parts of more than one module; Tarjan's algorithm).

        >>> circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [frozenset({"a", "b"})]
        True
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(frozenset(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = {name: {t for t in imports(name, at_run_time=True) if t in MODULES and t != name} for name in MODULES}
    new = [sorted(c) for c in circles(graph) if c not in KNOWN_CIRCLES]
    assert not new, f"import circles: {new}"


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", sorted(_pyproject()["project"]["entry-points"]["kb.commands"].items()))
def test_every_kb_command_in_pyproject_resolves_to_a_click_command(entry: tuple[str, str]) -> None:
    name, target = entry
    module, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command) and command.name == name


def test_setuptools_ships_every_package() -> None:
    include = _pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.rstrip("*") for pattern in include} == set(MAY_IMPORT)


def test_pages_and_routes_share_the_service_and_never_call_each_other() -> None:
    pages = [name for name in MODULES if name.startswith("api.pages")]
    crossing = sorted((page, target) for page in pages for target in imports(page) if target.startswith("api.routes"))
    assert not crossing, f"pages call route functions instead of api.service: {crossing}"
    assert "api.service" in imports("api.pages.agent") and "api.service" in imports("api.routes.suggest")


def test_the_service_starts_without_importing_llamaindex() -> None:
    """LlamaIndex costs 1.3 s and 49 MB at start-up; only a re-index needs it (indexer/build.py imports it then)."""
    import subprocess
    import sys

    code = "import sys, api.app, indexer.run, indexer.build; print('llama_index' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
