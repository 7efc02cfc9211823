"""An alert when something surges: `KB_ALERT_WEBHOOK_URL` is called once per rising subject per period with a
JSON body Slack and Microsoft Teams incoming webhooks both accept: `{"text": "..."}`.

- Once: each alert is a row in the `alerts` table keyed by (period, subject), claimed before it is sent. A
  restarted service, or a second one on the same PostgreSQL, finds the row and sends nothing.
- Retries: a failed call (no connection, a timeout, 429 or 5xx) is retried with exponential backoff (1, 2, 4 s,
  a `Retry-After` up to 30 s is honoured); a 4xx other than 429 is not retried (the URL is wrong). An alert that
  still failed is tried again at the next runs, `ROUNDS` runs in all, then left as `failed`.
- A service that dies between claiming and sending leaves the row `sending`: that alert is not repeated (a
  repeated alert is what this table is there to prevent).
- Bounded: at most `PER_RUN` alerts per run; each call is over within `DEADLINE` seconds in all, whatever the
  receiver does (a timer shuts the connection's socket: a receiver that drips one byte every few seconds, in
  its headers or its body, cannot hold it open, which httpx's timeouts between bytes allow), and each alert's
  retries end within `DELIVERY` seconds. Runs happen in the service's alerts thread (`api.insights.background`),
  never in a request and never in the retention job's thread, so neither suggestions nor retention wait for a
  webhook. Failures are logged (logger `kb.alerts`), never raised.

Alerts name the subject and its figures, never a customer's message: a group of unanswered messages is named by
the words its messages share.

    >>> webhook = Webhook("https://hooks.slack.com/services/T000/B000/XXXX")  # doctest: +SKIP
    >>> send_alerts(db, webhook, alerts_for(insights))  # doctest: +SKIP
    AlertRun(sent=1, failed=0, skipped=2)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.db import Database
from api.insights.models import InsightsOut, RisingOut
from api.insights.periods import Period
from api.sql.schema import alerts
from kb.errors import KbError

log = logging.getLogger("kb.alerts")

ATTEMPTS = 4  # calls per alert per run (the first and three retries)
BACKOFF = 1.0  # seconds before the first retry; doubled each time
MAX_WAIT = 30.0  # longest wait between attempts, whatever Retry-After says
TIMEOUT = 5.0  # between bytes (httpx); DEADLINE bounds the whole call
DEADLINE = 10.0  # one call, from connecting to the last byte of the answer
DELIVERY = 60.0  # one alert, all its attempts and waits
MAX_ANSWER = 64 * 1024  # bytes of the receiver's answer read (its first 200 characters are logged)
ROUNDS = 3  # runs in which a failed alert is tried again
PER_RUN = 10
KIND_NAMES = {"article": "artikel", "topic": "onderwerp", "group": "onbeantwoorde vragen over", "kind": "berichtsoort"}


class AlertFailed(KbError):
    """The webhook did not accept the alert (after the retries the error allows). Met only by the housekeeping
    thread, never by a request; in the one tree all the same, so a caller can catch `KbError`."""

    code = "alert_failed"


@dataclass(frozen=True)
class Alert:
    period: str  # Period.key: day:2026-12-01
    subject: str  # article:5g-kanker, topic:5g, group:lymfeklierkanker · tatoeages
    text: str


@dataclass(frozen=True)
class AlertRun:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # sent (or being sent) before, by this process or another


def alert_text(r: RisingOut, period: Period) -> str:
    """One line a person reads in a chat channel.

        >>> r = RisingOut(period="2026-11-10", start=dt.date(2026, 11, 10), kind="article", id="5g-kanker",
        ...               title="5G en kanker", count=60, history=68, expected=4.8, ratio=12.4, p_value=1e-9)
        >>> what, where = alert_text(r, Period.of("day", r.start)).split(". Zie ")
        >>> what
        'Kennisbank: artikel “5G en kanker” (5g-kanker) stijgt op 2026-11-10: 60 berichten, normaal ongeveer 5 (12.4×)'
        >>> where
        '/insights?period=day&until=2026-11-10'
    """
    name = r.title if r.kind != "article" else f"“{r.title}” ({r.id})"
    usual = f"normaal ongeveer {r.expected:.0f} ({r.ratio:g}×)" if r.ratio is not None else "daarvoor geen"
    unit = "berichten in de steekproef" if r.kind == "group" else "berichten"
    return (f"Kennisbank: {KIND_NAMES[r.kind]} {name} stijgt op {r.period}: {r.count} {unit}, {usual}. "
            f"Zie /insights?period={period.kind}&until={period.start.isoformat()}")


def alerts_for(out: InsightsOut) -> list[Alert]:
    """An alert for every subject rising in the last period of `out`, except a topic that is exactly one rising
    article over again (same messages now and before: the topic `5g` of the article `5g-kanker`)."""
    if not out.periods:
        return []
    last = out.periods[-1]
    period = Period(out.period, last.start)
    rising = [r for r in out.rising if r.start == last.start]
    articles = {(r.count, r.history) for r in rising if r.kind == "article"}
    return [Alert(period.key, f"{r.kind}:{r.id}", alert_text(r, period)) for r in rising
            if not (r.kind == "topic" and (r.count, r.history) in articles)]


class Webhook:
    """POST `{"text": ...}` to an incoming-webhook URL, retrying what may pass on a second try, every call and every
    delivery within its deadline."""

    def __init__(self, url: str, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF, timeout: float = TIMEOUT,
                 deadline: float | None = None, delivery: float | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url, self.attempts, self.backoff, self.sleep = url, attempts, backoff, sleep
        # Read when made, not when defined: tests shorten them by setting the module's constants.
        self.deadline = DEADLINE if deadline is None else deadline
        self.delivery = DELIVERY if delivery is None else delivery
        # No kept-alive connections: each call opens its own, so the deadline knows which socket to shut.
        self.client = httpx.Client(timeout=timeout, follow_redirects=False,
                                   limits=httpx.Limits(max_keepalive_connections=0))

    def post(self, text: str) -> None:
        """Raise AlertFailed (with the last reason) when no attempt was accepted within the delivery's time."""
        reason = ""
        ends = time.monotonic() + self.delivery
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(min(MAX_WAIT, self.backoff * 2 ** (attempt - 1), max(0.0, ends - time.monotonic())))
            left = ends - time.monotonic()
            if left <= 0:
                reason += f" (gave up after {self.delivery:g} s)"
                break
            try:
                status, answer, wait = self._call(text, min(self.deadline, left))
            except httpx.HTTPError as e:
                reason = f"{type(e).__name__}: {e}"
                continue
            except _Expired as e:
                reason = str(e)
                continue
            if 200 <= status < 300:
                return
            reason = f"HTTP {status}: {answer[:200]}"
            if status != 429 and status < 500:
                break  # the URL or the body is wrong: asking again will not help
            if wait.isdigit() and attempt + 1 < self.attempts:
                self.sleep(min(MAX_WAIT, float(wait), max(0.0, ends - time.monotonic())))
        raise AlertFailed(reason)

    def _call(self, text: str, seconds: float) -> tuple[int, str, str]:
        """One POST, over within `seconds`: (status, start of the answer, Retry-After)."""
        sockets: list[socket.socket] = []
        expired = threading.Event()

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
                sockets.append(info["return_value"].get_extra_info("socket"))

        def expire() -> None:
            expired.set()
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the read or write blocked on it, in any phase

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            with self.client.stream("POST", self.url, json={"text": text}, extensions={"trace": trace}) as response:
                answer = bytearray()
                for chunk in response.iter_raw():
                    answer += chunk
                    if len(answer) >= MAX_ANSWER:
                        break
                result = (response.status_code, answer.decode("utf-8", "replace"),
                          response.headers.get("retry-after", ""))
        except httpx.HTTPError:
            if expired.is_set():
                raise _Expired(f"no complete answer within {seconds:g} s: connection closed") from None
            raise
        finally:
            timer.cancel()
        if expired.is_set():
            raise _Expired(f"no complete answer within {seconds:g} s: connection closed")
        return result

    def close(self) -> None:
        self.client.close()


class _Expired(Exception):
    pass


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_CLAIM = {"postgresql": postgresql.insert(alerts).on_conflict_do_nothing(index_elements=["period", "subject"]),
          "sqlite": sqlite.insert(alerts).on_conflict_do_nothing(index_elements=["period", "subject"])}


def _claim(db: Database, alert: Alert) -> bool:
    """True when this process may send `alert` now: a new one, or one that failed in fewer than ROUNDS runs."""
    now = _now()
    with db.writing() as conn:
        new = conn.execute(_CLAIM[db.backend], {"period": alert.period, "subject": alert.subject,
                                                "status": "sending", "attempts": 1, "text": alert.text,
                                                "created": now, "updated": now}).rowcount
        if new:
            return True
        again = conn.execute(update(alerts).where(and_(
            alerts.c.period == alert.period, alerts.c.subject == alert.subject, alerts.c.status == "failed",
            alerts.c.attempts < ROUNDS)).values(status="sending", attempts=alerts.c.attempts + 1, updated=now))
        return bool(again.rowcount)


def _finish(db: Database, alert: Alert, error: str | None) -> None:
    with db.writing() as conn:
        conn.execute(update(alerts).where(alerts.c.period == alert.period, alerts.c.subject == alert.subject)
                     .values(status="failed" if error else "sent", error=error, updated=_now()))


def send_alerts(db: Database, webhook: Webhook, pending: list[Alert], *, limit: int = PER_RUN) -> AlertRun:
    """Send each alert not sent before (at most `limit`); failures are logged and recorded, never raised."""
    sent = failed = skipped = 0
    for alert in pending:
        if sent + failed >= limit:
            break
        if not _claim(db, alert):
            skipped += 1
            continue
        try:
            webhook.post(alert.text)
        except AlertFailed as e:
            failed += 1
            log.warning("alert %s %s not delivered: %s", alert.period, alert.subject, e)
            _finish(db, alert, str(e)[:500])
        else:
            sent += 1
            log.info("alert sent: %s", alert.text)
            _finish(db, alert, None)
    return AlertRun(sent, failed, skipped)


def sent_alerts(db: Database) -> list[dict[str, object]]:
    """Every alert row, newest first (for tests and `kb insights`)."""
    return db.read(select(alerts).order_by(alerts.c.created.desc(), alerts.c.subject))


__all__ = ["Alert", "AlertFailed", "AlertRun", "Webhook", "alert_text", "alerts_for", "send_alerts",
           "sent_alerts"]
