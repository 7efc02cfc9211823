"""Each evaluation run from the QA page gets a folder of its own, even when two finish within one second."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from eval.runs import run_folder

pytestmark = pytest.mark.unit

NOON = dt.datetime(2026, 12, 7, 12, 0, 0, tzinfo=dt.UTC)


def test_two_runs_in_the_same_second_get_two_folders_and_the_first_keeps_its_name(tmp_path: Path) -> None:
    first, second, third = (run_folder(tmp_path, "agents", NOON) for _ in range(3))
    assert [first.name, second.name, third.name] == \
        ["20261207-120000-agents", "20261207-120000-agents-2", "20261207-120000-agents-3"]
    assert all(f.is_dir() and not any(f.iterdir()) for f in (first, second, third))  # made, and empty


def test_runs_of_other_kinds_or_seconds_keep_the_plain_name(tmp_path: Path) -> None:
    run_folder(tmp_path, "agents", NOON)
    assert run_folder(tmp_path, "golden", NOON).name == "20261207-120000-golden"
    assert run_folder(tmp_path, "agents", NOON + dt.timedelta(seconds=1)).name == "20261207-120001-agents"


def test_runs_asking_at_once_never_share_a_folder(tmp_path: Path) -> None:
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda _: run_folder(tmp_path, "paraphrase", NOON), range(16)))
    assert len(set(got)) == 16
