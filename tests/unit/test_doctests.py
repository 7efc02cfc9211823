"""The usage examples in the docstrings of kb/, eval/ and bench/ run as written, from the repository root (where
their relative paths such as `articles/` point). An example that needs a model or a vector store says
`# doctest: +SKIP` on each line that does."""

from __future__ import annotations

import doctest
import importlib
import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kb", "eval", "bench")
#: Not library modules: eval/data holds scripts that build data files when run.
SKIPPED_FOLDERS = ("eval/data",)


def _modules_with_examples() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.as_posix().startswith(SKIPPED_FOLDERS) or ">>>" not in path.read_text(encoding="utf-8"):
                continue
            parts = relative.with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_the_examples_of_every_package_are_found() -> None:
    assert {name.split(".")[0] for name in MODULES} == {p for p in PACKAGES if (ROOT / p).is_dir()}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run_as_written(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.write)
    assert runner.failures == 0, report.getvalue()
