"""Personal data kept only as long as needed: after `KB_RETENTION_DAYS` a request's message text and a feedback's
final reply text are removed (set to NULL); what the insights count stays (time, channel, language, articles
offered, top article, tier, no-match, feedback action). So are the text and vector of a learned phrasing no editor
approved (api/learned/): its status becomes `expired`, its counts stay; an approved one is editor content.

The job works in batches of `BATCH` rows, oldest first, each batch its own short transaction: writers (new
suggestions and feedback) go on between batches and never wait for the whole run. On PostgreSQL a batch skips
rows another process is emptying (`FOR UPDATE SKIP LOCKED`), so several services can run it at once. The partial
indexes `ix_requests_text_kept` and `ix_feedback_text_kept` hold only rows that still have a text, so finding the
next batch does not re-read the rows already emptied.

Runs in the service (`api.insights.background`, hourly) and on demand:

    $ kb retention run            # KB_RETENTION_DAYS (default 90)
    $ kb retention run --days 30

    >>> result = remove_expired_texts(db, days=90)  # doctest: +SKIP
    >>> result.requests, result.feedback, result.batches  # doctest: +SKIP
    (12000, 3100, 17)
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, Update, select, update

from api.db import Database
from api.learned.store import expire_statement
from api.sql.schema import feedback, requests

#: Rows per transaction: a batch takes milliseconds, so a writer waits at most that long behind it.
BATCH = 1000
#: Seconds between batches, so writers waiting for the database go first (a lock is not a queue).
PAUSE = 0.005


@dataclass(frozen=True)
class RetentionResult:
    cutoff: str  # texts older than this were removed
    requests: int  # message texts removed
    feedback: int  # final reply texts removed
    batches: int
    seconds: float
    phrasings: int = 0  # unapproved learned phrasings whose text was removed

    def __str__(self) -> str:
        return (f"removed {self.requests} message texts, {self.feedback} reply texts and {self.phrasings} "
                f"unapproved learned phrasings from before {self.cutoff} in {self.batches} batches "
                f"({self.seconds:.1f} s)")


def _statement(table: Table, key: Column[Any], text: Column[Any], cutoff: str, size: int) -> Update:
    """Empty the texts of the `size` oldest rows before `cutoff` that still have one."""
    oldest = (select(key).where(text.is_not(None), table.c.created < cutoff).order_by(table.c.created).limit(size)
              .with_for_update(skip_locked=True))
    return update(table).where(key.in_(oldest.scalar_subquery())).values({text.name: None})


def remove_expired_texts(db: Database, days: int, *, now: dt.datetime | None = None, batch: int = BATCH,
                         pause: float = PAUSE, stop: threading.Event | None = None,
                         on_batch: Callable[[str, int], None] | None = None) -> RetentionResult:
    """Remove message and reply texts older than `days` days, `batch` rows per transaction, `pause` seconds
    between batches; returns early (with what it did) when `stop` is set. `on_batch(table, rows)` is called
    after each committed batch."""
    started = time.perf_counter()
    cutoff = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    removed = {"requests": 0, "feedback": 0, "learned_phrasings": 0}
    batches = 0
    texts = _statement(requests, requests.c.request_id, requests.c.message, cutoff, batch)
    replies = _statement(feedback, feedback.c.id, feedback.c.final_text, cutoff, batch)
    # A phrasing's statement stamps `updated` (other processes read what changed by it): made per batch.
    statements: dict[str, Callable[[], Update]] = {"requests": lambda: texts, "feedback": lambda: replies,
                                                   "learned_phrasings": lambda: expire_statement(cutoff, batch)}
    for name, made in statements.items():
        while stop is None or not stop.is_set():
            with db.writing() as conn:
                done = conn.execute(made()).rowcount
            batches += 1
            removed[name] += done
            if on_batch is not None:
                on_batch(name, done)
            if done < batch:
                break
            time.sleep(pause)
    return RetentionResult(cutoff, removed["requests"], removed["feedback"], batches,
                           round(time.perf_counter() - started, 3), removed["learned_phrasings"])
