"""0001: the schema as it was before migrations existed (kept as written then, never edited afterwards).

The tables were made with CREATE TABLE IF NOT EXISTS on every start; this migration does the same, so a database
made before migrations (SQLite file or PostgreSQL) is adopted as it is and stamped 0001, and an empty one gets the
tables (tests/reliability/test_migrations.py runs both).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("salt", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("revoked", sa.Text),
        if_not_exists=True,
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("article_ids", sa.Text, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.Identity(), primary_key=True),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("article_id", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("final_text", sa.Text),
        sa.Column("key_id", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_table(
        "ended_sessions",
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("expires", sa.BigInteger, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    for table in ("ended_sessions", "feedback", "requests", "api_keys"):
        op.drop_table(table)
