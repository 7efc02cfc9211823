"""The application's state, typed and built in one place: the app factory (`api.app.create_app`) makes the
`AppState`, its lifespan opens what needs opening at start-up (`Opened`), and routes and pages reach both through
the dependencies in `api.deps`, never through attributes set on `app.state` by a handler.

    state = AppState.build(settings)          # in create_app; nothing opened yet
    state.open(Opened(engine, db, secret, memo, insights, housekeeping))   # in its lifespan, at start-up
    state_of(app).db.feedback(10)             # tests read the state the same way
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from api.jobs import JobRunner
from api.limits import Gate, KeyRateLimit
from api.metrics import Metrics
from api.throttle import FailureThrottle
from kb.config import Settings

if TYPE_CHECKING:
    from api.db import Database
    from api.grouping import VectorMemo
    from api.insights.background import Housekeeping
    from api.insights.context import InsightsContext
    from kb.engine import Engine


@dataclass(frozen=True)
class Opened:
    """What start-up opens: the model and store, the database, the page-session secret (read or made once in the
    data directory), the memo of flagged messages' vectors (the gaps page), what the insights read from the
    running service (`api.insights.context`) and the housekeeping thread (retention and alerts), which the
    lifespan starts after this is open and stops before the database closes."""

    engine: Engine
    db: Database
    session_secret: bytes
    gap_vectors: VectorMemo
    insights: InsightsContext
    housekeeping: Housekeeping


@dataclass
class AppState:
    settings: Settings
    metrics: Metrics
    gate: Gate
    key_limits: KeyRateLimit
    #: Failed logins and bad keys, per client and per key id (api/throttle.py).
    failures: FailureThrottle
    #: The QA page's evaluations (one at a time); a job waits between its items while requests are in flight.
    jobs: JobRunner
    #: The last re-index from the editor page (who, when, its report or error), shown on /editor/index.
    last_reindex: dict[str, Any] | None = None
    opened: Opened | None = None

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        gate = Gate(max_in_flight=settings.max_in_flight, max_queued=settings.max_queued,
                    queue_timeout=settings.queue_timeout)
        return cls(settings=settings, metrics=Metrics(), gate=gate,
                   key_limits=KeyRateLimit(settings.key_rate, settings.key_burst),
                   failures=FailureThrottle(settings.auth_failures, settings.auth_failure_seconds),
                   jobs=JobRunner(busy=lambda: gate.in_flight > 0))

    def open(self, opened: Opened) -> None:
        self.opened = opened

    def _started(self) -> Opened:
        if self.opened is None:
            raise RuntimeError("the app has not started: use it inside its lifespan (`with TestClient(app):`)")
        return self.opened

    @property
    def engine(self) -> Engine:
        return self._started().engine

    @property
    def db(self) -> Database:
        return self._started().db

    @property
    def session_secret(self) -> bytes:
        return self._started().session_secret

    @property
    def gap_vectors(self) -> VectorMemo:
        return self._started().gap_vectors

    @property
    def insights(self) -> InsightsContext:
        return self._started().insights


def state_of(app: FastAPI) -> AppState:
    """The state `create_app` built for `app`."""
    state: AppState = app.state.kb
    return state
