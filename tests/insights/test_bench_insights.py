"""`kb bench --insights` on a small SQLite database: every figure is filled and the loaded traffic behaves (the
surge is found, the older half of the texts is emptied while a writer goes on). No time is asserted: the figures
on a million PostgreSQL rows are in docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.insights import QUERIES
from bench.traffic import SURGE
from kb.cli import main
from tests.conftest import ARTICLES


@pytest.mark.unit
def test_the_insights_bench_fills_every_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KB_ARTICLES_DIR", str(ARTICLES))
    assert main(["bench", "--insights", "sqlite", "--insights-rows", "15000", "--only-insights",
                 "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench.json").read_text())["insights"]
    assert report["backend"] == "sqlite" and 12_000 < report["requests"] < 18_000 and report["feedback"] > 0
    assert set(report["queries"]) == set(QUERIES)
    for name, q in report["queries"].items():
        assert q["p50_ms"] > 0 and q["p95_ms"] >= q["p50_ms"] and q["requests_read"] > 0, name
    assert f"article:{SURGE}" in report["queries"]["weeks"]["rising"]
    assert report["queries"]["channel"]["requests_read"] < report["queries"]["weeks"]["requests_read"]
    retention = report["retention"]
    assert retention["requests"] > report["requests"] // 3 and retention["batches"] >= 2
    assert retention["writer_during"]["n"] > 0 and retention["writer_at_rest"]["n"] > 0
    assert "counting from the index alone" in capsys.readouterr().out
