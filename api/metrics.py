"""The service's Prometheus metrics (GET /metrics), kept with prometheus_client.

The app factory makes one `Metrics` per app, with its own `CollectorRegistry`: nothing is registered in
prometheus_client's global registry, so apps (and tests) never share counts by accident. prometheus_client writes
the exposition format, escaping label values (a quote, backslash or newline in a route cannot break the output).

**Several processes on one host** (`kb serve` behind a local load balancer, each on its own port): set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory, the same for every process, before they start.
prometheus_client then keeps each process's counts in a file there, and GET /metrics on any process answers
the sums over all of them (its `MultiProcessCollector`). The variable must be set when the process starts
(prometheus_client reads it once, on import); see docs/operations.md for wiping the directory between runs.
The index gauges (`kb_index_info`, `kb_index_age_seconds`) are read from the answering process's served index
at scrape time, in either mode.

    >>> m = Metrics()
    >>> m.observe_request("/v1/suggest", "POST", 200, 0.012)
    >>> 'kb_http_requests_total{method="POST",route="/v1/suggest",status="200"} 1.0' in m.render(None)
    True
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from kb.errors import ConfigError

if TYPE_CHECKING:
    from kb.engine import Engine
    from kb.suggest import SuggestResult

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TIERS = ("high", "medium", "low")
#: The method label takes these values; anything else a client sends counts as "other" (one series, not one each).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    """The directory prometheus_client shares counts through (`PROMETHEUS_MULTIPROC_DIR`), or None.

        >>> multiprocess_dir() is None or multiprocess_dir().is_dir()
        True
    """
    value = os.environ.get(MULTIPROC_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"{MULTIPROC_ENV}={value} is not a directory: create it (empty) before starting the "
                          "service, or unset it for one process")
    return path


class Metrics:
    """Counters and the latency histogram of one app; `render` answers GET /metrics."""

    def __init__(self) -> None:
        self.shared_dir = multiprocess_dir()
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("kb_http_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("kb_http_request_seconds", "Request latency by route.", ["route", "method"],
                                 buckets=BUCKETS, registry=r)
        self.suggestions = Counter("kb_suggestions", "Suggestions offered, by confidence tier.", ["confidence"],
                                   registry=r)
        self.suggest_requests = Counter("kb_suggest_requests", "Suggestion requests answered.", registry=r)
        self.no_match = Counter("kb_no_match", "Suggestion requests that found no matching article.", registry=r)
        for tier in TIERS:  # every tier is listed from the start, at 0
            self.suggestions.labels(confidence=tier)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route, method=method).observe(seconds)

    def observe_suggestion(self, result: SuggestResult) -> None:
        self.suggest_requests.inc()
        if result.no_match:
            self.no_match.inc()
        for s in result.suggestions:
            self.suggestions.labels(confidence=str(s.confidence)).inc()

    def render(self, engine: Engine | None) -> str:
        """The exposition text: this app's counts (or, with `PROMETHEUS_MULTIPROC_DIR`, every process's summed),
        then the served index as `engine` sees it."""
        counts: CollectorRegistry = self.registry
        if self.shared_dir is not None:
            counts = CollectorRegistry()
            MultiProcessCollector(counts, path=str(self.shared_dir))
        return (generate_latest(counts) + generate_latest(_IndexCollector(engine))).decode()


class _IndexCollector:
    """The served build and its age, read when scraped (a prometheus_client custom collector)."""

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        if self.engine is None:
            return
        try:
            info = self.engine.served.info()
        except Exception:  # metrics must answer even when the index is not there
            return
        if info is None:
            return
        build = GaugeMetricFamily("kb_index_info", "The served index build and its commit.",
                                  labels=["collection", "commit", "model"])
        build.add_metric([info.collection, info.commit or "", info.model_id], 1)
        yield build
        if info.indexed_at:
            age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(info.indexed_at)).total_seconds()
            yield GaugeMetricFamily("kb_index_age_seconds", "Seconds since the served index was written.",
                                    value=round(age))
