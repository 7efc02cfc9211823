"""Alerts against a local HTTP receiver: a rising subject is posted once, as `{"text": ...}` JSON that Slack and
Teams accept; never again after a restart; retried with backoff when the receiver fails for a while (honouring
Retry-After), not retried when it refuses for good; failures logged, never raised; and the service's thread
posting them never holds up a suggestion."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.db import Database, open_database
from api.insights import background
from api.insights.alerts import ROUNDS, Alert, Webhook, alerts_for, send_alerts, sent_alerts
from api.insights.models import InsightsQuery
from api.insights.report import build, catalog_of
from bench.traffic import SURGE, TrafficPlan, generate, load
from kb.config import Settings
from kb.corpus import load_corpus
from tests.api.conftest import make_keys
from tests.conftest import ARTICLES
from tests.insights.conftest import auth
from tests.insights.receiver import Receiver

CATALOG = catalog_of(load_corpus(ARTICLES).served())
END = dt.date(2026, 11, 29)
ALERT = Alert("day:2026-11-10", "article:5g-kanker", "Kennisbank: artikel 5g-kanker stijgt")


@pytest.fixture()
def db(tmp_path: Path) -> Any:
    database = open_database(Settings(data_dir=tmp_path / "data"))
    yield database
    database.close()


def _no_sleep() -> tuple[list[float], Any]:
    slept: list[float] = []
    return slept, slept.append


def _surge_day_alerts(db: Database) -> list[Alert]:
    traffic = generate(TrafficPlan(end=END, weeks=4, daily=200, surge_week=-1))
    load(db, traffic)
    surge_day = traffic.surge_week.start + dt.timedelta(days=1)
    out = build(db, CATALOG, InsightsQuery(period="day", periods=1, until=surge_day, groups=False))
    return alerts_for(out)


@pytest.mark.unit
def test_a_rising_subject_is_posted_once_as_json_slack_and_teams_accept(db: Database, tmp_path: Path) -> None:
    alerts = _surge_day_alerts(db)
    assert f"article:{SURGE}" in {a.subject for a in alerts}
    with Receiver() as hook:
        run = send_alerts(db, Webhook(hook.url), alerts)
        assert (run.sent, run.failed, run.skipped) == (len(alerts), 0, 0)
        assert hook.content_types == ["application/json"] * len(alerts)
        assert all(set(body) == {"text"} and isinstance(body["text"], str) for body in hook.bodies)
        assert any(SURGE in text and "stijgt" in text for text in hook.texts)
        # A restarted service (a new connection to the same database) finds them sent and posts nothing.
        again = open_database(Settings(data_dir=tmp_path / "data"))
        try:
            run = send_alerts(again, Webhook(hook.url), alerts_for(build(again, CATALOG, InsightsQuery(
                period="day", periods=1, until=dt.date.fromisoformat(alerts[0].period[4:]), groups=False))))
        finally:
            again.close()
        assert (run.sent, run.skipped) == (0, len(alerts))
        assert len(hook.bodies) == len(alerts)
    assert {r["status"] for r in sent_alerts(db)} == {"sent"}


@pytest.mark.unit
def test_a_receiver_that_fails_for_a_while_gets_the_alert_after_backoff(db: Database) -> None:
    slept, sleep = _no_sleep()
    with Receiver(answers=[503, 500, 429], retry_after="7") as hook:
        run = send_alerts(db, Webhook(hook.url, backoff=0.5, sleep=sleep), [ALERT])
    assert (run.sent, run.failed) == (1, 0)
    assert hook.texts == [ALERT.text] * 4
    assert slept == [0.5, 1.0, 7.0, 2.0]  # doubling backoff, and Retry-After on the 429
    [row] = sent_alerts(db)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 1, None)


@pytest.mark.unit
def test_a_receiver_that_refuses_is_not_asked_again_in_the_same_run(db: Database,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    slept, sleep = _no_sleep()
    with Receiver(answers=[404] * 10) as hook, caplog.at_level(logging.WARNING, "kb.alerts"):
        webhook = Webhook(hook.url, sleep=sleep)
        runs = [send_alerts(db, webhook, [ALERT]) for _ in range(ROUNDS + 2)]
    assert [r.failed for r in runs] == [1] * ROUNDS + [0, 0]  # tried again in later runs, ROUNDS in all
    assert [r.skipped for r in runs] == [0] * ROUNDS + [1, 1]
    assert len(hook.bodies) == ROUNDS and slept == []
    [row] = sent_alerts(db)
    assert (row["status"], row["attempts"]) == ("failed", ROUNDS) and "HTTP 404" in str(row["error"])
    assert "not delivered" in caplog.text and "HTTP 404" in caplog.text


@pytest.mark.unit
def test_an_unreachable_webhook_is_logged_and_never_raised(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"  # nothing listens there once the socket closes
    slept, sleep = _no_sleep()
    with caplog.at_level(logging.WARNING, "kb.alerts"):
        run = send_alerts(db, Webhook(closed, sleep=sleep, timeout=1.0), [ALERT])
    assert (run.sent, run.failed) == (0, 1) and len(slept) == 3
    assert "ConnectError" in caplog.text


@pytest.mark.unit
def test_at_most_a_bounded_number_of_alerts_per_run(db: Database) -> None:
    many = [Alert("day:2026-11-10", f"topic:t{i}", f"t{i}") for i in range(25)]
    with Receiver() as hook:
        run = send_alerts(db, Webhook(hook.url), many, limit=10)
        assert run.sent == 10 and len(hook.bodies) == 10
        assert send_alerts(db, Webhook(hook.url), many, limit=10).skipped == 10  # the next run goes on after them


@pytest.mark.e2e
def test_the_service_posts_in_its_own_thread_while_suggestions_go_on(tmp_path: Path, sample_engine: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The receiver holds its answer: while the service's thread waits on it, a suggestion is answered."""
    today = dt.datetime.now(dt.UTC).date()
    data = tmp_path / "data"
    keys = make_keys(data)
    db = open_database(Settings(data_dir=data))
    load(db, generate(TrafficPlan(end=today, weeks=3, daily=400, surge_week=-1, surge_days=(today.weekday(),))))
    db.close()
    monkeypatch.setattr(background, "FIRST_RUN", 0.0)
    hold = threading.Event()
    with Receiver(hold=hold) as hook:
        settings = sample_engine.settings.model_copy(update={"data_dir": data, "key_rate": 0.0,
                                                             "alert_webhook_url": SecretStr(hook.url)})
        with TestClient(create_app(settings, sample_engine)) as client:
            assert hook.arrived.wait(120), "no alert was posted"
            response = client.post("/v1/suggest", json={"message": "geeft 5G echt kanker?"},
                                   headers=auth(keys, "agent"))
            assert response.status_code == 200 and not hold.is_set()  # answered while the webhook still hangs
            hold.set()
        assert any(SURGE in text for text in hook.texts)
