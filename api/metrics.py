"""Prometheus metrics in the text exposition format, kept in-process (one registry per app).

    >>> m = Metrics()
    >>> m.observe_request("/v1/suggest", "POST", 200, 0.012)
    >>> "kb_http_requests_total" in m.render(None)
    True
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.engine import Engine
    from kb.suggest import SuggestResult

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.tiers: dict[str, int] = defaultdict(int)
        self.no_match = 0
        self.suggest_requests = 0

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            counts = self.latency[(route, method)]
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.latency_sum[(route, method)] += seconds

    def observe_suggestion(self, result: SuggestResult) -> None:
        with self._lock:
            self.suggest_requests += 1
            self.no_match += int(result.no_match)
            for s in result.suggestions:
                self.tiers[str(s.confidence)] += 1

    def render(self, engine: Engine | None) -> str:
        lines = ["# HELP kb_http_requests_total HTTP requests by route, method and status.",
                 "# TYPE kb_http_requests_total counter"]
        with self._lock:
            for (route, method, status), n in sorted(self.requests.items()):
                lines.append(f'kb_http_requests_total{{route="{route}",method="{method}",status="{status}"}} {n}')
            lines += ["# HELP kb_http_request_seconds Request latency by route.",
                      "# TYPE kb_http_request_seconds histogram"]
            for (route, method), counts in sorted(self.latency.items()):
                labels = f'route="{route}",method="{method}"'
                for bound, n in zip(BUCKETS, counts, strict=False):
                    lines.append(f'kb_http_request_seconds_bucket{{{labels},le="{bound}"}} {n}')
                lines.append(f'kb_http_request_seconds_bucket{{{labels},le="+Inf"}} {counts[-1]}')
                lines.append(f"kb_http_request_seconds_sum{{{labels}}} {self.latency_sum[(route, method)]:.6f}")
                lines.append(f"kb_http_request_seconds_count{{{labels}}} {counts[-1]}")
            lines += ["# HELP kb_suggestions_total Suggestions offered, by confidence tier.",
                      "# TYPE kb_suggestions_total counter"]
            for tier in ("high", "medium", "low"):
                lines.append(f'kb_suggestions_total{{confidence="{tier}"}} {self.tiers[tier]}')
            lines += ["# HELP kb_suggest_requests_total Suggestion requests answered.",
                      "# TYPE kb_suggest_requests_total counter", f"kb_suggest_requests_total {self.suggest_requests}",
                      "# HELP kb_no_match_total Suggestion requests that found no matching article.",
                      "# TYPE kb_no_match_total counter", f"kb_no_match_total {self.no_match}"]
        if engine is not None:
            try:
                info = engine.served.info()
            except Exception:  # metrics must answer even when the index is not there
                info = None
            if info is not None:
                lines += ["# HELP kb_index_info The served index build and its commit.", "# TYPE kb_index_info gauge",
                          f'kb_index_info{{collection="{info.collection}",commit="{info.commit or ""}",'
                          f'model="{info.model_id}"}} 1']
                if info.indexed_at:
                    age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(info.indexed_at)).total_seconds()
                    lines += ["# HELP kb_index_age_seconds Seconds since the served index was written.",
                              "# TYPE kb_index_age_seconds gauge", f"kb_index_age_seconds {age:.0f}"]
        return "\n".join(lines) + "\n"
