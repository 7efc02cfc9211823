"""The service's background work, each job in a daemon thread of its own: the retention job (hourly, when
`KB_RETENTION_DAYS` is set) and the alerts (every five minutes, when `KB_ALERT_WEBHOOK_URL` is set).

Requests never wait for them: they have their own threads and their database writes are short batches. A
webhook that hangs costs the alerts thread at most its deadline (api/insights/alerts.py) and never delays the
retention job, which runs in the other thread. Every run's error is logged and the next run comes anyway; the
threads are stopped (and waited for, briefly) when the service shuts down.

    housekeeping = Housekeeping(db, settings, context)
    housekeeping.start()
    ...
    housekeeping.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from api.db import Database
from api.insights.alerts import AlertRun, Webhook, alerts_for, send_alerts
from api.insights.context import InsightsContext
from api.insights.models import InsightsQuery
from api.insights.report import build
from api.insights.retention import RetentionResult, remove_expired_texts
from eval.report_retention import remove_expired_report_texts
from kb.config import Settings

log = logging.getLogger("kb.housekeeping")

RETENTION_EVERY = 3600.0
ALERTS_EVERY = 300.0
FIRST_RUN = 5.0  # seconds after start-up: the service is ready first


class Housekeeping:
    """Retention and alerts on their own schedules, each in its own thread."""

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
        self._threads: list[threading.Thread] = []

    @property
    def idle(self) -> bool:
        """Nothing to do: retention off and no webhook."""
        return not self.settings.retention_days and self.webhook is None

    def start(self) -> None:
        jobs = {"retention": (self.run_retention, self.retention_every) if self.settings.retention_days else None,
                "alerts": (self.run_alerts, self.alerts_every) if self.webhook is not None else None}
        for name, job in jobs.items():
            if job is not None:
                thread = threading.Thread(target=self._loop, args=(name, *job), name=f"kb-{name}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self.webhook is not None:
            self.webhook.close()

    def run_retention(self) -> RetentionResult | None:
        if not self.settings.retention_days:
            return None
        result = remove_expired_texts(self.db, self.settings.retention_days, stop=self._stop)
        if result.requests or result.feedback:
            log.info("retention: %s", result)
        reports = remove_expired_report_texts(self.settings.reports_dir, self.settings.retention_days)
        if reports:
            log.info("retention: texts removed from %d agent-consistency reports", reports)
        return result

    def run_alerts(self) -> AlertRun | None:
        if self.webhook is None:
            return None
        catalog = self.context.catalog() if self.context is not None else {}
        vectors = self.context.vectors if self.context is not None else None
        today = build(self.db, catalog, InsightsQuery(period="day", periods=1, groups=vectors is not None),
                      embedder=vectors)
        return send_alerts(self.db, self.webhook, alerts_for(today))

    def _loop(self, name: str, job: Callable[[], object], every: float) -> None:
        wait = self.first_run
        while not self._stop.wait(wait):
            try:
                job()
            except Exception:  # a database away, a bug: logged, and tried again next time
                log.exception("housekeeping: %s failed", name)
            wait = every  # from the end of this run, as before: a slow run never piles up the next
