"""An agent who changes their mind leaves one choice, and everything that counts feedback counts it once: the
insights' feedback mix and agent consistency's sent replies (a real SQLite database through api.service, no
model)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from api import service
from api.db import Database, open_database
from api.insights.queries import Filters, feedback_mix
from api.schemas import FeedbackAction, FeedbackIn
from eval.agent_sources import sent_replies
from kb.config import Settings
from kb.errors import InvalidInput, NotFound

pytestmark = pytest.mark.unit

TODAY = dt.datetime.now(dt.UTC).date()
SUGAR = "suiker-voedt-kanker"


@pytest.fixture()
def db(tmp_path: Path) -> Database:
    database = open_database(Settings(data_dir=tmp_path))
    database.record_request("r1", None, "klopt het dat suiker kanker voedt?", "x", [SUGAR, "5g-kanker"])
    return database


def _choose(db: Database, action: str, article_id: str | None = SUGAR, text: str | None = None) -> int:
    body = FeedbackIn(request_id="r1", article_id=article_id, action=FeedbackAction(action), final_text=text)
    return service.feedback(body, db=db, key_id="k1", source="page").feedback_id


def _mix(db: Database) -> dict[str, dict[str, int]]:
    return feedback_mix(db, TODAY, TODAY + dt.timedelta(days=1), Filters())


def test_used_then_rejected_then_edited_counts_once_as_edited(db: Database) -> None:
    ids = {_choose(db, "used", text="Nee, suiker voedt kanker niet. ^HG"), _choose(db, "rejected"),
           _choose(db, "edited", text="Nee hoor, suiker voedt kanker niet. ^SA")}
    assert len(ids) == 1
    assert _mix(db) == {SUGAR: {"edited": 1}}
    [reply] = sent_replies(db, TODAY, TODAY)
    assert reply.reply == "Nee hoor, suiker voedt kanker niet. ^SA"
    db.close()


def test_edited_then_rejected_is_no_sent_reply(db: Database) -> None:
    _choose(db, "edited", text="Nee hoor.")
    _choose(db, "rejected")
    assert _mix(db) == {SUGAR: {"rejected": 1}}
    with pytest.raises(InvalidInput, match="no replies sent"):
        sent_replies(db, TODAY, TODAY)
    db.close()


def test_each_suggestion_and_the_request_keep_a_choice_of_their_own(db: Database) -> None:
    _choose(db, "rejected")
    _choose(db, "rejected", article_id="5g-kanker")
    _choose(db, "no_good_answer", article_id=None)
    _choose(db, "no_good_answer", article_id=None)  # twice: still one
    assert _mix(db) == {SUGAR: {"rejected": 1, "no_good_answer": 1}, "5g-kanker": {"rejected": 1}}
    db.close()


def test_a_withdrawn_choice_counts_nowhere(db: Database) -> None:
    _choose(db, "used", text="Nee.")
    assert service.withdraw_feedback("r1", SUGAR, db=db) is True
    assert _mix(db) == {}
    with pytest.raises(NotFound, match="request_id"):
        service.withdraw_feedback("nope", SUGAR, db=db)
    with pytest.raises(InvalidInput, match="was not suggested"):
        service.withdraw_feedback("r1", "vaccins-autisme", db=db)
    db.close()
