"""Learned phrasings in the database, against both backends (SQLite and a real PostgreSQL): rows round-trip into
kb.learning's phrasings, other processes read what changed, learning writes take turns, retention removes the
texts of unapproved phrasings only, and what the customer wrote is masked before it is stored."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import numpy as np

from api.insights.retention import remove_expired_texts
from api.learned.privacy import mask_personal
from api.learned.store import PhrasingStore
from kb.learning import Phrasing, Standing, Status
from tests.reliability.conftest import Opener

DIM = 8


def phrasing(pid: str, status: Status, first_seen: str = "2026-12-01T10:00:00+00:00", **extra: object) -> Phrasing:
    vector = np.arange(DIM, dtype=np.float32) / 10
    return Phrasing(pid, "suiker-voedt-kanker", f"klopt het dat suiker kanker voedt ({pid})", vector, "nl", status,
                    first_seen, first_seen, confirmers=Counter({"k1": 3, "k2": 1}), rejecters=Counter({"k3": 1}),
                    **extra)


def test_phrasings_round_trip_and_an_upsert_replaces_the_row(opener: Opener) -> None:
    store = PhrasingStore(opener(), "model-a", DIM)
    with store.learning() as conn:
        store.save(conn, [phrasing("p1", Status.ACTIVE, held=None, article_hash="h1")])
    [back] = store.since("").phrasings
    assert (back.id, back.status, back.confirmers, back.rejecters, back.confirmations, back.article_hash) == \
        ("p1", Status.ACTIVE, {"k1": 3, "k2": 1}, {"k3": 1}, 4, "h1")
    assert np.array_equal(back.vector, phrasing("p1", Status.ACTIVE).vector)
    back.status, back.held = Status.CANDIDATE, "conflict: 1 confirmed near-repeat(s) for x"
    with store.learning() as conn:
        store.save(conn, [back])
    [again] = store.since("").phrasings
    assert (again.status, again.held) == (Status.CANDIDATE, back.held)


def test_the_choice_counted_for_a_suggestion_is_stored_replaced_and_removed(opener: Opener) -> None:
    db = opener()
    store = PhrasingStore(db, "m", DIM)
    db.record_request("r1", None, "klopt het dat suiker kanker voedt?", "x", ["suiker-voedt-kanker"])
    with store.learning() as conn:
        assert store.standing(conn, "r1", "suiker-voedt-kanker") is None
        assert store.feedback(conn, "r1", "suiker-voedt-kanker") is None
        store.put_standing(conn, "r1", "suiker-voedt-kanker", Standing("p1", "k1", "used", "2026-12-01T10:00:00"))
        store.put_standing(conn, "r1", "suiker-voedt-kanker", Standing("p1", "k1", "rejected", "2026-12-01T10:01:00"))
    db.record_feedback("r1", "suiker-voedt-kanker", "used", None, "k1", source="api")
    db.record_feedback("r1", "suiker-voedt-kanker", "rejected", None, "k1", source="page")
    with store.learning() as conn:
        assert store.standing(conn, "r1", "suiker-voedt-kanker") == \
            Standing("p1", "k1", "rejected", "2026-12-01T10:01:00")
        assert store.feedback(conn, "r1", "suiker-voedt-kanker") == ("rejected", "k1")  # the one that stands
        store.put_standing(conn, "r1", "suiker-voedt-kanker", None)
        assert store.standing(conn, "r1", "suiker-voedt-kanker") is None


def test_another_process_reads_what_changed_since_its_watermark(opener: Opener) -> None:
    first, second = PhrasingStore(opener(), "model-a", DIM), PhrasingStore(opener(), "model-a", DIM)
    with first.learning() as conn:
        first.save(conn, [phrasing("old", Status.CANDIDATE)], stamp="2026-11-01T10:00:00.000000+00:00")
        first.save(conn, [phrasing("newest", Status.CANDIDATE)], stamp="2026-11-02T10:00:00.000000+00:00")
    loaded = second.since("")
    assert {p.id for p in loaded.phrasings} == {"old", "newest"} and loaded.watermark.startswith("2026-11-02T10")
    with first.learning() as conn:
        first.save(conn, [phrasing("p2", Status.CANDIDATE)])
    # what changed since, and what was stamped within REREAD before the watermark (read again, harmlessly)
    assert [p.id for p in second.since(loaded.watermark).phrasings] == ["newest", "p2"]
    assert second.since(loaded.watermark).other_model == []
    assert set(PhrasingStore(opener(), "model-b", DIM).since("").other_model) == {"old", "newest", "p2"}


def test_learning_writes_take_turns_across_connections(opener: Opener) -> None:
    a, b = PhrasingStore(opener(), "m", DIM), PhrasingStore(opener(), "m", DIM)
    order: list[str] = []
    inside = threading.Event()

    def hold() -> None:
        with a.learning():
            inside.set()
            order.append("a in")
            time.sleep(0.3)
            order.append("a out")

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(5)
    with b.learning():
        order.append("b in")
    thread.join()
    assert order == ["a in", "a out", "b in"]


def test_retention_removes_unapproved_phrasings_only_and_others_see_it(opener: Opener) -> None:
    db = opener()
    store = PhrasingStore(db, "m", DIM)
    old, new = "2026-01-01T10:00:00+00:00", "2026-12-01T10:00:00+00:00"
    with store.learning() as conn:
        store.save(conn, [phrasing(f"old-{s}", s, old) for s in
                          (Status.CANDIDATE, Status.ACTIVE, Status.REJECTED, Status.APPROVED)])
        store.save(conn, [phrasing("new-candidate", Status.CANDIDATE, new)])
    watermark = store.since("").watermark
    result = remove_expired_texts(db, 90, now=dt.datetime(2026, 12, 2, tzinfo=dt.UTC), batch=2)
    assert result.phrasings == 3
    changed = {p.id: p for p in PhrasingStore(opener(), "m", DIM).since(watermark).phrasings}
    expired = {i for i, p in changed.items() if p.status is Status.EXPIRED}
    assert expired == {"old-candidate", "old-active", "old-rejected"}
    assert all(changed[i].text == "" and changed[i].confirmations == 4 for i in expired)  # the counts stay
    assert store.kept_texts([Status.APPROVED, Status.CANDIDATE]) == 2


def test_what_is_stored_of_a_message_is_masked_names_included() -> None:
    masked = mask_personal("Ik ben Ria de Vries, bel 06-12345678 of mail ria@example.nl. De Vries wacht al weken!",
                           ["Ria de Vries", None])
    assert masked == "Ik ben [naam], bel [telefoon] of mail [e-mail]. [naam] wacht al weken!"
