"""0002: what the insights count per request, texts that can expire, sent alerts (issue 17).

- requests: `language`, `top_article`, `tier`, `no_match` (recorded at suggest time); `message` may be NULL (its
  text removed after KB_RETENTION_DAYS). Rows from before get `no_match` and `top_article` from the articles they
  were offered; their language and tier stay unknown (NULL), except `no_match` for the no-match ones.
- indexes for the insights query, the retention batches and the join of feedback to its request.
- alerts: one row per rising subject per period, so no alert is sent twice.

SQLite cannot drop NOT NULL in place: Alembic's batch mode copies the requests table once (in the same transaction).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.alter_column("message", existing_type=sa.Text, nullable=True)
        batch.add_column(sa.Column("language", sa.Text))
        batch.add_column(sa.Column("top_article", sa.Text))
        batch.add_column(sa.Column("tier", sa.Text))
        batch.add_column(sa.Column("no_match", sa.Boolean))
    first = "json_extract(article_ids, '$[0]')" if op.get_bind().dialect.name == "sqlite" else \
        "(article_ids::json ->> 0)"
    op.execute(f"UPDATE requests SET no_match = (article_ids = '[]'), top_article = {first}, "
               "tier = CASE WHEN article_ids = '[]' THEN 'no_match' END")
    op.create_index("ix_requests_insights", "requests", ["created", "channel", "language", "top_article", "tier"])
    kept = sa.text("message IS NOT NULL")
    op.create_index("ix_requests_text_kept", "requests", ["created"], sqlite_where=kept, postgresql_where=kept)
    op.create_index("ix_feedback_request", "feedback", ["request_id"])
    kept = sa.text("final_text IS NOT NULL")
    op.create_index("ix_feedback_text_kept", "feedback", ["created"], sqlite_where=kept, postgresql_where=kept)
    op.create_table(
        "alerts",
        sa.Column("period", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("updated", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("alerts")
    for name, table in (("ix_feedback_text_kept", "feedback"), ("ix_feedback_request", "feedback"),
                        ("ix_requests_text_kept", "requests"), ("ix_requests_insights", "requests")):
        op.drop_index(name, table_name=table)
    op.execute("UPDATE requests SET message = '' WHERE message IS NULL")
    with op.batch_alter_table("requests") as batch:
        for column in ("no_match", "tier", "top_article", "language"):
            batch.drop_column(column)
        batch.alter_column("message", existing_type=sa.Text, nullable=False)
