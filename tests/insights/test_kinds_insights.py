"""Message kinds in the insights: counted per period, a surge of complaints or abuse is a rising subject, and a
message answered by its kind's reply is not a gap (SQLite, no model)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from api.db import Database, open_database
from api.insights.alerts import alerts_for
from api.insights.export import to_csv
from api.insights.models import InsightsQuery
from api.insights.report import build
from api.sql.schema import requests
from kb.config import Settings

pytestmark = pytest.mark.unit

TODAY = dt.date(2026, 12, 1)


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = open_database(Settings(data_dir=tmp_path / "data"))
    yield database  # type: ignore[misc]
    database.close()


_ids = itertools.count()


def add(db: Database, day: dt.date, kind: str | None, n: int, article: str | None = "klacht-indienen") -> None:
    rows = [{"request_id": f"r{next(_ids)}", "created": f"{day.isoformat()}T12:00:00+00:00", "key_id": None,
             "message": "m", "channel": "x", "article_ids": json.dumps([article] if article else []),
             "language": "nl", "top_article": article, "tier": "medium" if article else None,
             "no_match": False, "kind": kind} for _ in range(n)]
    with db.writing() as conn:
        conn.execute(insert(requests), rows)


def steady(db: Database, days: int = 15) -> None:
    for d in range(days):
        day = TODAY - dt.timedelta(days=d)
        add(db, day, "question", 80, "suiker-voedt-kanker")
        add(db, day, "complaint", 3)
        add(db, day, "abuse", 1, None)


def test_kinds_are_counted_per_period(db: Database) -> None:
    steady(db)
    out = build(db, {}, InsightsQuery(period="day", periods=2, groups=False), today=TODAY)
    assert out.periods[-1].kinds == {"question": 80, "complaint": 3, "abuse": 1}
    assert not [r for r in out.rising if r.kind == "kind"]  # steady traffic: nothing surges
    assert "message_kind,complaint,complaint,3" in to_csv(out)


def test_a_surge_of_complaints_is_a_rising_subject_and_an_alert(db: Database) -> None:
    steady(db)
    add(db, TODAY, "complaint", 40)  # a bad mailing: ten times the usual complaints today
    out = build(db, {}, InsightsQuery(period="day", periods=1, groups=False), today=TODAY)
    surges = [r for r in out.rising if r.kind == "kind"]
    assert [(r.id, r.title, r.count) for r in surges] == [("complaint", "Klachten", 43)]
    assert any(a.subject == "kind:complaint" and "berichtsoort Klachten stijgt" in a.text for a in alerts_for(out))


def test_a_surge_of_abuse_rises_too(db: Database) -> None:
    steady(db)
    add(db, TODAY, "abuse", 25, None)
    out = build(db, {}, InsightsQuery(period="day", periods=1, groups=False), today=TODAY)
    assert "abuse" in {r.id for r in out.rising if r.kind == "kind"}


def test_thanks_and_abuse_without_an_article_are_not_a_gap_but_a_question_is(db: Database) -> None:
    db.record_request("a", None, "dank jullie wel!", "x", [], language="nl", tier=None, kind="thanks")
    db.record_request("b", None, "stelletje idioten", "x", [], language="nl", tier=None, kind="abuse")
    db.record_request("c", None, "wat is een sarcoom?", "x", [], language="nl", tier=None, kind="question")
    db.record_request("d", None, "hoe stop ik?", "x", ["donatie-stopzetten"], language="nl", tier="high",
                      kind="complaint")
    rows = {r["request_id"]: r for r in db.read(select(requests.c.request_id, requests.c.no_match, requests.c.tier,
                                                      requests.c.kind, requests.c.top_article))}
    assert (rows["a"]["no_match"], rows["a"]["tier"], rows["a"]["kind"]) == (False, None, "thanks")
    assert (rows["b"]["no_match"], rows["b"]["kind"]) == (False, "abuse")
    assert (rows["c"]["no_match"], rows["c"]["tier"]) == (True, "no_match")
    assert (rows["d"]["top_article"], rows["d"]["tier"], rows["d"]["kind"]) == ("donatie-stopzetten", "high",
                                                                                 "complaint")
