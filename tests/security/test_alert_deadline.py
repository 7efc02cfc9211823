"""Issue 25, point 3: a webhook receiver that sends its answer one byte every few seconds held an alert delivery
open indefinitely (httpx's timeout is between bytes), and retention ran in the same thread, so expired texts
stayed while it hung. Each call now ends at a total deadline and each alert at its delivery's, whatever the
receiver does, and retention has a thread of its own."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api.db import open_database
from api.insights import alerts
from api.insights.alerts import AlertFailed, Webhook
from api.insights.background import Housekeeping
from api.sql.schema import requests
from bench.traffic import TrafficPlan, generate, load
from kb.config import Settings
from tests.insights.receiver import Receiver

pytestmark = pytest.mark.unit


def _post_in_thread(webhook: Webhook, text: str) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            webhook.post(text)
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_receiver_that_drips_its_answer_cannot_hold_a_delivery_open(where: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "DEADLINE", 1.0, raising=False)  # each call
    monkeypatch.setattr(alerts, "DELIVERY", 2.5, raising=False)  # the alert, with its retries
    with Receiver(drip=where, every=0.1) as hook:
        webhook = Webhook(hook.url, timeout=1.0, sleep=lambda seconds: None)
        started = time.monotonic()
        thread, outcome = _post_in_thread(webhook, "hoi")
        thread.join(20)  # a byte every 0.1 s is never 1 s apart: only a total deadline ends this
        waited = time.monotonic() - started
        assert not thread.is_alive(), f"the delivery was still open after {waited:.0f} s"
        webhook.close()
    assert isinstance(outcome[0], AlertFailed) and "within" in str(outcome[0])
    assert waited < 2.5 + 2.0, waited
    assert 1 <= len(hook.bodies) <= 3  # tried again within the delivery's time, never beyond it


def test_retention_goes_on_while_an_alert_hangs(tmp_path: Path) -> None:
    """The receiver never answers; meanwhile expired texts arrive and must be removed by the next retention run."""
    settings = Settings(data_dir=tmp_path / "data", retention_days=14)
    db = open_database(settings)
    hold = threading.Event()
    try:
        with Receiver(hold=hold) as hook:
            webhook = Webhook(hook.url, sleep=lambda seconds: None)  # each call may wait its 10 s
            housekeeping = Housekeeping(db, settings, None, retention_every=0.2, alerts_every=0.2, first_run=0.0,
                                        webhook=webhook)
            housekeeping.run_alerts = lambda: webhook.post("hoi")  # type: ignore[method-assign]  # no insights here
            housekeeping.start()
            try:
                assert hook.arrived.wait(30), "the alert was never posted"
                old = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
                load(db, generate(TrafficPlan(end=old, weeks=1, daily=5, surge_week=-1)))  # expired, after it hung
                deadline = time.monotonic() + 8  # the held alert's attempts take 4 x 5 s at least
                while time.monotonic() < deadline and _kept(db):
                    time.sleep(0.1)
                assert not hold.is_set()
                assert _kept(db) == 0, "expired texts stayed while the alert hung"
            finally:
                hold.set()
                housekeeping.stop()
    finally:
        db.close()


def _kept(db: Any) -> int:
    return sum(r["message"] is not None for r in db.read(select(requests.c.message)))


def test_the_service_settings_reach_the_webhook_with_its_deadlines() -> None:
    settings = Settings(alert_webhook_url=SecretStr("https://hooks.example.org/services/T/B/X"), retention_days=0)
    housekeeping = Housekeeping(None, settings, None)  # type: ignore[arg-type]  # no run: only what it was made with
    assert housekeeping.webhook is not None
    assert (housekeeping.webhook.deadline, housekeeping.webhook.delivery) == (alerts.DEADLINE, alerts.DELIVERY)
    housekeeping.stop()
