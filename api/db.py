"""The service's own state in SQLite under the data directory: API keys, issued requests and feedback.

WAL mode with `synchronous=FULL` and a commit before every acknowledgement: a write the client saw succeed
survives a crash of the process or the machine.

    >>> db = Database(Path(".kb/kennisbank.sqlite"))  # doctest: +SKIP
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
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("agent", "editor", "qa", "admin")
#: What each role may do: editors and QA leads are agents too; admins may do everything.
GRANTS: dict[str, frozenset[str]] = {
    "agent": frozenset({"agent"}),
    "editor": frozenset({"agent", "editor"}),
    "qa": frozenset({"agent", "qa"}),
    "admin": frozenset(ROLES),
}
KEY_PREFIX = "kb_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, salt TEXT NOT NULL,
    hash TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT);
CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, created TEXT NOT NULL, key_id TEXT,
    message TEXT NOT NULL, channel TEXT NOT NULL, article_ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL,
    article_id TEXT, action TEXT NOT NULL, final_text TEXT, key_id TEXT, created TEXT NOT NULL);
"""


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


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            cur = self._db.execute(sql, params)  # autocommit: durable when execute returns
            return int(cur.lastrowid or 0)

    # --- keys ----------------------------------------------------------------------------------------------

    def add_key(self, role: str, *, name: str = "", secret: str | None = None) -> tuple[str, ApiKey]:
        """Create a key; the returned string is the only time the secret is seen."""
        if role not in ROLES:
            raise ValueError(f"role: unknown '{role}'; use one of: {', '.join(ROLES)}")
        key_id, salt = secrets.token_hex(4), secrets.token_hex(8)
        secret = secret or secrets.token_urlsafe(24)
        record = ApiKey(key_id, name or role, role, _now())
        self._write("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (key_id, record.name, role, salt, _hash(salt, secret), record.created))
        return f"{KEY_PREFIX}{key_id}_{secret}", record

    def check_key(self, presented: str) -> ApiKey | None:
        """The key's record when `presented` is a valid, unrevoked key (constant-time comparison)."""
        if not presented.startswith(KEY_PREFIX) or presented.count("_") < 2:
            return None
        key_id, secret = presented[len(KEY_PREFIX):].split("_", 1)
        with self._lock:
            row = self._db.execute("SELECT id, name, role, salt, hash, created, revoked FROM api_keys WHERE id=?",
                                   (key_id,)).fetchone()
        if row is None:
            hmac.compare_digest(_hash("x", secret), "0" * 64)  # same work whether or not the id exists
            return None
        if not hmac.compare_digest(_hash(row[3], secret), row[4]) or row[6] is not None:
            return None
        return ApiKey(row[0], row[1], row[2], row[5], row[6])

    def list_keys(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, role, created, revoked FROM api_keys ORDER BY created").fetchall()
        return [ApiKey(*r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("UPDATE api_keys SET revoked=? WHERE id=? AND revoked IS NULL", (_now(), key_id))
        return cur.rowcount == 1

    # --- requests and feedback -----------------------------------------------------------------------------

    def record_request(self, request_id: str, key_id: str | None, message: str, channel: str,
                       article_ids: list[str]) -> None:
        self._write("INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?)",
                    (request_id, _now(), key_id, message, channel, json.dumps(article_ids)))

    def request_articles(self, request_id: str) -> list[str] | None:
        with self._lock:
            row = self._db.execute("SELECT article_ids FROM requests WHERE request_id=?", (request_id,)).fetchone()
        return None if row is None else list(json.loads(row[0]))

    def add_feedback(self, request_id: str, article_id: str | None, action: str, final_text: str | None,
                     key_id: str | None) -> int:
        return self._write("INSERT INTO feedback (request_id, article_id, action, final_text, key_id, created) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (request_id, article_id, action, final_text, key_id, _now()))

    def feedback(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute("SELECT f.id, f.request_id, f.article_id, f.action, f.final_text, f.created, "
                                   "r.message FROM feedback f LEFT JOIN requests r USING (request_id) "
                                   "ORDER BY f.id DESC LIMIT ?", (limit,))
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
