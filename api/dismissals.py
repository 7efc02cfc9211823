"""Messages editors dismissed from the gaps page as noise ("lol", "asdfgh", a football score): they no longer show
among the articles to write. One click dismisses a whole group and is one `batch`, so it can be undone as a whole.
SQLAlchemy Core over `api.sql.schema.gap_dismissals`, the same on SQLite and PostgreSQL.

Nothing of the message is copied here: the text stays in `requests` and goes when its retention ends.

    >>> batch = dismiss(db, ["req-1", "req-2"], key_id="ab12cd34")  # doctest: +SKIP
    >>> dismissed(db, ["req-1", "req-3"])  # doctest: +SKIP
    {'req-1'}
    >>> restore(db, batch)  # doctest: +SKIP
    2
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from api.db import Database
from api.sql.schema import gap_dismissals, requests

#: Request ids taken from one dismissal (a group is at most the gaps page's newest 300 flagged messages).
MAX_IDS = 300
_ID_CHARS = 64


@dataclass(frozen=True)
class Batch:
    """One click that dismissed a group: when, how many messages, and one of them to recognise it by (None once
    its text has expired)."""

    batch: str
    created: str
    messages: int
    example: str | None


def clean_ids(raw: Sequence[str]) -> list[str]:
    """Request ids as a form sent them: bounded in number and length, blanks and repeats dropped.

        >>> clean_ids(["a", " a", "", "b" * 100, "c"])
        ['a', 'c']
    """
    out = dict.fromkeys(i.strip() for i in raw if i.strip() and len(i.strip()) <= _ID_CHARS)
    return list(out)[:MAX_IDS]


def dismiss(db: Database, request_ids: Sequence[str], *, key_id: str | None) -> str:
    """Dismiss these requests (those that exist; one dismissed before stays in its own batch); the batch id."""
    batch = uuid.uuid4().hex
    ids = clean_ids(request_ids)
    if not ids:
        return batch
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    known = [r["request_id"] for r in db.read(select(requests.c.request_id).where(requests.c.request_id.in_(ids)))]
    if not known:
        return batch
    insert = (sqlite.insert if db.backend == "sqlite" else postgresql.insert)(gap_dismissals)
    with db.writing() as conn:
        conn.execute(insert.on_conflict_do_nothing(index_elements=["request_id"]),
                     [{"request_id": i, "batch": batch, "key_id": key_id, "created": now} for i in known])
    return batch


def restore(db: Database, batch: str) -> int:
    """Undo one dismissal: its messages show on the gaps page again. How many."""
    with db.writing() as conn:
        return int(conn.execute(delete(gap_dismissals).where(gap_dismissals.c.batch == batch[:_ID_CHARS])).rowcount)


def dismissed(db: Database, request_ids: Sequence[str]) -> set[str]:
    """Which of these requests were dismissed."""
    if not request_ids:
        return set()
    query = select(gap_dismissals.c.request_id).where(gap_dismissals.c.request_id.in_(list(request_ids)))
    return {r["request_id"] for r in db.read(query)}


def recent_batches(db: Database, limit: int = 10) -> list[Batch]:
    """The newest dismissals, newest first, each with how many messages it hid and one of their texts."""
    groups = (select(gap_dismissals.c.batch, func.max(gap_dismissals.c.created).label("created"),
                     func.count().label("n"), func.min(gap_dismissals.c.request_id).label("one"))
              .group_by(gap_dismissals.c.batch).order_by(func.max(gap_dismissals.c.created).desc()).limit(limit))
    rows = db.read(groups)
    texts = {r["request_id"]: r["message"] for r in db.read(
        select(requests.c.request_id, requests.c.message).where(requests.c.request_id.in_([r["one"] for r in rows])))}
    return [Batch(r["batch"], r["created"], int(r["n"]), texts.get(r["one"])) for r in rows]
