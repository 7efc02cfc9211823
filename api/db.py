"""The service's own state: API keys, issued requests, feedback and ended page sessions, in SQLite or PostgreSQL.

One class over one SQLAlchemy engine: the queries are built from the tables in `api.sql.schema`, so the same code
runs on both backends (tests/reliability/test_db_contract.py runs its tests against each). `open_database` brings
the schema to the newest migration first (`api.sql.migrate`), and is called where the service starts: the app
factory's lifespan (`kb serve`) and `kb keys`.

- SQLite (the default): `KB_DATA_DIR/kennisbank.sqlite`, mode 0600, WAL with `synchronous=FULL`.
- PostgreSQL (`KB_DATABASE_URL`): shared by several API processes, at most `KB_DATABASE_POOL_SIZE` connections each.

Every method that writes returns only after its transaction has committed, so a write the client saw succeed
survives a crash of the process or the machine; a database that cannot be reached raises `DatabaseUnavailable`.

    >>> db = open_database(Settings(data_dir=Path(".kb")))  # doctest: +SKIP
    >>> key, record = db.add_key("agent", name="Anna")  # doctest: +SKIP
    >>> db.check_key(key).role  # doctest: +SKIP
    'agent'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Executable, bindparam, delete, insert, literal, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite

from api.sql import migrate
from api.sql.engine import WRITE, DatabaseUnavailable, describe, direct_engine, pooled_engine, unavailable
from api.sql.schema import FEEDBACK_CHOICE, api_keys, ended_sessions, feedback, requests
from kb.config import Settings
from kb.kind_replies import NOT_A_GAP
from kb.masking import mask, mask_optional

__all__ = ["FEEDBACK_SOURCES", "GRANTS", "INSIGHTS", "KEY_PREFIX", "ROLES", "ApiKey", "Database",
           "DatabaseUnavailable", "needs", "open_database"]

ROLES = ("agent", "editor", "qa", "admin")
#: A right that is not a role of its own: the insights are for editors and QA leads alike.
INSIGHTS = "insights"
#: What each role may do: editors and QA leads are agents too and see the insights; admins may do everything.
GRANTS: dict[str, frozenset[str]] = {
    "agent": frozenset({"agent"}),
    "editor": frozenset({"agent", "editor", INSIGHTS}),
    "qa": frozenset({"agent", "qa", INSIGHTS}),
    "admin": frozenset({*ROLES, INSIGHTS}),
}


def needs(right: str) -> str:
    """How a refusal names what was missing: `the editor role`, or for a right several roles share,
    `the insights right (roles editor, qa, admin)`.

        >>> needs("insights")
        'the insights right (roles editor, qa, admin)'
    """
    if right in ROLES:
        return f"the {right} role"
    return f"the {right} right (roles {', '.join(r for r in ROLES if right in GRANTS[r])})"


KEY_PREFIX = "kb_"
#: Where feedback comes from (`feedback.source`): the agent page, the HTTP API, an inbox integration.
FEEDBACK_SOURCES = ("page", "api", "chatwoot")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created: str
    revoked: str | None = None

    def may(self, role: str) -> bool:
        return role in GRANTS.get(self.role, frozenset())


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# The statements, built once: building a query costs more than running it on SQLite (0.17 vs 0.12 ms per call),
# and SQLAlchemy caches each one's compiled SQL per engine. Values come in as bound parameters.
_KEY = (api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.created, api_keys.c.revoked)
_KEY_BY_ID = select(*_KEY).where(api_keys.c.id == bindparam("key_id"))
_SECRET_BY_ID = select(*_KEY, api_keys.c.salt, api_keys.c.hash).where(api_keys.c.id == bindparam("key_id"))
_KEYS = select(*_KEY).order_by(api_keys.c.created, api_keys.c.id)
_REVOKE = (update(api_keys).where(api_keys.c.id == bindparam("key_id"), api_keys.c.revoked.is_(None))
           .values(revoked=bindparam("now")))
_PING = select(literal(1).label("ok"))
_SESSION_ENDED = select(literal(1).label("ended")).where(ended_sessions.c.nonce == bindparam("nonce"))
_FORGET_EXPIRED = delete(ended_sessions).where(ended_sessions.c.expires < bindparam("now"))
# "Insert unless the key is there": each dialect spells it with its own insert(), the same way.
_END_SESSION = {"postgresql": postgresql.insert(ended_sessions).on_conflict_do_nothing(index_elements=["nonce"]),
                "sqlite": sqlite.insert(ended_sessions).on_conflict_do_nothing(index_elements=["nonce"])}
_OFFERED = select(requests.c.article_ids).where(requests.c.request_id == bindparam("request_id"))
# One row per choice (api/sql/schema.py, FEEDBACK_CHOICE): insert, or overwrite the choice that stood, in one
# statement, so two processes writing the same suggestion at once leave the newer choice and never a duplicate.
_CHOICE_COLUMNS = ("action", "final_text", "key_id", "created", "source", "edit_distance")
_RECORD_FEEDBACK = {
    name: dialect.insert(feedback).on_conflict_do_update(
        index_elements=list(FEEDBACK_CHOICE),
        set_={c: getattr(dialect.insert(feedback).excluded, c) for c in _CHOICE_COLUMNS}).returning(feedback.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_WITHDRAW_FEEDBACK = (delete(feedback).where(feedback.c.request_id == bindparam("request_id"),
                                             FEEDBACK_CHOICE[1] == bindparam("article_key"))
                      .returning(feedback.c.id))
_FEEDBACK = (select(feedback.c.id, feedback.c.request_id, feedback.c.article_id, feedback.c.action,
                    feedback.c.final_text, feedback.c.created, feedback.c.source, feedback.c.edit_distance,
                    requests.c.message)
             .select_from(feedback.outerjoin(requests, requests.c.request_id == feedback.c.request_id))
             .order_by(feedback.c.id.desc()).limit(bindparam("limit")))
_NO_GOOD_ANSWERS = (select(feedback.c.id, feedback.c.request_id, feedback.c.created, requests.c.message,
                           requests.c.channel, requests.c.article_ids)
                    .select_from(feedback.join(requests, requests.c.request_id == feedback.c.request_id))
                    .where(feedback.c.action == "no_good_answer")
                    .order_by(feedback.c.id.desc()).limit(bindparam("limit")))
# Replies agents really sent (a suggestion used as it was, or edited): for the agent-consistency evaluation.
_SENT_REPLIES = (select(feedback.c.id, feedback.c.final_text, feedback.c.created, feedback.c.key_id,
                        requests.c.message, requests.c.channel, api_keys.c.name.label("agent"))
                 .select_from(feedback.join(requests, requests.c.request_id == feedback.c.request_id)
                              .outerjoin(api_keys, api_keys.c.id == feedback.c.key_id))
                 .where(feedback.c.action.in_(("used", "edited")), feedback.c.final_text.is_not(None),
                        feedback.c.created >= bindparam("start"), feedback.c.created < bindparam("end"))
                 .order_by(feedback.c.id).limit(bindparam("limit")))


class Database:
    """Keys, requests, feedback and ended sessions (`open_database` makes one). A method that writes returns
    only after the write is committed."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine, self.where = engine, where
        self.backend = engine.dialect.name  # "sqlite" or "postgresql"
        # A PostgreSQL read is one statement: run outside a transaction, it saves a BEGIN and a ROLLBACK round trip.
        # (SQLite's transactions are in-process and cost nothing; its driver must keep the settings engine.py gave.)
        self._reader = engine
        if self.backend == "postgresql":
            self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        # SQLite takes one writer at a time: this process's writers queue here rather than on the busy timeout.
        self._one_writer = threading.Lock() if self.backend == "sqlite" else nullcontext()

    def close(self) -> None:
        self.engine.dispose()

    def _rows(self, query: Executable, **params: Any) -> list[dict[str, Any]]:
        with unavailable(self.where), self._reader.connect() as conn:
            result = conn.execute(query, params)
            keys = list(result.keys())  # once: a row's own keys() costs more than the row (20,000 of them a page)
            return [dict(zip(keys, row, strict=True)) for row in result]

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, committed before the block's caller goes on."""
        with (self._one_writer, unavailable(self.where),
              self.engine.connect().execution_options(**WRITE) as conn, conn.begin()):
            yield conn

    # For the modules that own other queries over these tables (api/insights): the same reads and writes.
    read = _rows
    writing = _writing

    # --- keys ----------------------------------------------------------------------------------------------

    def add_key(self, role: str, *, name: str = "", secret: str | None = None) -> tuple[str, ApiKey]:
        """Create a key; the returned string is the only time the secret is seen."""
        if role not in ROLES:
            raise ValueError(f"role: unknown '{role}'; use one of: {', '.join(ROLES)}")
        key_id, salt = secrets.token_hex(4), secrets.token_hex(8)
        secret = secret or secrets.token_urlsafe(24)
        record = ApiKey(key_id, name or role, role, _now())
        with self._writing() as conn:
            conn.execute(insert(api_keys), {"id": key_id, "name": record.name, "role": role, "salt": salt,
                                            "hash": _hash(salt, secret), "created": record.created})
        return f"{KEY_PREFIX}{key_id}_{secret}", record

    def check_key(self, presented: str) -> ApiKey | None:
        """The key's record when `presented` is a valid, unrevoked key (constant-time comparison)."""
        if not presented.startswith(KEY_PREFIX) or presented.count("_") < 2:
            return None
        key_id, secret = presented[len(KEY_PREFIX):].split("_", 1)
        rows = self._rows(_SECRET_BY_ID, key_id=key_id)
        if not rows:
            hmac.compare_digest(_hash("x", secret), "0" * 64)  # same work whether or not the id exists
            return None
        row = rows[0]
        if not hmac.compare_digest(_hash(row.pop("salt"), secret), row.pop("hash")) or row["revoked"] is not None:
            return None
        return ApiKey(**row)

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key's record by id, revoked or not (page sessions carry the id, never the secret)."""
        rows = self._rows(_KEY_BY_ID, key_id=key_id)
        return ApiKey(**rows[0]) if rows else None

    def list_keys(self) -> list[ApiKey]:
        return [ApiKey(**r) for r in self._rows(_KEYS)]

    def revoke_key(self, key_id: str) -> bool:
        with self._writing() as conn:
            done = conn.execute(_REVOKE, {"key_id": key_id, "now": _now()})
        return done.rowcount == 1

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers (readiness)."""
        self._rows(_PING)

    # --- page sessions ---------------------------------------------------------------------------------------

    def end_session(self, nonce: str, expires: int) -> None:
        """Remember a logged-out session until it would have expired anyway (its cookie may have been copied)."""
        with self._writing() as conn:
            conn.execute(_FORGET_EXPIRED, {"now": int(dt.datetime.now(dt.UTC).timestamp())})
            conn.execute(_END_SESSION[self.backend], {"nonce": nonce, "expires": expires})

    def session_ended(self, nonce: str) -> bool:
        return bool(self._rows(_SESSION_ENDED, nonce=nonce))

    # --- requests and feedback -----------------------------------------------------------------------------

    def record_request(self, request_id: str, key_id: str | None, message: str, channel: str,
                       article_ids: list[str], *, language: str | None = None, tier: str | None = None,
                       kind: str | None = None) -> None:
        """Store one answered message, masked (e-mail addresses, phone numbers, IBANs), with what the insights
        count: its language, the top article and its tier, and its kind. `no_match` when nothing was offered to
        a message that wanted an article; thanks, a story, abuse or spam answered by their kind's reply or
        guideline are not a gap in the knowledge base (tier NULL)."""
        no_match = not article_ids and kind not in NOT_A_GAP
        with self._writing() as conn:
            conn.execute(insert(requests), {"request_id": request_id, "created": _now(), "key_id": key_id,
                                            "message": mask(message), "channel": channel,
                                            "article_ids": json.dumps(article_ids), "language": language,
                                            "top_article": article_ids[0] if article_ids else None,
                                            "tier": "no_match" if no_match else tier if article_ids else None,
                                            "no_match": no_match, "kind": kind})

    def request_articles(self, request_id: str) -> list[str] | None:
        rows = self._rows(_OFFERED, request_id=request_id)
        return None if not rows else list(json.loads(rows[0]["article_ids"]))

    def record_feedback(self, request_id: str, article_id: str | None, action: str, final_text: str | None,
                        key_id: str | None, *, source: str, edit_distance: int | None = None) -> int:
        """Store the agent's choice for one suggestion (`article_id` None: about the request as a whole, e.g.
        no_good_answer), overwriting the choice that stood for it: one row per request and article, the last
        choice wins (action, final text, key, time, source, edit distance). The row's id once committed; the same
        id for every choice about the same suggestion.

            >>> db.record_feedback("r1", "5g-kanker", "used", "Nee, …", key.id, source="page")  # doctest: +SKIP
            7
            >>> db.record_feedback("r1", "5g-kanker", "edited", "Nee hoor, …", key.id, source="page")  # doctest: +SKIP
            7
        """
        if source not in FEEDBACK_SOURCES:
            raise ValueError(f"source: unknown '{source}'; use one of: {', '.join(FEEDBACK_SOURCES)}")
        if edit_distance is not None and edit_distance < 0:
            raise ValueError(f"edit_distance: {edit_distance} is negative")
        with self._writing() as conn:
            done = conn.execute(_RECORD_FEEDBACK[self.backend], {
                "request_id": request_id, "article_id": article_id, "action": action,
                "final_text": mask_optional(final_text), "key_id": key_id, "created": _now(), "source": source,
                "edit_distance": edit_distance})
            return int(done.scalar_one())

    def withdraw_feedback(self, request_id: str, article_id: str | None) -> bool:
        """Take back the choice that stands for one suggestion (the agent clicked it again); False when there
        was none."""
        with self._writing() as conn:
            done = conn.execute(_WITHDRAW_FEEDBACK, {"request_id": request_id, "article_key": article_id or ""})
            return done.first() is not None

    def feedback(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._rows(_FEEDBACK, limit=limit)

    def sent_replies(self, start: str, end: str, limit: int = 5001) -> list[dict[str, Any]]:
        """Replies agents sent (feedback `used` or `edited` with its `final_text`) from `start` up to `end` (ISO
        dates or times, UTC; `end` not included), oldest first, with the message, channel and the key's name.

            >>> db.sent_replies("2026-11-01", "2026-12-01")[0]["agent"]  # doctest: +SKIP
            'Anna'
        """
        return self._rows(_SENT_REPLIES, start=start, end=end, limit=limit)

    def no_good_answers(self, limit: int = 300) -> list[dict[str, Any]]:
        """Newest feedback marked no_good_answer, with the message, channel and articles that were offered."""
        return self._rows(_NO_GOOD_ANSWERS, limit=limit)


def open_database(settings: Settings) -> Database:
    """The database the settings choose (PostgreSQL when `database_url` is set, else SQLite in the data dir),
    migrated to the newest schema.

        >>> from pathlib import Path
        >>> db = open_database(Settings(data_dir=Path("/tmp/kb-demo")))
        >>> db.backend
        'sqlite'
        >>> db.close()
    """
    where = describe(settings)
    migrator = direct_engine(settings)
    try:
        with unavailable(where):
            migrate.upgrade(migrator, where)
    except sa_exc.DBAPIError as e:  # reachable but refused: no right to create tables, not a database file
        raise DatabaseUnavailable(f"database: cannot prepare {where}: {e.orig}".strip()) from e
    finally:
        migrator.dispose()
    return Database(pooled_engine(settings), where)
