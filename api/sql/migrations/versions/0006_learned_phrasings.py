"""0006: learned phrasings (issue 23): messages agents confirmed for an article, counted, and the choice each
counts per suggestion (the feedback that stands for it; no text of its own). The next number after main's 0005
(message kinds, issue 27); a branch that adds another 0006 is re-chained at merge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_phrasings",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("article_id", sa.Text, nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("vector", sa.LargeBinary),
        sa.Column("model_id", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("confirmers", sa.Text, nullable=False),
        sa.Column("rejecters", sa.Text, nullable=False),
        sa.Column("first_seen", sa.Text, nullable=False),
        sa.Column("last_seen", sa.Text, nullable=False),
        sa.Column("held", sa.Text),
        sa.Column("review", sa.Boolean, nullable=False),
        sa.Column("article_hash", sa.Text),
        sa.Column("decided_by", sa.Text),
        sa.Column("exported", sa.Text),
        sa.Column("updated", sa.Text, nullable=False),
    )
    op.create_index("ix_learned_phrasings_updated", "learned_phrasings", ["updated"])
    kept = sa.text("text IS NOT NULL")
    op.create_index("ix_learned_phrasings_text_kept", "learned_phrasings", ["first_seen"], sqlite_where=kept,
                    postgresql_where=kept)
    op.create_table(
        "learned_choices",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("phrasing_id", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
    )
    op.create_index("ix_learned_choices_phrasing", "learned_choices", ["phrasing_id"])


def downgrade() -> None:
    op.drop_index("ix_learned_choices_phrasing", table_name="learned_choices")
    op.drop_table("learned_choices")
    op.drop_index("ix_learned_phrasings_text_kept", table_name="learned_phrasings")
    op.drop_index("ix_learned_phrasings_updated", table_name="learned_phrasings")
    op.drop_table("learned_phrasings")
