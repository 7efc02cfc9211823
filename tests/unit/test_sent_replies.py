"""Agent consistency over what agents really sent: the feedback the service recorded in a period (a real SQLite
database, no model), and `kb eval agents` refusing an unclear choice of source before it loads anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from api.db import Database, open_database
from eval.agent_sources import sent_replies
from kb.config import Settings
from kb.errors import InvalidInput

pytestmark = pytest.mark.unit



def today() -> dt.date:
    """Read when a test asks, not at collection: a suite that crosses midnight UTC asks about the new day."""
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = open_database(Settings(data_dir=tmp_path))
    anna = database.add_key("agent", name="Anna")[1]
    bram = database.add_key("agent", name="Bram")[1]
    for n, (key, action, text) in enumerate([(anna, "used", "Nee, suiker voedt kanker niet."),
                                             (bram, "edited", "Nee hoor, dat is een fabel."),
                                             (bram, "rejected", "niet verstuurd"),
                                             (anna, "no_good_answer", None)]):
        database.record_request(f"r{n}", key.id, f"vraag {n}", "facebook", ["suiker-voedt-kanker"])
        database.record_feedback(f"r{n}", None, action, text, key.id, source="api")
    return database


def test_only_replies_sent_in_the_period_are_read_with_their_agent_and_message(db: Database) -> None:
    replies = sent_replies(db, today(), today())
    assert [(r.agent, r.message, r.reply, r.channel) for r in replies] == [
        ("Anna", "vraag 0", "Nee, suiker voedt kanker niet.", "facebook"),
        ("Bram", "vraag 1", "Nee hoor, dat is een fabel.", "facebook")]  # rejected and no-good-answer: not sent
    assert all(r.time.startswith(today().isoformat()) for r in replies)
    db.close()


def test_an_empty_or_too_large_period_is_refused_with_what_to_do(db: Database) -> None:
    with pytest.raises(InvalidInput, match="no replies sent through the service from 2020-01-01 to 2020-01-31"):
        sent_replies(db, dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    with pytest.raises(InvalidInput, match=r"more than 1 replies from .*: choose a shorter period"):
        sent_replies(db, today(), today(), max_replies=1)
    db.close()


@pytest.mark.parametrize(("argv", "says"), [
    (["eval", "agents"], "give LOG (a JSONL log or CSV export) or --sent-from DAY"),
    (["eval", "agents", "README.md", "--sent-from", "2026-11-01"], "give LOG"),
    (["eval", "agents", "README.md", "--sent-to", "2026-11-01"], "--sent-to goes with --sent-from"),
    (["eval", "agents", "--sent-from", "2026-11-30", "--sent-to", "2026-11-01"],
     "--sent-to 2026-11-01 is before --sent-from 2026-11-30"),
])
def test_kb_eval_agents_wants_one_source_of_replies(argv: list[str], says: str, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kb.cli import EXIT_USAGE, main

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    assert main(argv) == EXIT_USAGE
    assert says in capsys.readouterr().err
