"""Feedback from what agents actually send (issue 22, point 3): the agent's public reply after a customer's message
is compared with the drafts of that message's note, and recorded without a click; it flows into the feedback mix,
the gaps, the insights and the consistency check over sent replies."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from sqlalchemy import select

from api.insights.models import InsightsQuery
from api.insights.report import build
from api.sql.schema import feedback, inbox_messages
from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"
FIVE_G = "is die nieuwe 5G mast naast de school gevaarlijk voor de kinderen? geeft dat kanker?"


def note_drafts(note: str) -> list[str]:
    """The drafts quoted in a note, in order."""
    blocks = [b for b in note.split("\n\n") if re.match(r"\*\*\d+\. ", b)]
    return ["\n".join(line[2:] if line.startswith("> ") else "" for line in b.splitlines() if line.startswith(">"))
            for b in blocks]


def _feedback(kb: Any) -> list[dict[str, Any]]:
    return kb.db.read(select(feedback).order_by(feedback.c.id))


def _status(kb: Any, message_id: str) -> str | None:
    rows = kb.db.read(select(inbox_messages.c.status).where(inbox_messages.c.message_id == message_id))
    return rows[0]["status"] if rows else None


def _note_for(kb: Any, fake: FakeChatwoot, message_id: int, text: str, conversation_id: int = 17) -> tuple[str, str]:
    fake.deliver(fake.webhook_url, fake.incoming(message_id, text, conversation_id=conversation_id),
                 secret=fake.secret)
    wait_for(lambda: _status(kb, str(message_id)) in ("posted", "no_match"))
    request_id = kb.db.read(select(inbox_messages.c.request_id)
                            .where(inbox_messages.c.message_id == str(message_id)))[0]["request_id"]
    note = next(n for n in fake.notes if f"kb:{message_id}" in n["content"])
    return request_id, note["content"]


def test_the_agents_reply_is_recorded_as_used_edited_or_ignored(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    sugar_request, sugar_note = _note_for(kb, fake, 4711, SUGAR)
    draft = note_drafts(sugar_note)[0]
    assert draft.startswith("Hoi Ria,")
    # The draft as it was, greeted and signed the agent's own way.
    used = draft.replace("Hoi Ria,", "Goedemiddag Ria!").rsplit("\n\n", 1)[0] + "\n\nGroet, Anna"
    fake.deliver(fake.webhook_url, fake.reply(4712, used), secret=fake.secret)
    wait_for(lambda: _status(kb, "4712") == "matched")

    five_g_request, five_g_note = _note_for(kb, fake, 4721, FIVE_G, conversation_id=18)
    edited = note_drafts(five_g_note)[0].replace("\n\n", "\n\nFijn dat je het vraagt. ", 1)
    fake.deliver(fake.webhook_url, fake.reply(4722, edited, conversation_id=18), secret=fake.secret)
    wait_for(lambda: _status(kb, "4722") == "matched")

    stop_request, _ = _note_for(kb, fake, 4731, "ik wil mijn maandelijkse donatie stopzetten, hoe doe ik dat? "
                                "mail me op ria@example.nl", conversation_id=19)
    own = "Hoi! Ik heb je donatie voor je stopgezet, je hoort het nog per mail. Bel gerust 06-12345678. Groetjes, Anna"
    masked = own.replace("06-12345678", "[telefoon]")  # stored masked, like every reply text
    fake.deliver(fake.webhook_url, fake.reply(4732, own, conversation_id=19), secret=fake.secret)
    wait_for(lambda: _status(kb, "4732") == "matched")

    rows = {r["request_id"]: r for r in _feedback(kb)}
    assert (rows[sugar_request]["action"], rows[sugar_request]["article_id"]) == ("used", "suiker-voedt-kanker")
    assert rows[sugar_request]["final_text"] == used and rows[sugar_request]["key_id"] == "chatwoot:1:7"
    assert rows[five_g_request]["action"] == "edited" and rows[five_g_request]["article_id"].startswith("5g")
    assert (rows[stop_request]["action"], rows[stop_request]["article_id"]) == ("ignored", None)
    # Through Database.record_feedback: where it came from, and how much the agent changed.
    assert {r["source"] for r in rows.values()} == {"chatwoot"}
    assert rows[sugar_request]["edit_distance"] == 0 and rows[stop_request]["edit_distance"] is None
    assert 0 < rows[five_g_request]["edit_distance"] < len(edited)

    # The feedback's paths: consistency over sent replies, the gaps, the insights' feedback mix.
    today = dt.datetime.now(dt.UTC).date()
    sent = kb.db.sent_replies(today.isoformat(), (today + dt.timedelta(days=1)).isoformat())
    assert {r["final_text"] for r in sent} == {used, edited, masked}
    assert rows[stop_request]["final_text"] == masked
    stored = kb.db.read(select(inbox_messages.c.message_id, inbox_messages.c.content))
    assert not [r for r in stored if "ria@example.nl" in r["content"] or "06-12345678" in r["content"]]
    assert [r["request_id"] for r in kb.db.no_good_answers()] == [stop_request]
    mix = build(kb.db, {}, InsightsQuery(period="day", periods=1, groups=False)).feedback
    by_article = {f.article_id: f for f in mix}
    assert by_article["suiker-voedt-kanker"].used == 1
    assert sum(f.ignored for f in mix) == 1 and sum(f.edited for f in mix) == 1


def test_a_reply_delivered_before_its_customers_message_is_matched_once(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    asked = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    reply = "Hoi Ria, nee: suiker voedt kanker niet. Groetjes, Anna"
    # Chatwoot's deliveries can overtake one another: the reply arrives first.
    fake.deliver(fake.webhook_url, fake.reply(4712, reply, sent_at=asked + dt.timedelta(minutes=1)),
                 secret=fake.secret)
    wait_for(lambda: _status(kb, "4712") == "observed")
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR, sent_at=asked), secret=fake.secret)
    wait_for(lambda: _status(kb, "4712") == "matched")
    # A second reply in the same conversation is not feedback on the same message again.
    fake.deliver(fake.webhook_url, fake.reply(4713, "Fijne dag nog!", sent_at=asked + dt.timedelta(minutes=3)),
                 secret=fake.secret)
    wait_for(lambda: _status(kb, "4713") == "observed")
    time.sleep(0.5)
    assert len(_feedback(kb)) == 1 and len(fake.notes) == 1


def test_replies_agents_send_from_the_drafts_teach_the_kb_as_their_clicks_would(make_kb: Any,
                                                                                  fake: FakeChatwoot) -> None:
    """Issue 23 through the inbox: an agent's reply that uses a draft is that agent's confirmation of its article,
    so the message becomes a candidate phrasing (masked, under the inbox agent's own id); a second agent confirming
    a near-repeat makes it evidence, exactly as two clicks on the agent page would."""
    from api.sql.schema import learned_phrasings

    kb = make_kb()
    kb.connect(fake)

    def phrasings() -> list[dict[str, Any]]:
        return kb.db.read(select(learned_phrasings.c.article_id, learned_phrasings.c.status,
                                 learned_phrasings.c.confirmers, learned_phrasings.c.text))

    _, note = _note_for(kb, fake, 4811, "Ria hier, " + SUGAR, conversation_id=31)
    fake.deliver(fake.webhook_url, fake.reply(4812, note_drafts(note)[0], conversation_id=31, agent_id=7),
                 secret=fake.secret)
    first = wait_for(lambda: phrasings(), timeout=30)
    assert [(p["article_id"], p["status"]) for p in first] == [("suiker-voedt-kanker", "candidate")]
    assert "chatwoot:1:7" in first[0]["confirmers"] and "Ria" not in first[0]["text"]  # masked, her name too

    again = "Ria hier, " + SUGAR.replace("mn schoonmoeder", "mijn schoonmoeder")  # copied on in a surge
    _, note = _note_for(kb, fake, 4821, again, conversation_id=32)
    fake.deliver(fake.webhook_url, fake.reply(4822, note_drafts(note)[0], conversation_id=32, agent_id=8,
                                              agent_name="Bram Jansen"), secret=fake.secret)
    active = wait_for(lambda: [p for p in phrasings() if p["status"] == "active"], timeout=30)
    assert [p["article_id"] for p in active] == ["suiker-voedt-kanker"]
    assert "chatwoot:1:7" in active[0]["confirmers"] and "chatwoot:1:8" in active[0]["confirmers"]
