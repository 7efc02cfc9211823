"""0005: the message kind per request (issue 27), so the insights count complaints and abuse per period and see
them surge.

- requests: `kind` (question, complaint, thanks, story, abuse, spam, offtopic), NULL for rows from before (and
  when KB_KINDS is off); the insights index gains it, so the counting query stays an index-only scan.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

_BEFORE = ["created", "channel", "language", "top_article", "tier"]


def upgrade() -> None:
    op.drop_index("ix_requests_insights", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("kind", sa.Text))
    op.create_index("ix_requests_insights", "requests", [*_BEFORE, "kind"])


def downgrade() -> None:
    op.drop_index("ix_requests_insights", table_name="requests")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("kind")
    op.create_index("ix_requests_insights", "requests", _BEFORE)
