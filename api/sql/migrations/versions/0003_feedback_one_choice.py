"""0003: one feedback row per suggestion, the agent's last choice (issue 26), and where feedback came from.

Agents click "used", then "rejected", then "edited" on the same suggestion; each click was a row, so insights
counted one suggestion three times and agent consistency twice. From here on there is one row per request and
article (per request for a "no good answer" about the request as a whole), which the service overwrites with the
agent's newest choice (`api.db.Database.record_feedback`).

- feedback: duplicates collapse to the newest row of each (request, article); a unique index on
  (request_id, coalesce(article_id, '')) keeps it so (NULLs are distinct in a plain unique index, on both
  backends, and PostgreSQL 15's NULLS NOT DISTINCT has no SQLite twin). It leads with request_id, so it also
  serves the join to requests that `ix_feedback_request` served; that index goes.
- feedback.source: where the feedback came from, `page`, `api` or `chatwoot` (NULL on rows from before).
- feedback.edit_distance: characters changed between the draft offered and the reply sent, where an inbox
  integration can see both (NULL otherwise).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None



def upgrade() -> None:
    op.execute("DELETE FROM feedback WHERE id NOT IN "
               "(SELECT max(id) FROM feedback GROUP BY request_id, coalesce(article_id, ''))")
    op.add_column("feedback", sa.Column("source", sa.Text))
    op.add_column("feedback", sa.Column("edit_distance", sa.Integer))
    op.drop_index("ix_feedback_request", table_name="feedback")
    op.create_index("ux_feedback_choice", "feedback", [sa.text("request_id"), sa.text("coalesce(article_id, '')")],
                    unique=True)


def downgrade() -> None:
    op.drop_index("ux_feedback_choice", table_name="feedback")
    op.create_index("ix_feedback_request", "feedback", ["request_id"])
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("edit_distance")
        batch.drop_column("source")
