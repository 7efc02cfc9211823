"""One contract for the service's state, run against both backends: SQLite (embedded) and a real PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from api.db import Database, DatabaseUnavailable, open_database
from kb.config import Settings
from tests.reliability.conftest import Opener


def test_the_setting_chooses_the_backend(opener: Opener, request: pytest.FixtureRequest) -> None:
    assert opener().backend == request.node.callspec.params["opener"]


def test_a_key_is_accepted_with_its_role_and_refused_when_wrong(opener: Opener) -> None:
    db = opener()
    key, record = db.add_key("editor", name="Anna de Vries")
    found = db.check_key(key)
    assert found is not None and (found.id, found.role, found.name) == (record.id, "editor", "Anna de Vries")
    assert found.may("agent") and found.may("editor") and not found.may("admin")
    prefix, key_id, secret = key.split("_", 2)
    for wrong in (f"{prefix}_{key_id}_{secret}x", f"{prefix}_ffffffff_{secret}", "kb_", "nonsense", "",
                  f"{prefix}_{key_id}\x00_{secret}", f"{prefix}_{key_id}\ud800_{secret}"):
        assert db.check_key(wrong) is None, wrong


def test_an_unknown_role_is_refused(opener: Opener) -> None:
    with pytest.raises(ValueError, match="role: unknown 'boss'"):
        opener().add_key("boss")


def test_a_revoked_key_is_refused_and_listed_as_revoked(opener: Opener) -> None:
    db = opener()
    key, record = db.add_key("agent", name="leaving volunteer")
    other, _ = db.add_key("qa")
    assert db.revoke_key(record.id) is True
    assert db.revoke_key(record.id) is False  # once only
    assert db.revoke_key("no-such-id") is False
    assert db.check_key(key) is None and db.check_key(other) is not None
    listed = {k.id: k for k in db.list_keys()}
    assert listed[record.id].revoked is not None and listed[record.id].role == "agent"
    assert len(listed) == 2


def test_a_request_and_its_feedback_come_back_newest_first(opener: Opener) -> None:
    db = opener()
    db.record_request("r1", "k1", "klopt het dat suiker kanker voedt?", "x", ["suiker-voedt-kanker", "b"])
    assert db.request_articles("r1") == ["suiker-voedt-kanker", "b"]
    assert db.request_articles("r2") is None
    first = db.record_feedback("r1", "suiker-voedt-kanker", "used", None, "k1", source="page")
    second = db.record_feedback("r1", None, "edited", "Nee, suiker voedt kanker niet.", "k1", source="api")
    assert second > first
    rows = db.feedback(limit=10)
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["final_text"] == "Nee, suiker voedt kanker niet."
    assert rows[0]["message"] == "klopt het dat suiker kanker voedt?"
    assert set(rows[0]) == {"id", "request_id", "article_id", "action", "final_text", "created", "source",
                            "edit_distance", "message"}
    assert (rows[0]["source"], rows[1]["source"], rows[0]["edit_distance"]) == ("api", "page", None)
    assert [r["id"] for r in db.feedback(limit=1)] == [second]


def test_a_key_is_found_by_id_revoked_or_not(opener: Opener) -> None:
    db = opener()
    _, record = db.add_key("qa", name="QA lead")
    assert db.get_key(record.id) == record
    db.revoke_key(record.id)
    found = db.get_key(record.id)
    assert found is not None and found.revoked is not None
    assert db.get_key("nothere") is None


def test_an_ended_session_stays_ended_until_it_expires(opener: Opener) -> None:
    import time

    db = opener()
    assert not db.session_ended("n1")
    db.end_session("n1", int(time.time()) + 3600)
    db.end_session("n1", int(time.time()) + 3600)  # logging out twice is fine
    db.end_session("old", int(time.time()) - 1)
    db.end_session("n2", int(time.time()) + 60)  # and clears sessions past their expiry
    assert db.session_ended("n1") and db.session_ended("n2") and not db.session_ended("old")


def test_no_good_answers_come_with_what_was_offered(opener: Opener) -> None:
    db = opener()
    db.record_request("r1", None, "is 5G gevaarlijk?", "x", ["5g-kanker"])
    db.record_request("r2", None, "suiker?", "email", [])
    db.record_feedback("r1", None, "no_good_answer", None, None, source="page")
    db.record_feedback("r2", None, "used", None, None, source="page")
    newest = db.record_feedback("r2", None, "no_good_answer", None, None, source="page")
    rows = db.no_good_answers(limit=10)
    assert [(r["request_id"], r["channel"]) for r in rows] == [("r2", "email"), ("r1", "x")]
    assert rows[0]["id"] == newest and rows[1]["message"] == "is 5G gevaarlijk?"
    assert len(db.no_good_answers(limit=1)) == 1


def test_hostile_text_is_stored_without_an_error(opener: Opener) -> None:
    db = opener()
    message = "tab\there\x1b[31m bell\x07 emoji 🙂 rtl \u202e nul\x00 lone\ud800 end"
    db.record_request("r-hostile", None, message, "x", [])
    db.record_feedback("r-hostile", None, "edited", message, None, source="api")
    stored = db.feedback(limit=1)[0]
    # NUL and lone surrogates cannot be stored as text (PostgreSQL, UTF-8): both backends keep U+FFFD instead.
    expected = message.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")
    assert stored["final_text"] == expected and stored["message"] == expected


def test_acknowledged_writes_are_there_after_reopening(opener: Opener) -> None:
    db = opener()
    key, _ = db.add_key("agent")
    db.record_request("r1", None, "m", "x", ["a", "b", "c"])
    ids = [db.record_feedback("r1", article, "used", None, None, source="api") for article in ("a", "b", "c")]
    ids.append(db.record_feedback("r1", "b", "rejected", None, None, source="api"))  # the last choice for b
    again = opener()  # a second process, or the same one restarted
    assert again.check_key(key) is not None
    assert sorted((r["id"], r["article_id"], r["action"]) for r in again.feedback(limit=100)) == [
        (ids[0], "a", "used"), (ids[1], "b", "rejected"), (ids[2], "c", "used")]


def test_the_last_choice_for_a_suggestion_wins_in_its_one_row(opener: Opener) -> None:
    db = opener()
    db.record_request("r1", None, "klopt het dat suiker kanker voedt?", "x", ["suiker-voedt-kanker", "b"])
    first = db.record_feedback("r1", "suiker-voedt-kanker", "used", "Nee, …", "k1", source="page")
    before = db.feedback(limit=1)[0]["created"]
    assert db.record_feedback("r1", "suiker-voedt-kanker", "rejected", None, "k2", source="page") == first
    assert db.record_feedback("r1", "suiker-voedt-kanker", "edited", "Nee hoor, mail me op a@b.nl", "k2",
                              source="chatwoot", edit_distance=12) == first
    other = db.record_feedback("r1", "b", "rejected", None, "k1", source="page")  # another suggestion: its own row
    request_wide = db.record_feedback("r1", None, "no_good_answer", None, "k1", source="page")
    assert db.record_feedback("r1", None, "no_good_answer", None, "k2", source="api") == request_wide
    rows = {r["id"]: r for r in db.feedback(limit=100)}
    assert sorted(rows) == sorted({first, other, request_wide})
    mine = rows[first]
    assert (mine["action"], mine["final_text"], mine["source"], mine["edit_distance"]) == \
        ("edited", "Nee hoor, mail me op [e-mail]", "chatwoot", 12)  # masked, like every stored text
    assert mine["created"] >= before


def test_a_choice_can_be_taken_back(opener: Opener) -> None:
    db = opener()
    db.record_request("r1", None, "m", "x", ["a"])
    db.record_feedback("r1", "a", "used", None, None, source="page")
    db.record_feedback("r1", None, "no_good_answer", None, None, source="page")
    assert db.withdraw_feedback("r1", "a") is True
    assert db.withdraw_feedback("r1", "a") is False  # nothing left to take back
    assert [(r["article_id"], r["action"]) for r in db.feedback(limit=10)] == [(None, "no_good_answer")]
    assert db.withdraw_feedback("r1", None) is True and db.feedback(limit=10) == []
    assert db.record_feedback("r1", "a", "rejected", None, None, source="page") > 0  # and chosen anew


def test_an_unknown_feedback_source_is_refused(opener: Opener) -> None:
    with pytest.raises(ValueError, match="source: unknown 'fax'"):
        opener().record_feedback("r1", None, "used", None, None, source="fax")


def test_concurrent_writers_lose_nothing(opener: Opener) -> None:
    first, second = opener(), opener()  # two connections/processes to one database
    first.record_request("r1", None, "m", "x", [])
    ids: list[int] = []
    lock = threading.Lock()

    def write(db: Database, n: int, thread: int) -> None:
        for i in range(n):  # each write its own suggestion: a row each
            fid = db.record_feedback(f"r{thread}-{i}", None, "edited", f"v{i}", None, source="api")
            with lock:
                ids.append(fid)

    threads = [threading.Thread(target=write, args=(db, 40, 10 * d + t)) for d, db in enumerate((first, second))
               for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == len(set(ids)) == 320
    assert sorted(r["id"] for r in first.feedback(limit=1000)) == sorted(ids)


def test_concurrent_choices_for_one_suggestion_leave_one_row_with_one_of_them(opener: Opener) -> None:
    first, second = opener(), opener()
    first.record_request("r1", None, "m", "x", ["a"])
    ids: set[int] = set()
    written: set[str] = set()
    lock = threading.Lock()

    def write(db: Database, thread: int) -> None:
        for i in range(30):
            text = f"writer {thread} version {i}"
            fid = db.record_feedback("r1", "a", ("used", "edited", "rejected")[i % 3], text, None, source="api")
            with lock:
                ids.add(fid)
                written.add(text)

    threads = [threading.Thread(target=write, args=(db, 10 * d + t)) for d, db in enumerate((first, second))
               for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [row] = first.feedback(limit=100)
    assert ids == {row["id"]} and row["final_text"] in written


def test_opening_twice_at_once_creates_the_schema_once(opener: Opener) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opener().list_keys()
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_unreachable_postgresql_is_a_clear_unavailable_error(tmp_path: Path) -> None:
    from tests.infra.processes import free_port

    url = f"postgresql://kb:secret-pw@127.0.0.1:{free_port()}/kb"
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database(Settings(data_dir=tmp_path, database_url=url))
    assert "127.0.0.1" in caught.value.message and "secret-pw" not in caught.value.message


def test_the_sqlite_file_and_its_journal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    db = open_database(Settings(data_dir=tmp_path / "data"))
    try:
        db.add_key("agent")  # the WAL and shared-memory files exist while the database is open
        files = sorted((tmp_path / "data").glob("kennisbank.sqlite*"))
        assert [f.name for f in files] == ["kennisbank.sqlite", "kennisbank.sqlite-shm", "kennisbank.sqlite-wal"]
        assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}
    finally:
        db.close()


def test_while_postgresql_is_down_calls_are_unavailable_and_work_again_when_it_is_back(tmp_path: Path) -> None:
    from tests.reliability.postgres import PostgresServer

    with PostgresServer.start() as pg:  # its own server: this test stops it
        db = open_database(Settings(data_dir=tmp_path, database_url=pg.create_database("restart")))
        try:
            key, _ = db.add_key("agent")
            assert db.check_key(key) is not None
            pg.pause()
            for call in (lambda: db.check_key(key),
                         lambda: db.record_feedback("r", None, "used", None, None, source="api"), db.ping):
                with pytest.raises(DatabaseUnavailable, match=f"127.0.0.1:{pg.port}/restart unavailable"):
                    call()
            pg.resume()
            # The same Database, not reopened: its pooled connections died with the server and are replaced.
            assert db.check_key(key) is not None
            assert db.record_feedback("r", None, "used", None, None, source="api") == 1
        finally:
            db.close()
