"""The inbox tables every process shares (api/sql/schema.py: inbox_messages, inbox_deliveries, inbox_stats).

A delivery is recorded once: its delivery id (or body digest) and its message id are primary keys, so a repeat,
an out-of-order copy or a second process writing the same thing finds the row there and does nothing. The messages
table is also the workers' queue: a row is `pending` until one worker claims it (`working`, with a lease), and a
worker that dies leaves a lease that runs out, so another takes the row over.

    >>> outcome = accept(db, "chatwoot:chat.example.org/1", delivery)  # doctest: +SKIP
    'accepted'
    >>> row = claim(db, ("chatwoot:chat.example.org/1", "4711"), lease=60)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict
from typing import Any, Literal

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.db import Database
from api.inbox.events import Delivery, Draft, Ignored, KindAdvice
from api.sql.schema import inbox_deliveries, inbox_messages, inbox_stats
from kb.masking import mask

Outcome = Literal["accepted", "duplicate", "ignored", "replayed"]
Key = tuple[str, str]  # (connection, message id)
COUNTERS = ("received", "accepted", "duplicates", "ignored", "refused", "notes_posted", "no_match", "notes_failed",
            "feedback")


def now(offset: float = 0.0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).isoformat(timespec="milliseconds")


def _insert_ignore(db: Database, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING (any unique key), in the dialect's own spelling. Whether a row went in is
    told by RETURNING (a row, or none), not by `rowcount`: psycopg reports -1 for an INSERT under SQLAlchemy."""
    insert = postgresql.insert if db.backend == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


def bump(conn: Connection, db: Database, connection: str, counts: dict[str, int] | None = None, *,
         error: str | None = None) -> None:
    """Add `counts` to the connection's counters (made on first use); `error` becomes its last error."""
    counts = counts or {}
    conn.execute(_insert_ignore(db, inbox_stats), {"connection": connection})
    values: dict[str, Any] = {name: getattr(inbox_stats.c, name) + n for name, n in counts.items() if n}
    if error is not None:
        values |= {"last_error": error[:500], "last_error_at": now()}
    if values:
        conn.execute(update(inbox_stats).where(inbox_stats.c.connection == connection).values(values))


def accept(db: Database, connection: str, delivery: Delivery) -> Outcome:
    """Record a proven delivery and, for an event we act on, its message as pending work (see `accept_many`)."""
    return accept_many(db, [(connection, delivery)])[0]


def accept_many(db: Database, deliveries: list[tuple[str, Delivery]]) -> list[Outcome]:
    """Record proven deliveries (connection, delivery) in one transaction, in order; each one's outcome.

    `replayed`: its signature was seen before (same timestamp and body: sent again by someone else);
    `duplicate`: its delivery id, or its message, was seen before; `ignored`: nothing to do for it. One
    transaction for many is what keeps a burst fast on SQLite, where every commit waits for the disk."""
    at = now()
    outcomes: list[Outcome] = []
    with db.writing() as conn:
        # Every transaction here locks its connections' counter rows first, in one order, and only then the rows of
        # deliveries and messages: two services recording overlapping batches on one PostgreSQL (or one recording
        # while a worker finishes a message) wait for each other instead of each holding a row the other needs (a
        # deadlock, which failed one webhook with a 503).
        counts: dict[str, Counter[str]] = {c: Counter() for c in sorted({c for c, _ in deliveries})}
        for connection in counts:
            bump(conn, db, connection)
            conn.execute(update(inbox_stats).where(inbox_stats.c.connection == connection)
                         .values(last_delivery=at))
        for connection, delivery in deliveries:
            outcome = _accept(conn, db, connection, delivery, at)
            counts[connection].update(("received", _COUNTER[outcome]))
            outcomes.append(outcome)
        for connection, counted in counts.items():
            bump(conn, db, connection, dict(counted))
    return outcomes


#: The counter each outcome adds to (besides `received`).
_COUNTER: dict[Outcome, str] = {"accepted": "accepted", "duplicate": "duplicates", "ignored": "ignored",
                                "replayed": "refused"}


def _accept(conn: Connection, db: Database, connection: str, delivery: Delivery, at: str) -> Outcome:
    fresh = conn.execute(_insert_ignore(db, inbox_deliveries).returning(inbox_deliveries.c.delivery_id), {
        "connection": connection, "delivery_id": delivery.delivery_id, "signature": delivery.signature,
        "received": at}).first() is not None
    if not fresh:
        seen = delivery.signature is not None and conn.execute(select(inbox_deliveries.c.delivery_id).where(
            inbox_deliveries.c.connection == connection,
            inbox_deliveries.c.signature == delivery.signature)).first() is not None
        return "replayed" if seen else "duplicate"
    event = delivery.event
    if isinstance(event, Ignored):
        return "ignored"
    details = {"customer_name": event.customer_name, "agent_name": event.agent_name, "agent_id": event.agent_id,
               "channel": str(event.channel)}
    new = conn.execute(_insert_ignore(db, inbox_messages).returning(inbox_messages.c.message_id), {
        "connection": connection, "message_id": event.message_id, "conversation_id": event.conversation_id,
        "inbox_id": event.inbox_id, "kind": event.kind, "sent_at": event.sent_at, "created": at,
        "content": mask(event.text), "details": json.dumps(details), "status": "pending", "attempts": 0,
        "next_attempt": at, "updated": at}).first() is not None
    return "accepted" if new else "duplicate"


def refused(db: Database, connection: str, reason: str) -> None:
    """Count a delivery refused for this connection (bad signature, stale, another account, over the rate)."""
    with db.writing() as conn:
        bump(conn, db, connection, {"received": 1, "refused": 1}, error=f"refused: {reason}")


_COLUMNS = tuple(c for c in inbox_messages.c)


def due(db: Database, limit: int = 50) -> list[Key]:
    """Rows a worker may take now: pending and due, or working with a lease that ran out (its worker died)."""
    at = now()
    rows = db.read(select(inbox_messages.c.connection, inbox_messages.c.message_id).where(or_(
        and_(inbox_messages.c.status == "pending", inbox_messages.c.next_attempt <= at),
        and_(inbox_messages.c.status == "working", inbox_messages.c.lease_until < at)))
        .order_by(inbox_messages.c.next_attempt).limit(limit))
    return [(r["connection"], r["message_id"]) for r in rows]


def claim(db: Database, key: Key, *, lease: float) -> dict[str, Any] | None:
    """Take the row for this worker (one attempt more), or None when it is not due or another worker has it."""
    at = now()
    with db.writing() as conn:
        taken = conn.execute(update(inbox_messages).where(
            inbox_messages.c.connection == key[0], inbox_messages.c.message_id == key[1],
            or_(and_(inbox_messages.c.status == "pending", inbox_messages.c.next_attempt <= at),
                and_(inbox_messages.c.status == "working", inbox_messages.c.lease_until < at)))
            .values(status="working", lease_until=now(lease), attempts=inbox_messages.c.attempts + 1, updated=at))
        if not taken.rowcount:
            return None
        row = conn.execute(select(*_COLUMNS).where(inbox_messages.c.connection == key[0],
                                                    inbox_messages.c.message_id == key[1])).mappings().one()
        return dict(row)


def save_drafts(db: Database, key: Key, request_id: str, drafts: list[Draft], kind: KindAdvice | None = None) -> None:
    """Keep the suggestion made for a customer's message, so a retry posts the same note without asking again.

    The drafts are kept as rendered (approved article text, the customer's and agent's names) and removed with
    the message text after KB_RETENTION_DAYS: masking them would change an article's own phone number."""
    with db.writing() as conn:
        conn.execute(update(inbox_messages).where(inbox_messages.c.connection == key[0],
                                                  inbox_messages.c.message_id == key[1])
                     .values(request_id=request_id, updated=now(), drafts=json.dumps(
                         {"drafts": [asdict(d) for d in drafts], "kind": asdict(kind) if kind else None})))


def _kept(row: dict[str, Any]) -> dict[str, Any] | None:
    if row.get("drafts") is None:
        return None
    kept = json.loads(row["drafts"])
    return kept if isinstance(kept, dict) else {"drafts": kept, "kind": None}  # a row kept before kinds


def drafts_of(row: dict[str, Any]) -> list[Draft] | None:
    kept = _kept(row)
    if kept is None:
        return None
    return [Draft(**{**d, "sources": tuple(tuple(s) for s in d["sources"]), "warnings": tuple(d["warnings"])})
            for d in kept["drafts"]]


def kind_of(row: dict[str, Any]) -> KindAdvice | None:
    """The message's kind as it was when its drafts were made (None: no kinds, or not suggested yet)."""
    kept = _kept(row)
    return KindAdvice(**kept["kind"]) if kept and kept.get("kind") else None


def finish(db: Database, key: Key, status: str, *, counters: dict[str, int] | None = None,
           error: str | None = None, **values: Any) -> None:
    """Close a row (posted, no_match, skipped, failed, matched, observed) and count it."""
    with db.writing() as conn:
        # The counter row first, then the message's: the order every writer here locks them in (see accept_many).
        bump(conn, db, key[0], counters, error=error if status == "failed" else None)
        if status == "posted":
            conn.execute(update(inbox_stats).where(inbox_stats.c.connection == key[0]).values(last_note=now()))
        conn.execute(update(inbox_messages).where(inbox_messages.c.connection == key[0],
                                                  inbox_messages.c.message_id == key[1])
                     .values(status=status, lease_until=None, next_attempt=None, error=error, updated=now(),
                             **values))


def later(db: Database, key: Key, seconds: float, reason: str, *, failure: bool = True) -> None:
    """Give the row back, due again in `seconds`: a retry (`failure`: the connection's last error), or a reply
    waiting for its customer's message to get its drafts."""
    with db.writing() as conn:
        if failure:  # the counter row before the message's, as everywhere (see accept_many)
            bump(conn, db, key[0], error=reason)
        conn.execute(update(inbox_messages).where(inbox_messages.c.connection == key[0],
                                                  inbox_messages.c.message_id == key[1])
                     .values(status="pending", lease_until=None, next_attempt=now(seconds), error=reason[:500],
                             updated=now()))


def claim_observed(db: Database, key: Key, *, lease: float) -> bool:
    """Take an agent's reply that is waiting unmatched (`observed`), so that one worker compares it."""
    with db.writing() as conn:
        return bool(conn.execute(update(inbox_messages).where(
            inbox_messages.c.connection == key[0], inbox_messages.c.message_id == key[1],
            inbox_messages.c.status == "observed", inbox_messages.c.reply_to.is_(None))
            .values(status="working", lease_until=now(lease), updated=now())).rowcount)


def conversation_rows(db: Database, connection: str, conversation_id: str) -> list[dict[str, Any]]:
    """Every message of one conversation we know, oldest first (by the inbox's own time)."""
    return db.read(select(*_COLUMNS).where(inbox_messages.c.connection == connection,
                                           inbox_messages.c.conversation_id == conversation_id)
                   .order_by(inbox_messages.c.sent_at, inbox_messages.c.created))


def message_row(db: Database, connection: str, message_id: str) -> dict[str, Any] | None:
    rows = db.read(select(*_COLUMNS).where(inbox_messages.c.connection == connection,
                                           inbox_messages.c.message_id == message_id))
    return rows[0] if rows else None


def stats(db: Database, connection: str) -> dict[str, Any]:
    rows = db.read(select(inbox_stats).where(inbox_stats.c.connection == connection))
    waiting = db.read(select(func.count().label("n")).where(inbox_messages.c.connection == connection,
                                                             inbox_messages.c.status.in_(("pending", "working"))))
    base: dict[str, Any] = rows[0] if rows else {name: 0 for name in COUNTERS}
    return {**base, "waiting": int(waiting[0]["n"])}


def purge_deliveries(db: Database, days: float = 7.0) -> int:
    """Forget deliveries older than `days` (their messages stay): ids a repeat would reuse are long past."""
    with db.writing() as conn:
        return int(conn.execute(delete(inbox_deliveries).where(inbox_deliveries.c.received < now(-days * 86400)))
                   .rowcount)
