"""The service's own state: API keys, issued requests and feedback. One interface, two backends.

`Database` holds the logic and the SQL (written once, with `?` placeholders); a backend only says how a
statement reaches its database:

- `SqliteDatabase`: a file under the data directory (the embedded default). WAL mode with `synchronous=FULL`
  and a commit before every acknowledgement: a write the client saw succeed survives a crash of the process
  or the machine.
- `PostgresDatabase` (api/db_postgres.py): shared by several API processes, chosen with `KB_DATABASE_URL`.
  Every write is committed before the method returns, so the same promise holds.

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
import os
import secrets
import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.config import Settings
from kb.errors import StoreUnavailable

ROLES = ("agent", "editor", "qa", "admin")
#: What each role may do: editors and QA leads are agents too; admins may do everything.
GRANTS: dict[str, frozenset[str]] = {
    "agent": frozenset({"agent"}),
    "editor": frozenset({"agent", "editor"}),
    "qa": frozenset({"agent", "qa"}),
    "admin": frozenset(ROLES),
}
KEY_PREFIX = "kb_"
SQLITE_FILE = "kennisbank.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, salt TEXT NOT NULL,
    hash TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT);
CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, created TEXT NOT NULL, key_id TEXT,
    message TEXT NOT NULL, channel TEXT NOT NULL, article_ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
    article_id TEXT, action TEXT NOT NULL, final_text TEXT, key_id TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ended_sessions (nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);
"""


class DatabaseUnavailable(StoreUnavailable):
    """The shared database cannot be reached or refused a statement (answered 503 with Retry-After)."""

    code = "database_unavailable"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created: str
    revoked: str | None = None

    def may(self, role: str) -> bool:
        return role in GRANTS.get(self.role, frozenset())


@dataclass(frozen=True)
class Written:
    """What a committed write reports: rows changed and the rows of a RETURNING clause."""

    rowcount: int
    returned: list[tuple[Any, ...]] = field(default_factory=list)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _storable(params: tuple[Any, ...]) -> tuple[Any, ...]:
    """Text as both backends can hold it: NUL (PostgreSQL refuses it, SQLite cuts at it) and lone surrogates
    (not UTF-8 at all; JSON can carry them) become U+FFFD. Anything else is stored as given."""
    return tuple(_text(p) if isinstance(p, str) else p for p in params)


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value.replace("\x00", "\ufffd")


class Database(ABC):
    """The contract both backends keep (tests/reliability/test_db_contract.py runs it against each).
    A method that writes returns only after the write is committed."""

    backend: str

    @abstractmethod
    def _read(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Run a read; rows as dicts keyed by column name."""

    @abstractmethod
    def _commit(self, sql: str, params: tuple[Any, ...]) -> Written:
        """Run one write and commit it before returning."""

    @abstractmethod
    def close(self) -> None: ...

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self._read(sql, _storable(params))

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> Written:
        return self._commit(sql, _storable(params))

    # --- keys ----------------------------------------------------------------------------------------------

    def add_key(self, role: str, *, name: str = "", secret: str | None = None) -> tuple[str, ApiKey]:
        """Create a key; the returned string is the only time the secret is seen."""
        if role not in ROLES:
            raise ValueError(f"role: unknown '{role}'; use one of: {', '.join(ROLES)}")
        key_id, salt = secrets.token_hex(4), secrets.token_hex(8)
        secret = secret or secrets.token_urlsafe(24)
        record = ApiKey(key_id, name or role, role, _now())
        self._write("INSERT INTO api_keys (id, name, role, salt, hash, created, revoked) "
                    "VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (key_id, record.name, role, salt, _hash(salt, secret), record.created))
        return f"{KEY_PREFIX}{key_id}_{secret}", record

    def check_key(self, presented: str) -> ApiKey | None:
        """The key's record when `presented` is a valid, unrevoked key (constant-time comparison)."""
        if not presented.startswith(KEY_PREFIX) or presented.count("_") < 2:
            return None
        key_id, secret = presented[len(KEY_PREFIX):].split("_", 1)
        rows = self._rows("SELECT id, name, role, salt, hash, created, revoked FROM api_keys WHERE id=?", (key_id,))
        if not rows:
            hmac.compare_digest(_hash("x", secret), "0" * 64)  # same work whether or not the id exists
            return None
        row = rows[0]
        if not hmac.compare_digest(_hash(row["salt"], secret), row["hash"]) or row["revoked"] is not None:
            return None
        return ApiKey(row["id"], row["name"], row["role"], row["created"], row["revoked"])

    def get_key(self, key_id: str) -> ApiKey | None:
        """The key's record by id, revoked or not (page sessions carry the id, never the secret)."""
        rows = self._rows("SELECT id, name, role, created, revoked FROM api_keys WHERE id=?", (key_id,))
        return ApiKey(**rows[0]) if rows else None

    def list_keys(self) -> list[ApiKey]:
        rows = self._rows("SELECT id, name, role, created, revoked FROM api_keys ORDER BY created, id")
        return [ApiKey(**r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        done = self._write("UPDATE api_keys SET revoked=? WHERE id=? AND revoked IS NULL", (_now(), key_id))
        return done.rowcount == 1

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers (readiness)."""
        self._rows("SELECT 1 AS ok")

    # --- page sessions ---------------------------------------------------------------------------------------

    def end_session(self, nonce: str, expires: int) -> None:
        """Remember a logged-out session until it would have expired anyway (its cookie may have been copied)."""
        self._write("DELETE FROM ended_sessions WHERE expires < ?", (int(dt.datetime.now(dt.UTC).timestamp()),))
        self._write("INSERT INTO ended_sessions (nonce, expires) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
                    (nonce, expires))

    def session_ended(self, nonce: str) -> bool:
        return bool(self._rows("SELECT 1 AS ended FROM ended_sessions WHERE nonce=?", (nonce,)))

    # --- requests and feedback -----------------------------------------------------------------------------

    def record_request(self, request_id: str, key_id: str | None, message: str, channel: str,
                       article_ids: list[str]) -> None:
        self._write("INSERT INTO requests (request_id, created, key_id, message, channel, article_ids) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (request_id, _now(), key_id, message, channel, json.dumps(article_ids)))

    def request_articles(self, request_id: str) -> list[str] | None:
        rows = self._rows("SELECT article_ids FROM requests WHERE request_id=?", (request_id,))
        return None if not rows else list(json.loads(rows[0]["article_ids"]))

    def add_feedback(self, request_id: str, article_id: str | None, action: str, final_text: str | None,
                     key_id: str | None) -> int:
        """Store one feedback; its id once committed."""
        done = self._write("INSERT INTO feedback (request_id, article_id, action, final_text, key_id, created) "
                           "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                           (request_id, article_id, action, final_text, key_id, _now()))
        return int(done.returned[0][0])

    def feedback(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._rows("SELECT f.id, f.request_id, f.article_id, f.action, f.final_text, f.created, "
                          "r.message FROM feedback f LEFT JOIN requests r USING (request_id) "
                          "ORDER BY f.id DESC LIMIT ?", (limit,))

    def no_good_answers(self, limit: int = 300) -> list[dict[str, Any]]:
        """Newest feedback marked no_good_answer, with the message, channel and articles that were offered."""
        return self._rows("SELECT f.id, f.request_id, f.created, r.message, r.channel, r.article_ids "
                          "FROM feedback f JOIN requests r ON r.request_id = f.request_id "
                          "WHERE f.action = ? ORDER BY f.id DESC LIMIT ?", ("no_good_answer", limit))


class SqliteDatabase(Database):
    """The embedded backend: one SQLite file, one connection shared by the process's threads under a lock."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Customer messages and key hashes: created readable by the owner only (SQLite gives its -wal and -shm
        # files the database file's mode).
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, params)
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _commit(self, sql: str, params: tuple[Any, ...]) -> Written:
        with self._lock:
            cur = self._db.execute(sql, params)  # autocommit: durable once the statement is done
            returned = cur.fetchall() if cur.description else []
            return Written(cur.rowcount, returned)


def open_database(settings: Settings) -> Database:
    """The backend the settings choose: PostgreSQL when `database_url` is set, else SQLite in the data dir.

        >>> open_database(Settings(data_dir=Path("/tmp/kb-demo"))).backend
        'sqlite'
    """
    if settings.database_url is None:
        return SqliteDatabase(settings.data_dir / SQLITE_FILE)
    # Imported here so the embedded default never loads the PostgreSQL driver (and db_postgres imports this).
    from api.db_postgres import PostgresDatabase

    return PostgresDatabase(settings.database_url.get_secret_value(), pool_size=settings.database_pool_size)
