"""The kinds report: per-kind precision and recall in `kb eval kinds`' JSON and HTML, and on the QA page."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.pages.qa import find_reports
from eval.kinds import KindItem, kind_figures, kinds_headline, kinds_sections, summarise_kinds
from eval.report import write_report

pytestmark = pytest.mark.unit


def item(n: int, expected: str, decided: str, split: str = "test", source: str = "written") -> KindItem:
    return KindItem(f"m{n}", f"bericht {n}", "nl", split, source, "", expected, decided, 0.9, "model")


def test_precision_and_recall_are_counted_per_kind() -> None:
    items = [item(1, "complaint", "complaint"), item(2, "complaint", "question"), item(3, "question", "complaint"),
             item(4, "question", "question"), item(5, "thanks", "thanks")]
    f = kind_figures(items)
    assert f["kinds"]["complaint"] == {"n": 2, "decided": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert f["kinds"]["thanks"]["precision"] == 1.0 and f["kinds"]["spam"]["recall"] is None
    assert f["accuracy"] == 0.6
    assert {"expected": "complaint", "decided": "question", "n": 1} in f["confusion"]


def test_the_qa_page_lists_each_kinds_precision_and_recall_and_marks_a_figure_below_its_minimum(
        tmp_path: Path) -> None:
    # Questions mostly read as off-topic: question recall 0.25, under eval/thresholds.toml's minimum.
    items = [item(i, "question", "offtopic" if i % 4 else "question") for i in range(8)]
    items += [item(10 + i, "complaint", "complaint") for i in range(3)] + [item(20, "thanks", "thanks", "dev")]
    summary = summarise_kinds(items)
    write_report(tmp_path / "kinds", "kinds", "Message kinds", headline=kinds_headline(summary), data=summary,
                 sections=kinds_sections(summary))
    [report] = find_reports(tmp_path)
    assert report.headline["complaint"] == "P 1.00 · R 1.00 (n=3)"
    assert report.headline["question"] == "P 1.00 · R 0.25 (n=8)"
    assert "question_recall" in report.below and "dev accuracy" in report.headline
    html = (tmp_path / "kinds" / "kinds.html").read_text(encoding="utf-8")
    assert "Precision and recall per kind" in html and "Every wrongly decided message" in html
