"""Personal data kept only as long as needed, on SQLite and a real PostgreSQL: after the retention period the
message and reply texts are gone and every count the insights show is unchanged; the job works in batches and
writes go on between them; `kb retention run` and the service's own job do it."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.db import Database, open_database
from api.insights.background import Housekeeping
from api.insights.models import InsightsQuery
from api.insights.report import build, catalog_of
from api.insights.retention import remove_expired_texts
from api.sql.schema import feedback, inbox_messages, requests
from bench.traffic import TrafficPlan, generate, load
from kb.cli import main
from kb.config import Settings
from kb.corpus import load_corpus
from tests.conftest import ARTICLES

END = dt.date(2026, 11, 29)
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
CATALOG = catalog_of(load_corpus(ARTICLES).served())


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data", retention_days=14)
    return Settings(data_dir=tmp_path / "data", database_url=request.getfixturevalue("postgres_url"),
                    retention_days=14)


@pytest.fixture()
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.close()


def _texts(db: Database) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    return ([(r["created"], r["message"]) for r in db.read(select(requests.c.created, requests.c.message))],
            [(r["created"], r["final_text"]) for r in db.read(select(feedback.c.created, feedback.c.final_text))])


def _insights(db: Database, period: str) -> dict[str, Any]:
    query = InsightsQuery.model_validate({"period": period, "periods": 28 if period == "day" else 4, "until": END,
                                          "groups": False, "top": 50})
    out = build(db, CATALOG, query, today=END)
    return out.model_dump(exclude={"generated"})


def test_expired_texts_are_gone_and_every_count_remains(db: Database) -> None:
    traffic = generate(TrafficPlan(end=END, weeks=4, daily=60))
    load(db, traffic)
    db.record_request("r-mail", "k", "mail me: ria@example.nl", "email", [], language="nl")  # today: kept
    before = {period: _insights(db, period) for period in ("day", "week")}
    cutoff = (NOW - dt.timedelta(days=14)).isoformat(timespec="seconds")
    old = sum(r["created"] < cutoff for r in traffic.requests)
    old_replies = sum(f["created"] < cutoff and f["final_text"] is not None for f in traffic.feedback)
    assert old > 500 and old_replies > 50

    result = remove_expired_texts(db, 14, now=NOW, batch=250)

    assert (result.requests, result.feedback, result.cutoff) == (old, old_replies, cutoff)
    assert result.batches >= old // 250 + old_replies // 250
    messages, replies = _texts(db)
    assert all(text is None for created, text in messages if created < cutoff)
    assert all(text is not None for created, text in messages if created >= cutoff)
    assert all(text is None for created, text in replies if created < cutoff)
    assert sum(text is not None for created, text in replies if created >= cutoff) == \
        sum(f["created"] >= cutoff and f["final_text"] is not None for f in traffic.feedback)
    assert len(messages) == len(traffic.requests) + 1 and len(replies) == len(traffic.feedback)
    for period in ("day", "week"):  # volume, tiers, articles, topics, rising, feedback: all as before
        assert _insights(db, period) == before[period]
    assert remove_expired_texts(db, 14, now=NOW).requests == 0  # nothing left to do


def test_the_job_works_in_batches_and_writes_go_on_between_them(db: Database) -> None:
    load(db, generate(TrafficPlan(end=END, weeks=3, daily=70)))
    events: list[str] = []
    lock = threading.Lock()

    def batch_done(table: str, rows: int) -> None:
        with lock:
            events.append("batch")

    job = threading.Thread(target=remove_expired_texts, args=(db, 1),
                           kwargs={"now": NOW, "batch": 100, "on_batch": batch_done})
    job.start()
    written = 0
    while job.is_alive():  # an agent's suggestions, recorded one after another while the job runs
        db.record_request(f"live-{written}", "k", "is 5G gevaarlijk?", "x", ["5g-kanker"], language="nl",
                          tier="medium")
        written += 1
        with lock:
            events.append("write")
    job.join()
    first, last = events.index("batch"), len(events) - 1 - events[::-1].index("batch")
    assert events.count("batch") > 10
    assert "write" in events[first:last], "no write got in between the job's batches"
    live = db.read(select(func.count()).select_from(requests).where(requests.c.request_id.like("live-%")))
    assert next(iter(live[0].values())) == written


def test_kb_retention_run_removes_old_texts_and_says_so(settings: Settings, db: Database,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    load(db, generate(TrafficPlan(end=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=20), weeks=3, daily=20)))
    monkeypatch.setenv("KB_DATA_DIR", str(settings.data_dir))
    if settings.database_url is not None:
        monkeypatch.setenv("KB_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("KB_RETENTION_DAYS", "14")
    assert main(["retention", "run", "--batch", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed ") and " message texts, " in out and " unapproved learned phrasings " in out
    messages, _ = _texts(db)
    assert messages and all(text is None for _, text in messages)
    monkeypatch.setenv("KB_RETENTION_DAYS", "0")
    assert main(["retention", "run"]) == 0
    assert "kept indefinitely" in capsys.readouterr().err


def test_the_service_removes_expired_texts_on_its_own(settings: Settings, db: Database) -> None:
    load(db, generate(TrafficPlan(end=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=20), weeks=3, daily=15)))
    db.record_request("r-today", "k", "klopt het dat suiker kanker voedt?", "x", ["suiker-voedt-kanker"],
                      language="nl", tier="high")
    housekeeping = Housekeeping(db, settings, None, first_run=0.0)
    housekeeping.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(t is not None for _, t in _texts(db)[0]) > 1:
            time.sleep(0.1)
    finally:
        housekeeping.stop()
    messages, _ = _texts(db)
    assert len(messages) > 100
    assert [text for created, text in messages if text is not None] == ["klopt het dat suiker kanker voedt?"]


def test_inbox_messages_lose_their_texts_names_and_drafts_and_keep_the_rest(db: Database) -> None:
    """The Chatwoot integration's copies (api/inbox): the message, the customer's and agent's names and the drafts
    made with them go after KB_RETENTION_DAYS like every other text; ids and statuses stay."""
    old, new = (NOW - dt.timedelta(days=20)).isoformat(), (NOW - dt.timedelta(days=2)).isoformat()
    rows = [{"connection": "chatwoot:chat.example.org/1", "message_id": str(n), "conversation_id": "17",
             "inbox_id": "3", "kind": "incoming", "sent_at": created, "created": created,
             "content": "klopt het dat suiker kanker voedt?", "details": '{"customer_name": "Ria"}',
             "drafts": '[{"text": "Hoi Ria, ..."}]', "status": "posted", "attempts": 1, "request_id": f"r{n}",
             "note_id": "9000", "updated": created} for n, created in ((1, old), (2, old), (3, new))]
    with db.writing() as conn:
        conn.execute(inbox_messages.insert(), rows)
    result = remove_expired_texts(db, 14, now=NOW, batch=1)
    assert result.inbox == 2 and "inbox" in str(result)
    kept = {r["message_id"]: r for r in db.read(select(inbox_messages))}
    for n in ("1", "2"):
        assert (kept[n]["content"], kept[n]["details"], kept[n]["drafts"]) == (None, None, None)
        assert (kept[n]["status"], kept[n]["request_id"], kept[n]["note_id"]) == ("posted", f"r{n}", "9000")
    assert kept["3"]["content"] and kept["3"]["details"] and kept["3"]["drafts"]
