"""Dismissing noise from the gaps page, on both backends (SQLite and a real PostgreSQL): a dismissal outlives a
restart, dismissing twice keeps the first, unknown ids are ignored, and undoing a dismissal brings the messages
back; no message text is copied into the dismissals."""

from __future__ import annotations

from api import dismissals
from api.sql.schema import gap_dismissals
from tests.reliability.test_db_contract import Opener, opener  # noqa: F401  # the two-backend fixture


def test_a_dismissal_persists_is_undone_whole_and_copies_no_text(opener: Opener) -> None:  # noqa: F811
    db = opener()
    for n, message in enumerate(("lol", "asdfgh", "wie wint de derby", "mag ik zonnen na chemo")):
        db.record_request(f"r-{n}", None, message, "x", [])
        db.record_feedback(f"r-{n}", None, "no_good_answer", None, None, source="page")
    noise = dismissals.dismiss(db, ["r-0", "r-1", "r-2", "not-a-request", ""], key_id="ab12cd34")
    assert dismissals.dismissed(db, ["r-0", "r-1", "r-2", "r-3"]) == {"r-0", "r-1", "r-2"}
    again = dismissals.dismiss(db, ["r-0"], key_id=None)  # already dismissed: stays in the first click
    assert dismissals.restore(db, again) == 0
    rows = db.read(gap_dismissals.select())
    assert len(rows) == 3 and all(set(r) == {"request_id", "batch", "key_id", "created"} for r in rows)

    restarted = opener()  # another process, or the same one after a restart
    [batch] = dismissals.recent_batches(restarted)
    assert (batch.batch, batch.messages) == (noise, 3) and batch.example in ("lol", "asdfgh", "wie wint de derby")
    assert dismissals.restore(restarted, noise) == 3
    assert dismissals.dismissed(restarted, ["r-0", "r-1", "r-2"]) == set()
    assert dismissals.recent_batches(restarted) == []
