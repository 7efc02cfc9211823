"""Issue 25, point 4: agent-consistency reports held flagged messages and replies unmasked (an uploaded export's
e-mail addresses and phone numbers appeared 15 times), world-readable (0644), and kept them after `kb retention
run` had emptied the database. Reports now store what the database would (masked, kb.masking), owner-only, and
their texts go after KB_RETENTION_DAYS like the database's; the figures stay. On the real model and sample KB."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from api.insights.background import Housekeeping
from eval.agent_sources import Reply
from eval.report_retention import REMOVED, remove_expired_report_texts
from eval.runs import agents_run
from kb.config import Settings
from kb.corpus import build_corpus, iter_article_files
from tests.conftest import ARTICLES

pytestmark = pytest.mark.e2e

PERSONAL = ("ria.de.vries@example.nl", "06-12345678", "+31 6 2345 6789", "NL91 ABNA 0417 1643 00", "0687654321")
REPLIES = [
    Reply("1", "anna", "x", f"klopt het dat suiker kanker voedt? mail me op {PERSONAL[0]}",
          f"Ja dat klopt, bel ons op {PERSONAL[1]}", "2026-11-02T10:00:00"),
    Reply("2", "bram", "x", f"voedt suiker kanker? ik ben bereikbaar op {PERSONAL[2]}",
          f"Nee, suiker voedt kanker niet. Bel {PERSONAL[4]}. https://www.kwf.nl/", "2026-11-03T10:00:00"),
    Reply("3", "anna", "facebook", f"geeft 5G kanker? stort het terug op {PERSONAL[3]}",
          f"Nee. Mail ons: {PERSONAL[0]}", "2026-11-04T10:00:00"),
]


class _Steps:
    def phase(self, name: str, total: int) -> None:
        pass

    def step(self, done: int, total: int | None = None) -> None:
        pass


@pytest.fixture()
def report(sample_engine: Any, tmp_path: Path) -> Path:
    corpus = build_corpus(iter_article_files(ARTICLES))
    html, _ = agents_run(sample_engine, corpus, REPLIES, tmp_path / "reports" / "runs" / "r1", title="upload",
                         period="week", progress=_Steps(), source={"kind": "upload"})
    return html


def _texts(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file())


def test_a_report_stores_no_personal_data_and_only_its_owner_may_read_it(report: Path) -> None:
    text = _texts(report.parent)
    assert all(p not in text for p in PERSONAL), [p for p in PERSONAL if p in text]
    assert "[e-mail]" in text and "[telefoon]" in text and "[iban]" in text  # masked, not dropped
    for name in ("agents.json", "agents.html"):
        assert stat.S_IMODE((report.parent / name).stat().st_mode) == 0o600, name
    assert not [p.name for p in report.parent.iterdir() if p.name.startswith(".")]  # no half-written leftovers


def test_after_the_retention_period_a_reports_texts_go_and_its_figures_stay(report: Path) -> None:
    before = json.loads((report.parent / "agents.json").read_text())
    written = dt.datetime.fromisoformat(before["created"])
    root = report.parent.parent.parent
    for name in ("agents.json", "agents.html"):  # written long ago, as far as the files say
        os.utime(report.parent / name, (1_700_000_000, 1_700_000_000))
    assert remove_expired_report_texts(root, 90, now=written + dt.timedelta(days=89)) == 0  # not yet
    assert remove_expired_report_texts(root, 90, now=written + dt.timedelta(days=91)) == 1
    # rewritten, but still as old as it was: the QA page lists the reports written last first
    assert [(report.parent / n).stat().st_mtime for n in ("agents.json", "agents.html")] == [1_700_000_000] * 2
    after = json.loads((report.parent / "agents.json").read_text())
    assert after["headline"] == before["headline"] and after["created"] == before["created"]
    assert after["alpha"] == before["alpha"] and after["per_agent"] == before["per_agent"]
    kept = [c["message"] for c in after["checked"]] + [c["reply"] for c in after["checked"]]
    assert set(kept) == {REMOVED} and not any(c["reasons"] for c in after["outliers"])
    assert all(f["reply"] == REMOVED for p in after["per_period"] for f in p["flagged_replies"])
    html = (report.parent / "agents.html").read_text()
    assert "klopt het dat suiker" not in html and "suiker voedt kanker niet" not in html and REMOVED in html
    assert stat.S_IMODE((report.parent / "agents.html").stat().st_mode) == 0o600
    assert remove_expired_report_texts(root, 90, now=written + dt.timedelta(days=200)) == 0  # once


def test_the_services_retention_job_covers_the_reports_folder(report: Path, tmp_path: Path) -> None:
    data = json.loads((report.parent / "agents.json").read_text())
    data["created"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat(timespec="seconds")
    (report.parent / "agents.json").write_text(json.dumps(data))
    from api.db import open_database

    settings = Settings(data_dir=tmp_path / "data", reports_dir=report.parent.parent.parent, retention_days=14)
    db = open_database(settings)
    try:
        Housekeeping(db, settings, None).run_retention()
    finally:
        db.close()
    assert "texts_removed" in json.loads((report.parent / "agents.json").read_text())
