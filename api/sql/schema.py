"""The tables, once for both backends. The head of the migrations (api/sql/migrations/versions) must build exactly
this: tests/reliability/test_migrations.py compares them on SQLite and PostgreSQL.

Timestamps are ISO-8601 text in UTC, as they were before migrations existed (sorting as text is sorting by time).
Every text column is `StoredText`: what is written or compared is text both backends can hold.

    >>> from sqlalchemy import select
    >>> str(select(api_keys.c.role).where(api_keys.c.id == "ab12cd34"))
    'SELECT api_keys.role \\nFROM api_keys \\nWHERE api_keys.id = :id_1'
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Dialect, Identity, Integer, MetaData, Table, Text
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class StoredText(TypeDecorator[str]):
    r"""TEXT whose bound values are made storable: NUL (PostgreSQL refuses it, SQLite cuts at it) and lone
    surrogates (not UTF-8 at all; JSON can carry them) become U+FFFD. Anything else is stored as given.

        >>> StoredText().process_bind_param("nul\x00 lone\ud800", None) == "nul\ufffd lone\ufffd"
        True
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
        return value.replace("\x00", "\ufffd")


api_keys = Table(
    "api_keys", metadata,
    Column("id", StoredText, primary_key=True),
    Column("name", StoredText, nullable=False),
    Column("role", StoredText, nullable=False),
    Column("salt", StoredText, nullable=False),
    Column("hash", StoredText, nullable=False),  # sha256 of salt:secret; the secret itself is never stored
    Column("created", StoredText, nullable=False),
    Column("revoked", StoredText),
)

requests = Table(
    "requests", metadata,
    Column("request_id", StoredText, primary_key=True),
    Column("created", StoredText, nullable=False),
    Column("key_id", StoredText),
    Column("message", StoredText, nullable=False),
    Column("channel", StoredText, nullable=False),
    Column("article_ids", StoredText, nullable=False),  # JSON list of the article ids offered, best first
)

feedback = Table(
    "feedback", metadata,
    # BIGINT identity on PostgreSQL; on SQLite exactly INTEGER PRIMARY KEY AUTOINCREMENT (the rowid, never reused).
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("request_id", StoredText, nullable=False),
    Column("article_id", StoredText),
    Column("action", StoredText, nullable=False),
    Column("final_text", StoredText),
    Column("key_id", StoredText),
    Column("created", StoredText, nullable=False),
    sqlite_autoincrement=True,
)

ended_sessions = Table(
    "ended_sessions", metadata,
    Column("nonce", StoredText, primary_key=True),
    Column("expires", BigInteger, nullable=False),  # unix seconds; the row may go once the cookie has expired
)
