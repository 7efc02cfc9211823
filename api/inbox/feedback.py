"""Feedback from an inbox, recorded through the feedback change of issue 26 (branch issue-26a): one row per
(request, article), the last choice winning, with where it came from (`source`) and how much the agent changed
(`edit_distance`), by `Database.record_feedback`.

Until that change is on main, this adapter falls back to `Database.add_feedback` (one row per call, without source
or edit distance), so this branch runs on its own; once it has landed, the fallback can go.

    >>> record_feedback(db, request_id, "suiker-voedt-kanker", "edited", reply, "chatwoot:1:7", source="chatwoot",
    ...                 edit_distance=42)  # doctest: +SKIP
"""

from __future__ import annotations

from api.db import Database


def record_feedback(db: Database, request_id: str, article_id: str | None, action: str, final_text: str | None,
                    key_id: str | None, *, source: str, edit_distance: int | None = None) -> int:
    """Store what an agent did with a request's drafts, as the inbox showed it; the feedback id."""
    upsert = getattr(db, "record_feedback", None)
    if upsert is not None:  # the feedback change (issue 26a) has landed
        return int(upsert(request_id, article_id, action, final_text, key_id, source=source,
                          edit_distance=edit_distance))
    return db.add_feedback(request_id, article_id, action, final_text, key_id)
