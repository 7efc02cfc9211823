"""The tables, once for both backends. The head of the migrations (api/sql/migrations/versions) must build exactly
this: tests/reliability/test_migrations.py compares them on SQLite and PostgreSQL.

Timestamps are ISO-8601 text in UTC, as they were before migrations existed (sorting as text is sorting by time).
Every text column is `StoredText`: what is written or compared is text both backends can hold.

    >>> from sqlalchemy import select
    >>> str(select(api_keys.c.role).where(api_keys.c.id == "ab12cd34"))
    'SELECT api_keys.role \\nFROM api_keys \\nWHERE api_keys.id = :id_1'
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal_column,
)
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
    # Masked (kb/masking.py) when stored; NULL once older than KB_RETENTION_DAYS (api/insights/retention.py).
    Column("message", StoredText),
    Column("channel", StoredText, nullable=False),
    Column("article_ids", StoredText, nullable=False),  # JSON list of the article ids offered, best first
    # What the insights count (kept when the text goes); NULL on rows from before migration 0002 where unknown.
    Column("language", StoredText),  # nl, en: the message's language as answered
    Column("top_article", StoredText),  # the first suggestion's article id; NULL when no_match
    Column("tier", StoredText),  # the first suggestion's confidence: high, medium, low; or no_match
    Column("no_match", Boolean),
    # The message's kind (kb.kinds: question, complaint, thanks, ...); NULL before migration 0005 or with KB_KINDS off.
    Column("kind", StoredText),
)
# The insights read days of requests by these columns alone (an index-only scan on PostgreSQL).
Index("ix_requests_insights", requests.c.created, requests.c.channel, requests.c.language, requests.c.top_article,
      requests.c.tier, requests.c.kind)
# The retention job's batches find the oldest texts still kept without reading the rows it already emptied.
Index("ix_requests_text_kept", requests.c.created, sqlite_where=requests.c.message.is_not(None),
      postgresql_where=requests.c.message.is_not(None))

feedback = Table(
    # One row per suggestion (request and article; per request for a "no good answer" without an article): the
    # agent's choice that stands, overwritten by a newer one (api.db.Database.record_feedback; migration 0003).
    "feedback", metadata,
    # BIGINT identity on PostgreSQL; on SQLite exactly INTEGER PRIMARY KEY AUTOINCREMENT (the rowid, never reused).
    Column("id", BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True),
    Column("request_id", StoredText, nullable=False),
    Column("article_id", StoredText),
    Column("action", StoredText, nullable=False),
    Column("final_text", StoredText),
    Column("key_id", StoredText),  # the key that made the choice that stands
    Column("created", StoredText, nullable=False),  # when that choice was made (a newer choice moves it)
    Column("source", StoredText),  # page, api or chatwoot; NULL on rows from before migration 0003
    Column("edit_distance", Integer),  # characters changed from the offered draft, where an inbox integration knows
    sqlite_autoincrement=True,
)
#: What makes a feedback row one choice: NULL article ids are distinct in a plain unique index (on both backends),
#: so a request-wide "no good answer" is keyed by '' instead. `record_feedback` names the same expression.
FEEDBACK_CHOICE = (feedback.c.request_id, func.coalesce(feedback.c.article_id, literal_column("''")))
Index("ux_feedback_choice", *FEEDBACK_CHOICE, unique=True)  # leads with request_id: also the join to requests
Index("ix_feedback_text_kept", feedback.c.created, sqlite_where=feedback.c.final_text.is_not(None),
      postgresql_where=feedback.c.final_text.is_not(None))

ended_sessions = Table(
    "ended_sessions", metadata,
    Column("nonce", StoredText, primary_key=True),
    Column("expires", BigInteger, nullable=False),  # unix seconds; the row may go once the cookie has expired
)

alerts = Table(
    "alerts", metadata,
    # One row per rising subject per period (api/insights/alerts.py): the key is what keeps an alert from being
    # sent twice, by a restarted process or by another one.
    Column("period", StoredText, primary_key=True),  # day:2026-12-01
    Column("subject", StoredText, primary_key=True),  # article:5g-kanker, topic:5g, group:zonnebank chemo
    Column("status", StoredText, nullable=False),  # sending, sent, failed
    Column("attempts", Integer, nullable=False),
    Column("text", StoredText, nullable=False),
    Column("created", StoredText, nullable=False),
    Column("updated", StoredText, nullable=False),
    Column("error", StoredText),
)

gap_dismissals = Table(
    "gap_dismissals", metadata,
    # A message an editor dismissed from the gaps page as noise ("lol", football): it no longer shows there. One
    # row per request; `batch` is the one click that dismissed a group, so that click can be undone as a whole.
    # No text is kept here: the message stays in `requests`, under its own retention.
    Column("request_id", StoredText, primary_key=True),
    Column("batch", StoredText, nullable=False),
    Column("key_id", StoredText),
    Column("created", StoredText, nullable=False),
)
Index("ix_gap_dismissals_batch", gap_dismissals.c.batch)
