"""Drafts as private notes (issue 22, point 1), against the fake Chatwoot."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.chatwoot.fake import DELIVERY_TIMEOUT, FakeChatwoot, post
from tests.chatwoot.serving import wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"


def test_a_customer_message_gets_one_private_note_with_the_best_drafts(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    started = time.perf_counter()
    answer = fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    assert answer.status_code == 202, answer.text
    assert time.perf_counter() - started < DELIVERY_TIMEOUT
    note = wait_for(lambda: fake.notes)[0]
    assert note["conversation_id"] == "17" and note["private"] is True
    text = note["content"]
    assert "`suiker-voedt-kanker`" in text and "**1. Voedt suiker kanker?**" in text
    assert "(https://" in text and "kb:4711" in text
    assert "Hoi Ria" in text  # the customer's name from the delivery, greeted by the Facebook template
    # Chatwoot sends the note back as a delivery: it is ignored, never answered (no loop).
    echo = fake.deliver(fake.webhook_url, fake.echo_of(note), secret=fake.secret)
    assert echo.status_code == 200 and echo.json()["status"] == "ignored"
    time.sleep(1.0)
    assert len(fake.notes) == 1


def _statuses(kb: Any) -> dict[str, str]:
    from sqlalchemy import select

    from api.sql.schema import inbox_messages

    return {r["message_id"]: r["status"] for r in kb.db.read(select(inbox_messages))}


def test_a_delivery_repeated_or_sent_again_for_the_same_message_is_handled_once(make_kb: Any,
                                                                                fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    payload, now = fake.incoming(4711, SUGAR), int(time.time())
    # Sent again later (a job run twice) the delivery keeps its id and gets a new timestamp and signature.
    first = fake.deliver(fake.webhook_url, payload, secret=fake.secret, delivery_id="d-1", timestamp=now - 2)
    again = fake.deliver(fake.webhook_url, payload, secret=fake.secret, delivery_id="d-1", timestamp=now - 1)
    other = fake.deliver(fake.webhook_url, payload, secret=fake.secret, delivery_id="d-2", timestamp=now)
    updated = fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR, event="message_updated"), secret=fake.secret)
    assert [r.status_code for r in (first, again, other, updated)] == [202, 200, 200, 200]
    assert [r.json()["status"] for r in (again, other, updated)] == ["duplicate", "duplicate", "ignored"]
    wait_for(lambda: fake.notes)
    time.sleep(1.5)
    assert len(fake.notes) == 1


def test_an_unsigned_chatwoot_is_proven_by_the_url_token_alone(make_kb: Any) -> None:
    fake = FakeChatwoot(signs=False).start()  # a Chatwoot from before webhook secrets
    try:
        kb = make_kb()
        output = kb.connect(fake).output
        assert "unsigned" in output
        answer = fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR))
        assert answer.status_code == 202, answer.text
        wait_for(lambda: fake.notes)
        assert fake.violations == []
    finally:
        fake.stop()


def test_replies_bots_and_private_notes_never_get_a_note(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    reply = fake.deliver(fake.webhook_url, fake.reply(4801, "Nee hoor, suiker voedt kanker niet."),
                         secret=fake.secret)
    assert reply.status_code == 202  # an agent's reply is worked on (feedback), never answered
    bot = fake.deliver(fake.webhook_url, fake.reply(4802, "Bedankt, we komen erop terug", sender_type="agent_bot"),
                       secret=fake.secret)
    assert bot.json()["status"] == "ignored"
    wait_for(lambda: _statuses(kb).get("4801") == "observed")
    assert fake.notes == []


def test_no_article_means_no_note_unless_asked_for_one(make_kb: Any, fake: FakeChatwoot) -> None:
    quiet = make_kb()
    quiet.connect(fake)
    off_topic = "hoe laat begint de wedstrijd van ajax vanavond eigenlijk?"
    assert fake.deliver(fake.webhook_url, fake.incoming(4711, off_topic), secret=fake.secret).status_code == 202
    wait_for(lambda: _statuses(quiet).get("4711") == "no_match")
    assert fake.notes == []

    chatty = FakeChatwoot().start()
    try:
        kb = make_kb(chatwoot_no_match_note=True)
        kb.connect(chatty)
        chatty.deliver(chatty.webhook_url, chatty.incoming(4711, off_topic), secret=chatty.secret)
        note = wait_for(lambda: chatty.notes)[0]["content"]
        assert "geen passend artikel" in note
        # An off-topic message gets the editors' off-topic guideline and reply with it, as on the agent page.
        assert "Soort bericht: **off-topic**" in note and "> Hoi Ria! Leuk dat je reageert!" in note, note
        assert chatty.violations == []
    finally:
        chatty.stop()


def test_which_inboxes_and_tiers_get_notes_is_configurable(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb(chatwoot_inboxes="5", chatwoot_tiers="high")
    kb.connect(fake)
    other_inbox = fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR, inbox_id=3), secret=fake.secret)
    assert other_inbox.json() == {"status": "ignored", "reason": "inbox 3 is not in KB_CHATWOOT_INBOXES"}
    # Four words or fewer are never `high` (KB_SHORT_MESSAGE_WORDS): with tiers "high" no draft qualifies.
    short = fake.deliver(fake.webhook_url, fake.incoming(4712, "suiker voedt kanker?", inbox_id=5),
                         secret=fake.secret)
    assert short.status_code == 202
    wait_for(lambda: _statuses(kb).get("4712") == "no_match")
    full = fake.deliver(fake.webhook_url, fake.incoming(4713, SUGAR, inbox_id=5, conversation_id=18),
                        secret=fake.secret)
    assert full.status_code == 202
    note = wait_for(lambda: fake.notes)[0]
    assert "· hoog · `" in note["content"] and "· middel" not in note["content"]


def test_drafts_fit_the_conversations_channel(make_kb: Any, fake: FakeChatwoot) -> None:
    from kb.channels import Channel

    kb = make_kb()
    kb.connect(fake)
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR, channel="Channel::TwitterProfile"), secret=fake.secret)
    note = wait_for(lambda: fake.notes)[0]["content"]
    drafts = ["\n".join(line[2:] for line in block.splitlines() if line.startswith("> "))
              for block in note.split("\n\n") if block.startswith("**1.") or block.startswith("**2.")]
    assert drafts and all(Channel.X.length(d) <= 280 for d in drafts)
    assert "X (Twitter)" in note and all(d.rstrip().split()[-1].startswith("^") for d in drafts)


COMPLAINT = ("Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste organisatie ooit, "
             "ik stop ermee.")
ABUSE = "Stelletje oplichters, kankerlijers zijn jullie"


def test_a_note_says_what_kind_of_message_it_is_and_offers_the_kinds_reply_first(make_kb: Any,
                                                                                  fake: FakeChatwoot) -> None:
    """The message kinds (kb.kinds) on the note as on the agent page: a complaint's acknowledgement first, then
    the article, with the guideline; abuse gets the moderation guideline and no draft. The agent who sends the
    acknowledgement as it was offered used it (feedback about the request as a whole)."""
    from sqlalchemy import select

    from api.sql.schema import feedback

    kb = make_kb(chatwoot_tiers="high,medium,low")
    kb.connect(fake)
    fake.deliver(fake.webhook_url, fake.incoming(4711, COMPLAINT), secret=fake.secret)
    fake.deliver(fake.webhook_url, fake.incoming(4721, ABUSE, conversation_id=18), secret=fake.secret)
    wait_for(lambda: len(fake.notes) == 2)
    notes = {n["conversation_id"]: n["content"] for n in fake.notes}
    complaint, abuse = notes["17"], notes["18"]
    assert "Soort bericht: **klacht**" in complaint and "Vraag om een privébericht" in complaint
    assert "> Wat vervelend dat je dit zo hebt ervaren" in complaint
    assert complaint.index("**Eerst de reactie op het bericht**") < complaint.index("`donatie-stopzetten`")
    assert "Modereren: verbergen, geen concept" in abuse and "niet op reageren" in abuse
    assert "\n>" not in abuse and "· niet beantwoorden voor" in abuse
    assert "Controleer het concept" not in abuse and "Controleer het concept" in complaint  # no draft to check

    block = next(b for b in complaint.split("\n\n**") if b.startswith("Eerst de reactie"))
    sent = "\n".join(line[2:] if line.startswith("> ") else "" for line in block.splitlines()[1:])
    fake.deliver(fake.webhook_url, fake.reply(4712, sent), secret=fake.secret)
    wait_for(lambda: kb.db.read(select(feedback)))
    [row] = kb.db.read(select(feedback))
    assert (row["action"], row["article_id"], row["source"], row["edit_distance"]) == ("used", None, "chatwoot", 0)


def test_drafts_are_in_the_customers_language(make_kb: Any, fake: FakeChatwoot) -> None:
    """Chatwoot's payload names no language: the message's own decides, as on /v1/suggest."""
    kb = make_kb()
    kb.connect(fake)
    english = "Is it true that sugar feeds cancer? My aunt told me to stop eating fruit"
    fake.deliver(fake.webhook_url, fake.incoming(4711, english), secret=fake.secret)
    note = wait_for(lambda: fake.notes)[0]["content"]
    first = note.split("\n\n")[1]
    assert "`sugar-feeds-cancer-en`" in first and "> Hi Ria," in first


def test_suggestions_keep_answering_while_chatwoot_is_down(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb(chatwoot_retry_seconds=10)
    kb.connect(fake)
    url, secret = fake.webhook_url, fake.secret
    fake.stop()  # Chatwoot goes down after the delivery left it
    body, headers = fake.signed(fake.incoming(4711, SUGAR), secret=secret)
    assert post(url, body, headers).status_code == 202
    key = kb.db.add_key("agent", name="agent")[0]
    for _ in range(5):  # everyone else's suggestions meanwhile
        answer = httpx.post(f"{kb.url}/v1/suggest", json={"message": SUGAR}, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
    wait_for(lambda: _statuses(kb).get("4711") == "failed", timeout=40)
    from api.inbox import store

    stats = store.stats(kb.db, kb.state.connector.connections.all()[0].key)
    assert stats["notes_failed"] == 1 and "cannot be reached" in stats["last_error"]


def test_a_chatwoot_answering_errors_is_retried_with_backoff_and_posted_once(make_kb: Any,
                                                                             fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    fake.faults.statuses = [503, 500, 429]
    started = time.monotonic()
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: _statuses(kb).get("4711") == "posted", timeout=30)
    assert time.monotonic() - started >= 1 + 2 + 4 - 0.5  # waited 1, 2, 4 s between the attempts
    assert len(fake.calls("POST", "/messages")) == 4 and len(fake.notes) == 1


def test_a_note_that_timed_out_after_it_was_posted_is_not_posted_again(make_kb: Any, fake: FakeChatwoot,
                                                                       monkeypatch: Any) -> None:
    from api.inbox import chatwoot

    monkeypatch.setattr(chatwoot, "TIMEOUT", httpx.Timeout(0.5))
    kb = make_kb()
    kb.connect(fake)
    fake.faults.delay = 1.5  # Chatwoot stores the note, then answers too late
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: _statuses(kb).get("4711") == "posted", timeout=30)
    assert len(fake.notes) == 1 and len(fake.calls("POST", "/messages")) == 1
    assert fake.calls("GET", "/conversations/17/messages")  # looked for it before posting again


def test_a_conversation_chatwoot_no_longer_has_is_not_retried(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    fake.faults.statuses = [404]
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: _statuses(kb).get("4711") == "failed")
    assert len(fake.calls("POST", "/messages")) == 1


def test_a_capped_tier_on_the_note_says_why_and_no_score_contradicts_it(make_kb: Any, fake: FakeChatwoot) -> None:
    """As on the agent page and in the sidebar (issue 26, point 2): a short message caps the tier at `middel`,
    and the note says so beside the tier instead of a score of nearly 1 under a `middel` badge."""
    kb = make_kb(chatwoot_tiers="high,medium,low")
    kb.connect(fake)
    fake.deliver(fake.webhook_url, fake.incoming(4711, "suiker voedt kanker?"), secret=fake.secret)
    text = wait_for(lambda: fake.notes)[0]["content"]
    head = next(line for line in text.splitlines() if line.startswith("**1. "))
    assert head.endswith("· middel — kort bericht, lees mee · `suiker-voedt-kanker`"), head
    assert not re.search(r"\d,\d\d", head) and "⚠️ Kort bericht" not in text
