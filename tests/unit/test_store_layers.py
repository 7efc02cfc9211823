"""The store's modules import one way, and each implementation's private parts are its own (read from the source
with `ast`, imports inside functions included, so no cycle can hide there)."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _kb_imports() -> dict[str, set[str]]:
    """kb module -> the kb modules it imports, anywhere in the file."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "kb").glob("*.py")):
        module = f"kb.{path.stem}" if path.stem != "__init__" else "kb"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kb"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("kb."))
        graph[module] = found - {module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_kb_has_no_import_cycles() -> None:
    assert _cycle(_kb_imports()) == []


def test_each_store_owns_its_private_parts() -> None:
    graph = _kb_imports()
    owners = {"kb.mirror": {"kb.store_local"}, "kb.lexical_index": {"kb.mirror"},
              "kb.store_client": {"kb.store_server"}, "kb.store_local": {"kb.store"}, "kb.store_server": {"kb.store"}}
    for part, allowed in owners.items():
        assert {m for m, targets in graph.items() if part in targets} == allowed, part


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_nothing_else_names_a_store_implementation_in_the_core() -> None:
    """kb/ types against the `Store` protocol; only the factory in kb.store picks an implementation."""
    own = ("store", "store_local", "store_server", "store_qdrant")
    named = [p.name for p in (ROOT / "kb").glob("*.py") if p.stem not in own
             and ("LocalStore" in (text := p.read_text(encoding="utf-8")) or "ServerStore" in text)]
    assert named == []
