"""Learned phrasings in the service's database (`learned_phrasings`, `learned_choices`; api/sql/schema.py): rows to
and from kb.learning's `Phrasing`, the choice each counts per suggestion (`Standing`), and the retention of
unapproved ones.

Writes that learn run one at a time across every process (`learning`): on PostgreSQL under an advisory lock taken
in the transaction, on SQLite under its write lock; inside it a process first reads what others changed (`since`),
so its in-memory book decides on current counts.

    >>> store = PhrasingStore(db, model_id)  # doctest: +SKIP
    >>> with store.learning() as conn:  # doctest: +SKIP
    ...     book.put(store.since(watermark, conn).phrasings)
    ...     store.save(conn, changed)
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Row, Update, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from api.db import Database
from api.sql.schema import feedback, learned_choices, learned_phrasings, requests
from kb.learning import GONE, Phrasing, Standing, Status

_LEARN_LOCK = 0x6B62_0023  # pg_advisory_xact_lock key of the learning writes (api.sql.migrate uses 0x6B62_0001)
#: Statuses an editor has not made their own: their text follows KB_RETENTION_DAYS.
UNAPPROVED = (Status.CANDIDATE, Status.ACTIVE, Status.REJECTED)
_P = learned_phrasings.c
#: How far before its watermark a process reads again (clocks of several hosts, a stamp taken before a commit).
REREAD = dt.timedelta(seconds=10)
_UPSERT_COLUMNS = [c.name for c in learned_phrasings.columns if c.name != "id"]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _row(p: Phrasing, model_id: str, updated: str) -> dict[str, Any]:
    gone = p.status in GONE
    return {"id": p.id, "article_id": p.article_id, "text": None if gone else p.text,
            "vector": None if gone else np.asarray(p.vector, np.float32).tobytes(), "model_id": model_id,
            "language": p.language, "status": str(p.status), "confirmers": json.dumps(p.confirmers, sort_keys=True),
            "rejecters": json.dumps(p.rejecters, sort_keys=True),
            "first_seen": p.first_seen, "last_seen": p.last_seen, "held": p.held, "review": p.review,
            "article_hash": p.article_hash, "decided_by": p.decided_by, "exported": p.exported, "updated": updated}


def _phrasing(row: Row[Any] | dict[str, Any], dim: int) -> Phrasing:
    r = dict(row._mapping) if isinstance(row, Row) else row
    vector = np.frombuffer(r["vector"], dtype=np.float32).copy() if r["vector"] else np.zeros(dim, np.float32)
    return Phrasing(id=r["id"], article_id=r["article_id"], text=r["text"] or "", vector=vector,
                    language=r["language"], status=Status(r["status"]), first_seen=r["first_seen"],
                    last_seen=r["last_seen"], confirmers=Counter(json.loads(r["confirmers"])),
                    rejecters=Counter(json.loads(r["rejecters"])),
                    held=r["held"], review=bool(r["review"]), article_hash=r["article_hash"],
                    decided_by=r["decided_by"], exported=r["exported"])


@dataclass(frozen=True)
class Loaded:
    """Rows read from the database: phrasings, those whose vector is of another model (to embed again), and
    the newest `updated` seen (the next read starts there)."""

    phrasings: list[Phrasing]
    other_model: list[str]
    watermark: str


def expire_statement(cutoff: str, batch: int) -> Update:
    """Remove the text and vector of the `batch` oldest unapproved phrasings first seen before `cutoff` (status
    expired, counts kept): the retention job (api/insights/retention.py) runs it batch by batch."""
    oldest = (select(_P.id).where(_P.text.is_not(None), _P.first_seen < cutoff,
                                  _P.status.in_([str(s) for s in UNAPPROVED]))
              .order_by(_P.first_seen).limit(batch).with_for_update(skip_locked=True))
    return (update(learned_phrasings).where(_P.id.in_(oldest.scalar_subquery()))
            .values(text=None, vector=None, status=str(Status.EXPIRED), held=None, updated=now()))


_SINCE = select(learned_phrasings).where(_P.updated >= bindparam("since")).order_by(_P.updated)
_C = learned_choices.c
_EXAMPLES = (select(_C.phrasing_id, _C.action, _C.created, requests.c.message)
             .select_from(learned_choices.join(requests, requests.c.request_id == _C.request_id))
             .where(_C.phrasing_id.in_(bindparam("ids", expanding=True)), requests.c.message.is_not(None))
             .order_by(_C.created.desc()))
_STANDING = select(_C.phrasing_id, _C.key_id, _C.action, _C.created).where(
    _C.request_id == bindparam("request_id"), _C.article_id == bindparam("article_id"))
_FORGET = delete(learned_choices).where(_C.request_id == bindparam("request_id"),
                                        _C.article_id == bindparam("article_id"))
#: The feedback that stands for a suggestion (one row per request and article: api.db.Database.record_feedback).
_FEEDBACK = select(feedback.c.action, feedback.c.key_id).where(
    feedback.c.request_id == bindparam("request_id"), feedback.c.article_id == bindparam("article_id"))


class PhrasingStore:
    """The two tables of learned phrasings, for one embedding model."""

    def __init__(self, db: Database, model_id: str, dim: int) -> None:
        self.db, self.model_id, self.dim = db, model_id, dim

    @contextmanager
    def learning(self) -> Iterator[Connection]:
        """One learning write transaction at a time across processes (see the module docstring)."""
        with self.db.writing() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LEARN_LOCK})
            yield conn

    def since(self, watermark: str, conn: Connection | None = None) -> Loaded:
        """Phrasings changed at or after `watermark` ('' for all), less `REREAD`: a row stamped a moment before
        another process's newest one may commit after it, and reading a row again changes nothing."""
        given = watermark
        if watermark:
            watermark = (dt.datetime.fromisoformat(watermark) - REREAD).isoformat(timespec="microseconds")
        query, params = _SINCE, {"since": watermark}
        rows = (conn.execute(query, params).mappings().all() if conn is not None else self.db.read(query, **params))
        phrasings = [_phrasing(dict(r), self.dim) for r in rows]
        other = [dict(r)["id"] for r in rows if dict(r)["model_id"] != self.model_id and dict(r)["text"]]
        newest = max((dict(r)["updated"] for r in rows), default=given)
        return Loaded(phrasings, other, newest)

    def save(self, conn: Connection, phrasings: Iterable[Phrasing], *, stamp: str | None = None) -> None:
        rows = [_row(p, self.model_id, stamp or now()) for p in {p.id: p for p in phrasings}.values()]
        if not rows:
            return
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(learned_phrasings)
        statement = statement.on_conflict_do_update(index_elements=["id"],
                                                    set_={c: statement.excluded[c] for c in _UPSERT_COLUMNS})
        conn.execute(statement, rows)

    @staticmethod
    def feedback(conn: Connection, request_id: str, article_id: str) -> tuple[str, str | None] | None:
        """(action, key id) of the agent's choice that stands for a suggestion, read in the learning transaction
        (so the last of two quick clicks is what is counted, whichever process counts first); None if none."""
        row = conn.execute(_FEEDBACK, {"request_id": request_id, "article_id": article_id}).first()
        return None if row is None else (str(row.action), row.key_id)

    @staticmethod
    def standing(conn: Connection, request_id: str, article_id: str) -> Standing | None:
        """What a phrasing counts for a suggestion, if anything."""
        row = conn.execute(_STANDING, {"request_id": request_id, "article_id": article_id}).first()
        return None if row is None else Standing(row.phrasing_id, row.key_id, row.action, row.created)

    @staticmethod
    def put_standing(conn: Connection, request_id: str, article_id: str, standing: Standing | None) -> None:
        """Store what is counted for a suggestion now (None: nothing, the row goes)."""
        key = {"request_id": request_id, "article_id": article_id}
        conn.execute(_FORGET, key)
        if standing is not None:
            conn.execute(learned_choices.insert(), {**key, "phrasing_id": standing.phrasing_id,
                                                    "key_id": standing.agent, "action": standing.action,
                                                    "created": standing.at})

    def approved(self) -> list[Phrasing]:
        """Phrasings an editor approved that still have a text (what `kb learned export` writes)."""
        rows = self.db.read(select(learned_phrasings).where(_P.status == str(Status.APPROVED), _P.text.is_not(None))
                            .order_by(_P.article_id, _P.first_seen))
        return [_phrasing(r, self.dim) for r in rows]

    def mark_exported(self, ids: list[str], stamp: str | None = None) -> None:
        """Written into their articles' front matter: merged once a re-index serves that (api.learned.service)."""
        stamp = stamp or now()
        with self.learning() as conn:
            for start in range(0, len(ids), 500):
                conn.execute(update(learned_phrasings).where(_P.id.in_(ids[start:start + 500]))
                             .values(exported=stamp, updated=stamp))

    def examples(self, ids: list[str], per_phrasing: int = 3) -> dict[str, list[dict[str, Any]]]:
        """The newest masked messages each phrasing counts a choice for (while their texts are kept), `per_phrasing`
        each."""
        out: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            for r in self.db.read(_EXAMPLES, ids=ids[start:start + 500]):
                found = out.setdefault(r["phrasing_id"], [])
                if len(found) < per_phrasing and all(e["message"] != r["message"] for e in found):
                    found.append(r)
        return out

    def kept_texts(self, statuses: Iterable[Status]) -> int:
        """Phrasings of `statuses` that still have a text (for tests and the retention summary)."""
        rows = self.db.read(select(func.count().label("n")).where(and_(
            _P.text.is_not(None), or_(*(_P.status == str(s) for s in statuses)))))
        return int(rows[0]["n"])
