"""0004: messages editors dismissed from the gaps page as noise (issue 26).

- gap_dismissals: one row per dismissed request, with the click (`batch`) that dismissed it, so the click can be
  undone; no message text (that stays in `requests`, under its retention).

Numbered 0004 because another change takes 0003; whichever lands second is re-chained onto the other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_dismissals",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("batch", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
    )
    op.create_index("ix_gap_dismissals_batch", "gap_dismissals", ["batch"])


def downgrade() -> None:
    op.drop_index("ix_gap_dismissals_batch", table_name="gap_dismissals")
    op.drop_table("gap_dismissals")
