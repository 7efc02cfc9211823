"""Optional part of `kb bench --insights URL`: the insights query and the retention job on a database with about a
million requests (half a year of generated traffic, bench/traffic.py), on PostgreSQL as in production.

Measured, each on the same loaded database:

- the insights as the page, the API and `kb insights` ask for them (`api.insights.report.build` without the
  groups of unanswered messages, which cost an embedding per sampled message, not a database read): eight weeks,
  28 days, one channel, one language, and the alerts' one day; p50 and p95 over `repeats` calls;
- the plan PostgreSQL chooses for the counting query (it must read the index `ix_requests_insights` only);
- the retention job emptying the texts of the older half while one writer records a request every few
  milliseconds, as the service does: the writer's latency during the job against the same writer at rest.

The database must be empty (the bench refuses one with requests in it: it would count them and delete their texts).

    >>> report = bench_insights("postgresql://kb@127.0.0.1:5433/kb_bench", 1_000_000, log=print)  # doctest: +SKIP
    >>> report["queries"]["weeks"]["p50_ms"]  # doctest: +SKIP
    310.2
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from api.db import Database, open_database
from api.insights.models import InsightsQuery
from api.insights.periods import Period
from api.insights.queries import Filters, day_counts, feedback_mix
from api.insights.report import build, catalog_of
from api.insights.retention import remove_expired_texts
from api.sql.schema import requests
from bench.stats import timings
from bench.traffic import SURGE, TrafficPlan, generate, load
from kb.config import Settings
from kb.corpus import load_corpus

END = dt.date(2026, 11, 29)
WEEKS = 26
#: Requests the generator makes per unit of `TrafficPlan.daily` over `WEEKS` weeks (weekends, no-match, the gap).
PER_DAILY = 167.0
QUERIES: dict[str, dict[str, Any]] = {
    "weeks": {"period": "week", "periods": 8},  # the page's default: 8 weeks shown, 6 more read as history
    "days": {"period": "day", "periods": 28},
    "channel": {"period": "week", "periods": 8, "channel": "x"},
    "language": {"period": "week", "periods": 8, "language": "en"},
    "alerts": {"period": "day", "periods": 1},  # what the service's thread asks every five minutes
}


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 2),
            "max_ms": round(samples[-1], 2), "n": len(samples)}


class _Writer:
    """Records a request every `every` seconds through `Database.record_request` (what a suggestion does) and
    keeps each call's time."""

    def __init__(self, db: Database, every: float = 0.005) -> None:
        self.db, self.every = db, every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            t = time.perf_counter()
            self.db.record_request(uuid.uuid4().hex, "bench", "bench message", "x", [SURGE], language="nl",
                                   tier="high")
            self.samples.append((time.perf_counter() - t) * 1000)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _plan(db: Database) -> str:
    """The plan of the eight-week counting query, one line per node."""
    query = select(func.substr(requests.c.created, 1, 10), requests.c.top_article, requests.c.tier,
                   func.count()).where(requests.c.created >= (END - dt.timedelta(weeks=14)).isoformat(),
                                       requests.c.created < END.isoformat()).group_by(
        func.substr(requests.c.created, 1, 10), requests.c.top_article, requests.c.tier)
    if db.backend != "postgresql":
        return ""
    compiled = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")))


def _vacuum(db: Database) -> None:
    """What autovacuum does after a bulk load: statistics, and the visibility map an index-only scan needs."""
    if db.backend == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE requests"))
            conn.execute(text("VACUUM ANALYZE feedback"))


def bench_insights(url: str | None, rows: int, log: Callable[[str], None], *, repeats: int = 15,
                   articles: Path | None = None) -> dict[str, Any]:
    """Load about `rows` requests into the empty database at `url` (SQLite in a temporary folder when None),
    then time the insights queries and the retention job (see the module's docstring)."""
    with tempfile.TemporaryDirectory(prefix="kb-bench-insights-") as tmp:
        settings = Settings.model_validate({"data_dir": tmp, "database_url": url})
        db = open_database(settings)
        try:
            return _run(db, rows, log, repeats, articles or settings.articles_dir)
        finally:
            db.close()


def _run(db: Database, rows: int, log: Callable[[str], None], repeats: int, articles: Path) -> dict[str, Any]:
    if db.read(select(func.count().label("n")).select_from(requests))[0]["n"]:
        raise RuntimeError("the insights bench needs an empty database: it adds requests and deletes texts")
    catalog = catalog_of(load_corpus(articles).served())
    t = time.perf_counter()
    traffic = generate(TrafficPlan(end=END, weeks=WEEKS, daily=rows / PER_DAILY, surge_week=-3))
    generated = time.perf_counter() - t
    n_requests, n_feedback = len(traffic.requests), len(traffic.feedback)
    log(f"insights: {n_requests} requests, {n_feedback} feedback generated in {generated:.0f} s; loading")
    t = time.perf_counter()
    load(db, traffic, batch=10_000)
    del traffic
    _vacuum(db)
    loaded = time.perf_counter() - t
    log(f"insights: loaded and analysed in {loaded:.0f} s")

    queries: dict[str, Any] = {}
    for name, params in QUERIES.items():
        query = InsightsQuery.model_validate({**params, "until": END, "groups": False})
        out = build(db, catalog, query, today=END)
        shown = Period.ending(query.period, END, query.periods)
        read = sum(c.count for c in day_counts(db, shown[0].shift(-query.history_periods).start, shown[-1].end,
                                               Filters(query.channel, query.language)))

        def ask(q: InsightsQuery = query) -> object:
            return build(db, catalog, q, today=END)

        queries[name] = {**timings(ask, repeats, warmup=2),
                         "requests_read": read, "rising": sorted({f"{r.kind}:{r.id}" for r in out.rising})}
        log(f"insights {name}: p50 {queries[name]['p50_ms']} ms, p95 {queries[name]['p95_ms']} ms over "
            f"{read} requests")
    # Where the page's time goes: its two reads alone (eight weeks shown, six more of history counted).
    weeks = Period.ending("week", END, 8)
    first = weeks[0].shift(-6).start
    parts = {"counting": timings(lambda: day_counts(db, first, weeks[-1].end, Filters()), repeats, warmup=1),
             "feedback": timings(lambda: feedback_mix(db, weeks[0].start, weeks[-1].end, Filters()), repeats,
                                 warmup=1)}
    log(f"insights parts: counting p50 {parts['counting']['p50_ms']} ms, feedback p50 {parts['feedback']['p50_ms']} ms")
    plan = _plan(db)

    with _Writer(db) as idle:
        time.sleep(5)
    now = dt.datetime.combine(END, dt.time(12), dt.UTC)
    days = WEEKS * 7 // 2  # the older half of the texts expire
    with _Writer(db) as busy:
        result = remove_expired_texts(db, days, now=now)
    removed = result.requests + result.feedback
    retention: dict[str, Any] = {
        "days": days, "requests": result.requests, "feedback": result.feedback, "batches": result.batches,
        "seconds": result.seconds, "rows_per_s": round(removed / max(result.seconds, 1e-9)),
        "writer_at_rest": _summary(idle.samples), "writer_during": _summary(busy.samples)}
    log(f"retention: {result}; a writer's insert p99 {retention['writer_during']['p99_ms']} ms during, "
        f"{retention['writer_at_rest']['p99_ms']} ms at rest")
    return {"backend": db.backend, "requests": n_requests, "feedback": n_feedback,
            "generate_s": round(generated, 1), "load_s": round(loaded, 1), "queries": queries,
            "parts": parts,
            "index_only": "Index Only Scan using ix_requests_insights" in plan, "plan": plan.splitlines(),
            "retention": retention}
