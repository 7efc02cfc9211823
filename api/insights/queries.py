"""The insights' reads: counts per day from the request log, the feedback per article, and samples of the
unanswered messages. SQLAlchemy Core over `api.sql.schema`, the same on SQLite and PostgreSQL.

The counting query reads only columns of the index `ix_requests_insights` (time, channel, language, top article,
tier, kind), so PostgreSQL answers it from the index alone (docs/benchmarks.md has its time on a million requests).
Days are UTC days: the first ten characters of the stored timestamp.

    >>> counts = day_counts(db, dt.date(2026, 11, 1), dt.date(2026, 12, 1), Filters(channel="x"))  # doctest: +SKIP
    >>> counts[0]  # doctest: +SKIP
    DayCount(day=datetime.date(2026, 11, 1), article='5g-kanker', tier='medium', count=12)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, distinct, exists, func, or_, select

from api.db import Database
from api.sql.schema import feedback, requests

ACTIONS = ("used", "edited", "rejected", "no_good_answer")


@dataclass(frozen=True)
class Filters:
    """Which requests count: one channel and/or one language, or all."""

    channel: str | None = None
    language: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        out = []
        if self.channel:
            out.append(requests.c.channel == self.channel)
        if self.language:
            out.append(requests.c.language == self.language)
        return out


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    article: str | None  # None: no match (or a request from before the insights were recorded)
    tier: str | None
    count: int
    kind: str | None = None  # the message kind (kb.kinds); None before migration 0005 or with KB_KINDS off


@dataclass(frozen=True)
class Unanswered:
    """A message that got no suggestion or that an agent marked as having no good answer (text masked)."""

    request_id: str
    created: str
    message: str
    channel: str
    offered: list[str]


def _window(start: dt.date, end: dt.date) -> ColumnElement[bool]:
    return and_(requests.c.created >= start.isoformat(), requests.c.created < end.isoformat())


_DAY = func.substr(requests.c.created, 1, 10).label("day")


def day_counts(db: Database, start: dt.date, end: dt.date, filters: Filters) -> list[DayCount]:
    """Requests per UTC day, top article, tier and kind, for days in [start, end)."""
    query = (select(_DAY, requests.c.top_article, requests.c.tier, requests.c.kind, func.count().label("n"))
             .where(_window(start, end), *filters.where())
             .group_by(_DAY, requests.c.top_article, requests.c.tier, requests.c.kind))
    return [DayCount(dt.date.fromisoformat(r["day"]), r["top_article"], r["tier"], int(r["n"]), r["kind"])
            for r in db.read(query)]


def first_day(db: Database) -> dt.date | None:
    """The UTC day of the first request on record (the index's first column: one look-up), None before any."""
    rows = db.read(select(func.min(requests.c.created).label("first")))
    first = rows[0]["first"] if rows else None
    return dt.date.fromisoformat(first[:10]) if first else None


def feedback_mix(db: Database, start: dt.date, end: dt.date, filters: Filters) -> dict[str, dict[str, int]]:
    """article id -> action -> requests with that feedback, for requests made in [start, end). A "no good
    answer" without an article counts for the article that was offered first."""
    article = func.coalesce(feedback.c.article_id, requests.c.top_article).label("article")
    query = (select(article, feedback.c.action, func.count(distinct(feedback.c.request_id)).label("n"))
             .select_from(feedback.join(requests, requests.c.request_id == feedback.c.request_id))
             .where(_window(start, end), *filters.where())
             .group_by(article, feedback.c.action))
    out: dict[str, dict[str, int]] = {}
    for r in db.read(query):
        if r["article"] is not None and r["action"] in ACTIONS:
            out.setdefault(r["article"], {})[r["action"]] = int(r["n"])
    return out


def _unanswered(start: dt.date, end: dt.date, filters: Filters) -> Select[tuple[str, str, str, str, str]]:
    flagged = exists().where(feedback.c.request_id == requests.c.request_id, feedback.c.action == "no_good_answer")
    return (select(requests.c.request_id, requests.c.created, requests.c.message, requests.c.channel,
                   requests.c.article_ids)
            .where(_window(start, end), requests.c.message.is_not(None), *filters.where(),
                   or_(requests.c.no_match.is_(True), flagged)))


def unanswered_sample(db: Database, start: dt.date, end: dt.date, filters: Filters, limit: int) -> list[Unanswered]:
    """Up to `limit` unanswered messages of [start, end) whose texts are still kept, a uniform sample: request ids
    are random (uuid4), so the first ones in id order are a random draw from the period."""
    query = _unanswered(start, end, filters).order_by(requests.c.request_id).limit(limit)
    return [Unanswered(r["request_id"], r["created"], r["message"], r["channel"], json.loads(r["article_ids"]))
            for r in db.read(query)]
