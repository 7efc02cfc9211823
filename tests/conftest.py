"""Shared fixtures: the real model (loaded once) and the sample knowledge base indexed once into local Qdrant,
and the marker every test gets from its directory.

Local Qdrant allows one client per folder, so tests that only read share `sample_engine`; tests that change an
index build their own in a temporary folder with `make_engine`.

Markers (`pytest -m unit` runs in seconds without a model): tests/unit is `unit`, tests/browser `browser` and
`e2e`, every other directory `e2e` unless its file says `unit` itself; `slow` is set per file or test. A `unit`
test that asks for the model fails collection, so `-m unit` stays model-free.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kb import process
from kb.config import Settings
from kb.models import MINILM, resolve_model

process.prepare()  # what `kb` and the app factory do at start-up, before any test opens a model

if TYPE_CHECKING:
    from kb.embedding import Embedder
    from kb.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
# The encoders built on first use (multilingual-e5-small's graph, 10-25 s) are built once per checkout, where
# `make run` keeps them, and shared by every test and every process a test starts (the build is locked).
os.environ.setdefault("KB_ENCODER_DIR", str(ROOT / ".kb" / "onnx"))
ARTICLES = ROOT / "articles"
#: The golden hit@1 minimum the QA page shows beside its figure (eval/thresholds.toml; quality rounds change it).
HIT1_MINIMUM = float(tomllib.loads((ROOT / "eval" / "thresholds.toml").read_text(encoding="utf-8"))
                     ["golden"]["hit@1"])
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = ROOT.parent / "shared"
EVAL_DATA = ROOT / "eval" / "data"


#: Fixtures that load an embedding model (those that build on them, such as `sample_engine`, include them).
MODEL_FIXTURES = frozenset({"real_embedder", "memo_embedder", "onnx_dir", "minilm_embedder", "reference_embedder"})
#: The markers a test directory gives its tests; directories not listed give `e2e`.
DIRECTORY_MARKERS = {"unit": ("unit",), "browser": ("browser", "e2e")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by its directory (see the module docstring) and keep `unit` tests model-free."""
    tests = Path(__file__).resolve().parent
    for item in items:
        try:
            directory = item.path.resolve().relative_to(tests).parts[0]
        except ValueError:  # collected from outside tests/ (doctests run through tests/unit/test_doctests.py)
            directory = ""
        own = {m.name for m in item.iter_markers()}
        wanted = DIRECTORY_MARKERS.get(directory, ("unit",) if "unit" in own else ("e2e",))
        for name in wanted:
            if name not in own:
                item.add_marker(name)
        if "unit" in wanted and MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            raise pytest.UsageError(f"{item.nodeid}: a unit test may not load a model "
                                    f"({', '.join(sorted(MODEL_FIXTURES & set(item.fixturenames)))}); "
                                    "use hash_embedder, or move it out of tests/unit")
    _slow_files_first(items)


def _slow_files_first(items: list[pytest.Item]) -> None:
    """Files with a `slow` test first, each file's tests kept together and in order: `make test` hands whole
    files to two processes (pytest-xdist, --dist loadfile), and a long file taken last leaves one process idle
    for its whole length (longest first is the classic schedule)."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: the order within a file is kept


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The default model through the default encoder: multilingual-e5-small's ONNX graph, loaded once."""
    from kb.embedding import load_embedder

    return load_embedder(Settings())


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """all-MiniLM-L6-v2 (still selectable with KB_MODEL) exported to ONNX once per run, in a folder of its own;
    copy it into a data dir. Both test processes share the one export (15-20 s of a core each time in a fresh
    clone): the first to need it exports under a lock, the other waits for it."""
    import fcntl

    from kb.onnx_encoder import export, export_dir

    run = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run = run.parent  # the run's folder, above each worker's own
    base = run / "onnx-minilm"
    base.mkdir(exist_ok=True)
    settings = Settings(data_dir=base, model=MINILM, encoder_dir=base / "onnx")
    with (run / "onnx-minilm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (export_dir(settings) / "manifest.json").exists():
            export(resolve_model(MINILM).location or "", export_dir(settings))
    return settings.encoder_path


@pytest.fixture(scope="session")
def minilm_embedder(onnx_dir: Path) -> Embedder:
    """all-MiniLM-L6-v2 through its ONNX export."""
    from kb.embedding import load_embedder

    return load_embedder(Settings(data_dir=onnx_dir.parent, model=MINILM, encoder_dir=onnx_dir))


@pytest.fixture(scope="session")
def reference_embedder() -> Embedder:
    """all-MiniLM-L6-v2 on sentence-transformers: the reference its ONNX export is checked against."""
    from kb.embedding import reference_embedder

    return reference_embedder(resolve_model(MINILM))


@pytest.fixture(scope="session")
def memo_embedder(real_embedder: Embedder) -> Any:
    """The real model remembering every text it embedded this session (tests.infra.warm.MemoEmbedder)."""
    from tests.infra.warm import MemoEmbedder

    return MemoEmbedder(real_embedder)


@pytest.fixture()
def hash_embedder() -> Embedder:
    from kb.embedding import HashEmbedder

    return HashEmbedder()


@pytest.fixture()
def make_engine(tmp_path_factory: pytest.TempPathFactory, memo_embedder: Any,
                request: pytest.FixtureRequest) -> Iterator[Callable[..., Engine]]:
    """Build an Engine on a fresh data dir (optionally a copy of the articles, to edit) and close it after; the real
    model through the session's memo unless `embedder` is given.

    `warm=True`: the data dir starts with a copy of the session's embedding cache (`sample_engine`'s), so indexing
    the sample KB embeds only text the test changed; for tests whose point is not the first, cold build."""
    from kb.engine import Engine
    from tests.infra.warm import warm_data_dir

    engines: list[Engine] = []

    def make(articles: Path = ARTICLES, *, copy_articles: bool = False, embedder: Embedder | None = None,
             warm: bool = False, **overrides: Any) -> Engine:
        base = tmp_path_factory.mktemp("kb")
        if copy_articles:
            shutil.copytree(articles, base / "articles")
            articles = base / "articles"
        if warm:
            warm_data_dir(base / "data", request.getfixturevalue("sample_engine").settings.cache_path)
        settings = Settings(data_dir=base / "data", articles_dir=articles, **overrides)
        engine = Engine.open(settings, embedder=embedder or memo_embedder)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture(scope="session")
def sample_engine(tmp_path_factory: pytest.TempPathFactory, memo_embedder: Any) -> Iterator[Engine]:
    """The sample knowledge base, indexed with the real model into a temporary local Qdrant (read-only use).

    Its model remembers every text it embedded (`memo_embedder`): the golden messages are asked by many tests, and
    the model is deterministic (a batch and one text at a time agree to the bit: tests/e2e/test_dutch_first.py).
    What concurrency proves is proven on the bare model and on a real `kb serve`, never through this memo."""
    from indexer.run import run_index
    from kb.engine import Engine

    base = tmp_path_factory.mktemp("sample")
    settings = Settings(data_dir=base / "data", articles_dir=ARTICLES)
    engine = Engine.open(settings, embedder=memo_embedder)
    report = run_index(engine, ARTICLES)
    assert not report.errors, report.errors
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def golden() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(EVAL_DATA.glob("golden_*.jsonl")):
        rows.extend(load_jsonl(path))
    return rows


@pytest.fixture()
def today() -> dt.date:
    return dt.date.today()


@pytest.fixture(autouse=True, scope="session")
def kb_commands_of_this_checkout() -> Iterator[None]:
    """`kb` finds the commands of other packages through entry points, read from the installed package's metadata;
    an installed (editable) package made from an older pyproject.toml lacks new ones, so the `kb.commands`
    declared in this checkout's pyproject.toml are offered as well."""
    import tomllib
    from importlib.metadata import EntryPoint

    from kb.cli import _Commands

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["kb.commands"]
    installed = _Commands._plugins

    def plugins(self: _Commands) -> dict[str, Any]:
        return {name: EntryPoint(name, value, "kb.commands") for name, value in declared.items()} | installed(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_Commands, "_plugins", plugins)
        yield
