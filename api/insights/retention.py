"""Personal data kept only as long as needed: after `KB_RETENTION_DAYS` a request's message text, a feedback's
final reply text, and an inbox message's text, names and drafts (api/inbox) are removed (set to NULL); what the
insights count stays (time, channel, language, articles offered, top article, tier, no-match, feedback action). So
are the text and vector of a learned phrasing no editor approved (api/learned/): its status becomes `expired`, its
counts stay; an approved one is editor content.

The job works in batches of `BATCH` rows, oldest first, each batch its own short transaction: writers (new
suggestions and feedback) go on between batches and never wait for the whole run. On PostgreSQL a batch skips
rows another process is emptying (`FOR UPDATE SKIP LOCKED`), so several services can run it at once. The partial
indexes `ix_requests_text_kept`, `ix_feedback_text_kept` and `ix_inbox_messages_text_kept` hold only rows that
still have a text, so finding the next batch does not re-read the rows already emptied.

Runs in the service (`api.insights.background`, hourly) and on demand:

    $ kb retention run            # KB_RETENTION_DAYS (default 90)
    $ kb retention run --days 30

    >>> result = remove_expired_texts(db, days=90)  # doctest: +SKIP
    >>> result.requests, result.feedback, result.inbox, result.batches  # doctest: +SKIP
    (12000, 3100, 800, 18)
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, Update, select, tuple_, update

from api.db import Database
from api.learned.store import expire_statement
from api.sql.schema import feedback, inbox_messages, requests

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
    inbox: int = 0  # inbox messages' texts, names and drafts removed
    phrasings: int = 0  # unapproved learned phrasings whose text was removed

    def __str__(self) -> str:
        return (f"removed {self.requests} message texts, {self.feedback} reply texts and {self.phrasings} "
                f"unapproved learned phrasings (and of {self.inbox} inbox messages their text, names and drafts) "
                f"from before {self.cutoff} in {self.batches} batches "
                f"({self.seconds:.1f} s)")


#: (name, table, its key, the text columns emptied; the first says whether a row still has them)
TEXTS: tuple[tuple[str, Table, tuple[Column[Any], ...], tuple[Column[Any], ...]], ...] = (
    ("requests", requests, (requests.c.request_id,), (requests.c.message,)),
    ("feedback", feedback, (feedback.c.id,), (feedback.c.final_text,)),
    ("inbox", inbox_messages, (inbox_messages.c.connection, inbox_messages.c.message_id),
     (inbox_messages.c.details, inbox_messages.c.content, inbox_messages.c.drafts)),
)


def _statement(table: Table, keys: tuple[Column[Any], ...], texts: tuple[Column[Any], ...], cutoff: str,
               size: int) -> Update:
    """Empty the texts of the `size` oldest rows before `cutoff` that still have them."""
    oldest = (select(*keys).where(texts[0].is_not(None), table.c.created < cutoff).order_by(table.c.created)
              .limit(size).with_for_update(skip_locked=True))
    chosen = keys[0].in_(oldest.scalar_subquery()) if len(keys) == 1 else tuple_(*keys).in_(oldest)
    return update(table).where(chosen).values({text.name: None for text in texts})


def remove_expired_texts(db: Database, days: int, *, now: dt.datetime | None = None, batch: int = BATCH,
                         pause: float = PAUSE, stop: threading.Event | None = None,
                         on_batch: Callable[[str, int], None] | None = None) -> RetentionResult:
    """Remove message and reply texts older than `days` days, `batch` rows per transaction, `pause` seconds
    between batches; returns early (with what it did) when `stop` is set. `on_batch(table, rows)` is called
    after each committed batch."""
    started = time.perf_counter()
    cutoff = ((now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)).isoformat(timespec="seconds")
    removed = {"requests": 0, "feedback": 0, "inbox": 0, "learned_phrasings": 0}
    batches = 0
    statements: dict[str, Callable[[], Update]] = {
        name: functools.partial(_statement, table, keys, texts, cutoff, batch) for name, table, keys, texts in TEXTS}
    # A phrasing's statement stamps `updated` (other processes read what changed by it): made per batch.
    statements["learned_phrasings"] = functools.partial(expire_statement, cutoff, batch)
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
                           round(time.perf_counter() - started, 3), removed["inbox"], removed["learned_phrasings"])
