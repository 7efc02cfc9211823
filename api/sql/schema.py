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
    LargeBinary,
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

learned_phrasings = Table(
    "learned_phrasings", metadata,
    # A message agents confirmed for an article, and the near-repeats that joined it (kb/learning.py, api/learned/).
    Column("id", StoredText, primary_key=True),  # derived from the article id and the masked text
    Column("article_id", StoredText, nullable=False),
    # Masked (api/learned/privacy.py) when stored; NULL once gone: an unapproved phrasing older than
    # KB_RETENTION_DAYS (status expired) or one whose article is no longer served (dropped).
    Column("text", StoredText),
    Column("vector", LargeBinary),  # float32 query vector of the text (NULL with it)
    Column("model_id", StoredText, nullable=False),  # the model the vector is from
    Column("language", StoredText, nullable=False),
    Column("status", StoredText, nullable=False),  # candidate, active, approved, rejected, merged, dropped, expired
    # JSON {key id: standing choices}: the keys whose choice that stands (learned_choices) confirms its article for
    # a message of it, and those whose choice rejects it
    Column("confirmers", StoredText, nullable=False),
    Column("rejecters", StoredText, nullable=False),
    Column("first_seen", StoredText, nullable=False),
    Column("last_seen", StoredText, nullable=False),
    Column("held", StoredText),  # why an eligible phrasing is not evidence (a conflict), or NULL
    Column("review", Boolean, nullable=False),  # its article changed since it became evidence
    Column("article_hash", StoredText),
    Column("decided_by", StoredText),  # the editor's key name for approve / reject / remove
    Column("exported", StoredText),  # when `kb learned export` wrote it into the article's front matter
    Column("updated", StoredText, nullable=False),  # every change; other processes read what changed since
)
Index("ix_learned_phrasings_updated", learned_phrasings.c.updated)
# The retention job finds unapproved phrasings that still have a text, oldest first.
Index("ix_learned_phrasings_text_kept", learned_phrasings.c.first_seen,
      sqlite_where=learned_phrasings.c.text.is_not(None), postgresql_where=learned_phrasings.c.text.is_not(None))

learned_choices = Table(
    "learned_choices", metadata,
    # The choice a phrasing counts for one suggestion (request and article): the agent's feedback that stands for
    # it (one feedback row per suggestion, the last choice winning), so a change of mind replaces what was counted
    # and an undo takes it back. Its request's masked message, while KB_RETENTION_DAYS keeps it, is the example
    # an editor reads. No text of its own.
    Column("request_id", StoredText, primary_key=True),
    Column("article_id", StoredText, primary_key=True),
    Column("phrasing_id", StoredText, nullable=False),
    Column("key_id", StoredText, nullable=False),
    Column("action", StoredText, nullable=False),  # used, edited, chosen, rejected
    Column("created", StoredText, nullable=False),  # when it was counted
)
Index("ix_learned_choices_phrasing", learned_choices.c.phrasing_id)

# --- inbox integrations (api/inbox): shared by every process, so a delivery or a message is handled once ---------

inbox_messages = Table(
    "inbox_messages", metadata,
    # One row per message an inbox told us about (its id in that inbox): the key that makes a repeated delivery
    # or a second process a no-op. `connection` names the inbox account (api/inbox/connections.py).
    Column("connection", StoredText, primary_key=True),
    Column("message_id", StoredText, primary_key=True),
    Column("conversation_id", StoredText, nullable=False),
    Column("inbox_id", StoredText),
    Column("kind", StoredText, nullable=False),  # incoming (a customer's), outgoing (an agent's public reply)
    Column("sent_at", StoredText, nullable=False),  # when the inbox says it was sent (orders a conversation)
    Column("created", StoredText, nullable=False),  # when it reached us
    # Masked (kb/masking.py); NULL once older than KB_RETENTION_DAYS, like requests.message.
    Column("content", StoredText),
    # JSON: who and where (customer and agent names, channel); NULL once older than KB_RETENTION_DAYS.
    Column("details", StoredText),
    # JSON: the drafts offered for an incoming message (article, tier, draft text); NULL after KB_RETENTION_DAYS.
    Column("drafts", StoredText),
    Column("status", StoredText, nullable=False),  # pending working posted no_match skipped failed | observed matched
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", StoredText),  # a pending row is due from then on
    Column("lease_until", StoredText),  # a working row belongs to one worker until then
    Column("error", StoredText),
    Column("request_id", StoredText),  # the suggestion request (requests.request_id) of an incoming message
    Column("note_id", StoredText),  # the private note posted for it
    Column("reply_to", StoredText),  # an agent's reply: the incoming message it was compared with
    Column("updated", StoredText, nullable=False),
)
# The workers' poll: due and stale rows, without reading the finished ones.
Index("ix_inbox_messages_due", inbox_messages.c.status, inbox_messages.c.next_attempt)
# "The customer's message before this reply" and "the reply after this message", per conversation.
Index("ix_inbox_messages_conversation", inbox_messages.c.connection, inbox_messages.c.conversation_id,
      inbox_messages.c.sent_at)
Index("ix_inbox_messages_text_kept", inbox_messages.c.created, sqlite_where=inbox_messages.c.details.is_not(None),
      postgresql_where=inbox_messages.c.details.is_not(None))

inbox_deliveries = Table(
    "inbox_deliveries", metadata,
    # Every delivery accepted, by the inbox's delivery id (or a digest of the body where it sends none): a delivery
    # sent again is answered "duplicate"; one whose signature was seen before is a replay (409).
    Column("connection", StoredText, primary_key=True),
    Column("delivery_id", StoredText, primary_key=True),
    Column("signature", StoredText),  # sha256 of the signature header; NULL when unsigned
    Column("received", StoredText, nullable=False),
)
Index("ix_inbox_deliveries_signature", inbox_deliveries.c.connection, inbox_deliveries.c.signature, unique=True)
Index("ix_inbox_deliveries_received", inbox_deliveries.c.received)

inbox_stats = Table(
    "inbox_stats", metadata,
    # Counters per connection, for `kb chatwoot status`: each a single UPDATE ... = x + 1, so processes add up.
    Column("connection", StoredText, primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in (
        "received", "accepted", "duplicates", "ignored", "refused", "notes_posted", "no_match", "notes_failed",
        "feedback")),
    Column("last_delivery", StoredText),
    Column("last_note", StoredText),
    Column("last_error", StoredText),
    Column("last_error_at", StoredText),
)
