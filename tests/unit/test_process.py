"""No process-wide side effects outside start-up code that says so (kb/process.py), a typed application state
built by the app factory, and the production secret checks in the settings validator."""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.app import create_app
from api.state import AppState, state_of
from kb.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kb", "api", "indexer", "eval", "bench")
#: The one module that changes the process on purpose, called at start-up by `kb`, the app factory and conftest.
START_UP = {"kb/process.py"}


def _inside_with(node: ast.AST, parents: dict[ast.AST, ast.AST], context: str) -> bool:
    """`node` runs inside `with <...context...>(...)` (warnings.catch_warnings, threadpool_limits)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.With | ast.AsyncWith) and any(context in ast.unparse(i.context_expr)
                                                              for i in node.items):
            return True
    return False


def _changes_the_process(call: ast.Call, parents: dict[ast.AST, ast.AST]) -> bool:
    name = ast.unparse(call.func)
    if name in ("os.environ.setdefault", "os.environ.update", "os.putenv", "logging.basicConfig"):
        return True
    if name.endswith(".setLevel"):
        return name.startswith(("logging.getLogger()", "logging.root"))
    if name in ("warnings.filterwarnings", "warnings.simplefilter"):
        return not _inside_with(call, parents, "catch_warnings")
    if name.endswith("threadpool_limits") or any(k.arg == "user_api" for k in call.keywords):  # threadpoolctl
        return not isinstance(parents.get(call), ast.withitem)
    return False


def side_effects(source: str) -> list[tuple[int, str]]:
    """Lines of `source` that change the whole process: the environment, the root logger, the warning filters
    (outside `warnings.catch_warnings()`), BLAS/OpenMP pools (outside a `with`).

        >>> side_effects("import os\\nos.environ['X'] = '1'\\nwith warnings.catch_warnings():\\n"
        ...              "    warnings.simplefilter('ignore')\\n")
        [(2, "os.environ['X'] = '1'")]
    """
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if "os.environ" in ast.unparse(target):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and _changes_the_process(node, parents):
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def test_library_modules_change_nothing_process_wide() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in START_UP:
                continue
            found += [f"{relative}:{line}: {text}" for line, text in side_effects(path.read_text(encoding="utf-8"))]
    assert not found, "process-wide side effects outside kb/process.py:\n" + "\n".join(found)


def test_the_app_factory_builds_one_typed_state_and_opens_nothing_before_start_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_in_flight=3, key_rate=7)
    app = create_app(settings)
    state = state_of(app)
    assert isinstance(state, AppState) and state.settings is settings
    assert (state.gate.max_in_flight, state.key_limits.rate) == (3, 7)
    assert list(vars(app.state)["_state"]) == ["kb"]  # nothing else is hung on app.state
    assert state.opened is None and not any(tmp_path.iterdir())  # model, database and secret wait for start-up
    with pytest.raises(RuntimeError, match="has not started"):
        _ = state.db


@pytest.mark.parametrize("setting", [
    {"session_secret": "changeme"}, {"session_secret": "short-but-not-a-placeholder"},
    {"api_key": "kb_1a2b3c4d_changeme"}, {"qdrant_api_key": "secret"}, {"qdrant_read_api_key": "demo"},
    {"database_url": "postgresql://kb:password@db/kb"},
])
def test_a_placeholder_secret_stops_production_start_up_in_the_settings(setting: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"placeholder|too weak"):
        Settings(env="production", **setting)
    Settings(env="development", **setting)  # allowed where nothing is at stake


def test_real_secrets_pass_in_production() -> None:
    Settings(env="production", session_secret=secrets.token_urlsafe(32), api_key="kb_1a2b3c4d_" +
             secrets.token_urlsafe(24), qdrant_api_key=secrets.token_hex(32), qdrant_read_api_key=secrets.token_hex(32),
             database_url="postgresql://kb:" + secrets.token_urlsafe(24) + "@db/kb")


def test_a_local_search_leaves_the_process_blas_threads_as_they_were() -> None:
    import numpy as np
    from threadpoolctl import ThreadpoolController

    from kb.mirror import LocalMirror

    def blas_threads() -> list[int]:
        return [lib["num_threads"] for lib in ThreadpoolController().select(user_api="blas").info()]

    before = blas_threads()
    rows = np.random.default_rng(1).random((500, 16), dtype=np.float32)
    mirror = LocalMirror.build((f"p{i}", {}, row, None) for i, row in enumerate(rows))
    assert mirror.dense_search(rows[7], limit=3)[0].id == "p7"
    assert blas_threads() == before
