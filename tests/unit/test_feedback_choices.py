"""An agent who changes their mind leaves one choice, and everything that counts feedback counts it once: the
insights' feedback mix and agent consistency's sent replies (a real SQLite database through api.service, no
model)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from api import service
from api.db import Database, open_database
from api.insights.queries import Filters, feedback_mix
from api.schemas import FeedbackAction, FeedbackIn
from eval.agent_sources import sent_replies
from kb.config import Settings
from kb.errors import InvalidInput, NotFound

pytestmark = pytest.mark.unit



def today() -> dt.date:
    """Read when a test asks, not at collection: a suite that crosses midnight UTC asks about the new day."""
    return dt.datetime.now(dt.UTC).date()
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
    return feedback_mix(db, today(), today() + dt.timedelta(days=1), Filters())


def test_used_then_rejected_then_edited_counts_once_as_edited(db: Database) -> None:
    ids = {_choose(db, "used", text="Nee, suiker voedt kanker niet. ^HG"), _choose(db, "rejected"),
           _choose(db, "edited", text="Nee hoor, suiker voedt kanker niet. ^SA")}
    assert len(ids) == 1
    assert _mix(db) == {SUGAR: {"edited": 1}}
    [reply] = sent_replies(db, today(), today())
    assert reply.reply == "Nee hoor, suiker voedt kanker niet. ^SA"
    db.close()


def test_edited_then_rejected_is_no_sent_reply(db: Database) -> None:
    _choose(db, "edited", text="Nee hoor.")
    _choose(db, "rejected")
    assert _mix(db) == {SUGAR: {"rejected": 1}}
    with pytest.raises(InvalidInput, match="no replies sent"):
        sent_replies(db, today(), today())
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


class _Served:
    """The served articles as service.feedback asks for them (engine.served.get_articles), without an index."""

    def __init__(self, *ids: str) -> None:
        self.ids = ids

    def get_articles(self, ids: list[str]) -> dict[str, SimpleNamespace]:
        return {i: SimpleNamespace(id=i, is_served=True) for i in ids if i in self.ids}


ENGINE = SimpleNamespace(served=_Served(SUGAR, "5g-kanker", "vaccins-autisme"))


def _pick(db: Database, article_id: str) -> int:
    body = FeedbackIn(request_id="r1", article_id=article_id, action=FeedbackAction.CHOSEN)
    return service.feedback(body, db=db, key_id="k1", source="page", engine=ENGINE).feedback_id  # type: ignore[arg-type]


def test_an_article_chosen_when_the_suggestions_missed_is_one_choice_counted_as_chosen(db: Database) -> None:
    _choose(db, "rejected")
    first = _pick(db, "vaccins-autisme")  # served, not offered: chosen may name it
    assert _pick(db, "vaccins-autisme") == first  # twice: still one row
    assert _mix(db) == {SUGAR: {"rejected": 1}, "vaccins-autisme": {"chosen": 1}}
    with pytest.raises(InvalidInput, match="no served article 'gone'"):
        _pick(db, "gone")
    with pytest.raises(InvalidInput, match="was not suggested"):  # only chosen may name an article not offered
        _choose(db, "used", article_id="vaccins-autisme")
    with pytest.raises(InvalidInput, match="was not suggested"):
        service.withdraw_feedback("r1", "vaccins-autisme", db=db)
    assert service.withdraw_feedback("r1", "vaccins-autisme", db=db, action=FeedbackAction.CHOSEN,
                                     engine=ENGINE) is True  # type: ignore[arg-type]
    assert _mix(db) == {SUGAR: {"rejected": 1}}
    db.close()
