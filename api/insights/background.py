"""The service's background work, in one daemon thread per process: the retention job (hourly, when
`KB_RETENTION_DAYS` is set) and the alerts (every five minutes, when `KB_ALERT_WEBHOOK_URL` is set).

Requests never wait for it: it has its own thread, its database writes are short batches, and a webhook that
hangs costs this thread at most its timeouts. Every run's error is logged and the next run comes anyway; the
thread is stopped (and waited for, briefly) when the service shuts down.

    housekeeping = Housekeeping(db, settings, context)
    housekeeping.start()
    ...
    housekeeping.stop()
"""

from __future__ import annotations

import logging
import threading
import time

from api.db import Database
from api.insights.alerts import AlertRun, Webhook, alerts_for, send_alerts
from api.insights.context import InsightsContext
from api.insights.models import InsightsQuery
from api.insights.report import build
from api.insights.retention import RetentionResult, remove_expired_texts
from kb.config import Settings

log = logging.getLogger("kb.housekeeping")

RETENTION_EVERY = 3600.0
ALERTS_EVERY = 300.0
FIRST_RUN = 5.0  # seconds after start-up: the service is ready first


class Housekeeping:
    """Retention and alerts on their own schedules, in one thread."""

    def __init__(self, db: Database, settings: Settings, context: InsightsContext | None, *,
                 retention_every: float | None = None, alerts_every: float | None = None,
                 first_run: float | None = None, webhook: Webhook | None = None) -> None:
        self.db, self.settings, self.context = db, settings, context
        # Read when made, not when defined: tests shorten the schedule by setting the module's constants.
        self.retention_every = RETENTION_EVERY if retention_every is None else retention_every
        self.alerts_every = ALERTS_EVERY if alerts_every is None else alerts_every
        self.first_run = FIRST_RUN if first_run is None else first_run
        url = settings.alert_webhook_url
        self.webhook = webhook or (Webhook(url.get_secret_value()) if url is not None else None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def idle(self) -> bool:
        """Nothing to do: retention off and no webhook."""
        return not self.settings.retention_days and self.webhook is None

    def start(self) -> None:
        if self.idle:
            return
        self._thread = threading.Thread(target=self._loop, name="kb-housekeeping", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.webhook is not None:
            self.webhook.close()

    def run_retention(self) -> RetentionResult | None:
        if not self.settings.retention_days:
            return None
        result = remove_expired_texts(self.db, self.settings.retention_days, stop=self._stop)
        if result.requests or result.feedback or result.inbox:
            log.info("retention: %s", result)
        return result

    def run_alerts(self) -> AlertRun | None:
        if self.webhook is None:
            return None
        catalog = self.context.catalog() if self.context is not None else {}
        vectors = self.context.vectors if self.context is not None else None
        today = build(self.db, catalog, InsightsQuery(period="day", periods=1, groups=vectors is not None),
                      embedder=vectors)
        return send_alerts(self.db, self.webhook, alerts_for(today))

    def _loop(self) -> None:
        due = {"retention": time.monotonic() + self.first_run, "alerts": time.monotonic() + self.first_run}
        every = {"retention": self.retention_every, "alerts": self.alerts_every}
        jobs = {"retention": self.run_retention, "alerts": self.run_alerts}
        while not self._stop.wait(max(0.0, min(due.values()) - time.monotonic())):
            for name, job in jobs.items():
                if time.monotonic() < due[name]:
                    continue
                try:
                    job()
                except Exception:  # a database away, a bug: logged, and tried again next time
                    log.exception("housekeeping: %s failed", name)
                due[name] = time.monotonic() + every[name]
