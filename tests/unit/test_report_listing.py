"""The QA page reads at most MAX_REPORTS report files per view: the ones written last, so a reports folder that
grows for years keeps showing its newest runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import api.pages.qa as qa
from eval.report import write_report

pytestmark = pytest.mark.unit


def _runs(root: Path, n: int) -> None:
    """`n` runs named as the QA page names them, the later ones written later."""
    for i in range(n):
        folder = root / "runs" / f"20261207-12{i:02d}00-golden"
        html = write_report(folder, "golden", f"run {i}", headline={"hit@1": 0.9}, data={},
                            created=f"2026-12-07T12:{i:02d}:00+00:00")
        for path in (html, html.with_suffix(".json")):
            os.utime(path, (1_800_000_000 + i, 1_800_000_000 + i))


def test_past_the_cap_the_page_lists_the_newest_reports_and_leaves_the_oldest_unread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _runs(tmp_path, 5)
    monkeypatch.setattr(qa, "MAX_REPORTS", 3)
    assert [r.title for r in qa.find_reports(tmp_path)] == ["run 4", "run 3", "run 2"]


def test_under_the_cap_every_report_is_listed_newest_first(tmp_path: Path) -> None:
    _runs(tmp_path, 4)
    assert [r.title for r in qa.find_reports(tmp_path)] == ["run 3", "run 2", "run 1", "run 0"]


def test_reports_of_one_second_are_listed_in_the_order_of_their_paths_whatever_the_disks_clock(
        tmp_path: Path) -> None:
    for i, name in enumerate(("golden", "paraphrase")):  # paraphrase written last
        html = write_report(tmp_path / name, name, name, headline={"hit@1": 0.9}, data={},
                            created="2026-12-07T12:00:00+00:00")
        for path in (html, html.with_suffix(".json")):
            os.utime(path, (1_800_000_000 + i, 1_800_000_000 + i))
    assert [r.name for r in qa.find_reports(tmp_path)] == ["golden", "paraphrase"]
