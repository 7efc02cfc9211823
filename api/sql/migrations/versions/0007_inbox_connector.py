"""0007: inbox integrations (issue 22): what a connector (api/inbox) shares between processes.

- inbox_messages: one row per message an inbox (Chatwoot) told us about: the work queue of the note workers, the
  drafts offered for a customer's message and the agent's reply compared with them; texts expire like requests'.
- inbox_deliveries: the deliveries accepted, by delivery id and signature (repeats and replays).
- inbox_stats: counters per connection for `kb chatwoot status`.

After 0006 (learned_phrasings).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None

COUNTERS = ("received", "accepted", "duplicates", "ignored", "refused", "notes_posted", "no_match", "notes_failed",
            "feedback")


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("connection", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("inbox_id", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("content", sa.Text),
        sa.Column("details", sa.Text),
        sa.Column("drafts", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Text),
        sa.Column("lease_until", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("request_id", sa.Text),
        sa.Column("note_id", sa.Text),
        sa.Column("reply_to", sa.Text),
        sa.Column("updated", sa.Text, nullable=False),
    )
    op.create_index("ix_inbox_messages_due", "inbox_messages", ["status", "next_attempt"])
    op.create_index("ix_inbox_messages_conversation", "inbox_messages", ["connection", "conversation_id", "sent_at"])
    kept = sa.text("details IS NOT NULL")
    op.create_index("ix_inbox_messages_text_kept", "inbox_messages", ["created"], sqlite_where=kept,
                    postgresql_where=kept)
    op.create_table(
        "inbox_deliveries",
        sa.Column("connection", sa.Text, primary_key=True),
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("signature", sa.Text),
        sa.Column("received", sa.Text, nullable=False),
    )
    op.create_index("ix_inbox_deliveries_signature", "inbox_deliveries", ["connection", "signature"], unique=True)
    op.create_index("ix_inbox_deliveries_received", "inbox_deliveries", ["received"])
    op.create_table(
        "inbox_stats",
        sa.Column("connection", sa.Text, primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in COUNTERS),
        sa.Column("last_delivery", sa.Text),
        sa.Column("last_note", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("inbox_stats")
    op.drop_index("ix_inbox_deliveries_received", table_name="inbox_deliveries")
    op.drop_index("ix_inbox_deliveries_signature", table_name="inbox_deliveries")
    op.drop_table("inbox_deliveries")
    for name in ("ix_inbox_messages_text_kept", "ix_inbox_messages_conversation", "ix_inbox_messages_due"):
        op.drop_index(name, table_name="inbox_messages")
    op.drop_table("inbox_messages")
