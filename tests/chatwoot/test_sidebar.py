"""The sidebar app over HTTP (issue 22, point 2): framed only by the connected Chatwoot, signed in with a key
turned into a session token, and suggesting for the text Chatwoot itself has, not the unsigned context's.
tests/browser/test_chatwoot_sidebar_browser.py runs it in Chromium inside a page that plays Chatwoot."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from api.sql.schema import feedback, learned_phrasings, requests
from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"
SIDEBAR = "/integrations/chatwoot/sidebar"


def _sign_in(kb: Any, role: str = "agent") -> dict[str, str]:
    key = kb.db.add_key(role, name=f"Anna ({role})")[0]
    answer = httpx.post(f"{kb.url}{SIDEBAR}/session", json={"key": key})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert key.split("_", 2)[2] not in data["token"]  # a session token, never the key
    return {"X-KB-Session": data["token"], "X-CSRF-Token": data["csrf"], "Accept": "application/json"}


def _ask(kb: Any, headers: dict[str, str], **body: Any) -> httpx.Response:
    return httpx.post(f"{kb.url}{SIDEBAR}/suggest", headers=headers, timeout=30,
                      json={"account": 1, "conversation_id": "17", **body})


def _asked_in_the_sidebar(make_kb: Any, fake: FakeChatwoot) -> tuple[Any, dict[str, str], httpx.Response]:
    """A connected service, an agent signed in to its sidebar, and the sidebar's answer about a sugar message that
    only Chatwoot's context holds."""
    kb = make_kb()
    kb.connect(fake)
    headers = _sign_in(kb)
    return kb, headers, _ask(kb, headers, message_id="4799", context_text=SUGAR)


def _request_id(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return answer.text.split('data-request-id="')[1].split('"')[0]


def _feedback(kb: Any, request_id: str) -> list[tuple[str | None, str, str | None]]:
    rows = kb.db.read(select(feedback.c.article_id, feedback.c.action, feedback.c.source)
                      .where(feedback.c.request_id == request_id))
    return [(r["article_id"], r["action"], r["source"]) for r in rows]


def _requests(kb: Any) -> int:
    return int(kb.db.read(select(func.count().label("n")).select_from(requests))[0]["n"])


def test_only_the_connected_chatwoot_may_frame_the_sidebar(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    page = httpx.get(f"{kb.url}{SIDEBAR}?account=1")
    assert page.status_code == 200 and "x-frame-options" not in page.headers
    assert f"frame-ancestors {fake.url};" in page.headers["content-security-policy"]
    other = httpx.get(f"{kb.url}{SIDEBAR}?account=2")
    assert "frame-ancestors 'none'" in other.headers["content-security-policy"]
    assert "niet gekoppeld aan Chatwoot-account 2" in other.text
    login = httpx.get(f"{kb.url}/login")  # every other page stays unframeable
    assert login.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in \
        login.headers["content-security-policy"]


def test_signing_in_takes_json_only_and_sets_a_third_party_cookie_only_over_https(make_kb: Any, fake: FakeChatwoot,
                                                                                 sample_engine: Any) -> None:
    from fastapi.testclient import TestClient

    kb = make_kb()
    kb.connect(fake)
    key = kb.db.add_key("agent")[0]
    as_form = httpx.post(f"{kb.url}{SIDEBAR}/session", data={"key": key})  # what another site's form could send
    assert as_form.status_code == 422
    assert httpx.post(f"{kb.url}{SIDEBAR}/session", json={"key": key + "x"}).status_code == 401
    plain = httpx.post(f"{kb.url}{SIDEBAR}/session", json={"key": key})
    assert plain.status_code == 200 and "set-cookie" not in plain.headers  # http: the header path only
    with TestClient(kb.app, base_url="https://kb.example.org") as secure:
        answer = secure.post(f"{SIDEBAR}/session", json={"key": key})
        cookie = answer.headers["set-cookie"].lower()
        for part in ("kb_sidebar=", "samesite=none", "secure", "partitioned", "httponly", f"path={SIDEBAR}"):
            assert part in cookie
        csrf = answer.json()["csrf"]
        asked = secure.post(f"{SIDEBAR}/suggest", headers={"X-CSRF-Token": csrf},
                            json={"account": 1, "conversation_id": "17", "context_text": SUGAR})
        assert asked.status_code == 200 and "suiker-voedt-kanker" in asked.text  # the cookie alone signs in


def test_the_sidebar_suggests_for_what_chatwoot_signed_not_for_the_context(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: fake.notes)
    before = _requests(kb)
    headers = _sign_in(kb)
    answer = _ask(kb, headers, message_id="4711", context_text="is 5G gevaarlijk voor mijn kinderen?",
                  channel="Channel::FacebookPage", customer_name="Ria")
    assert answer.status_code == 200, answer.text
    assert "Bericht zoals Chatwoot het stuurde" in answer.text and "suiker-voedt-kanker" in answer.text
    assert "5g-kanker" not in answer.text and "is 5G gevaarlijk" not in answer.text  # (the search's hint names 5G)
    assert _requests(kb) == before  # shown again under the note's own request: one request per message


def test_the_sidebar_shows_the_kind_its_guideline_and_its_reply_first(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    fake.incoming(4730, "Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste "
                        "organisatie ooit, ik stop ermee.")
    html = _ask(kb, _sign_in(kb), message_id="4730", channel="Channel::FacebookPage").text
    assert 'data-kind="complaint"' in html and "Vraag om een privébericht" in html
    assert html.index('class="suggestion kind-reply"') < html.index('data-article-id="donatie-stopzetten"')
    assert "Geen passend artikel gevonden" not in html


def test_a_message_chatwoot_has_but_never_delivered_is_read_from_its_api(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    fake.incoming(4720, SUGAR)  # in the conversation, but no delivery reached Kennisbank
    answer = _ask(kb, _sign_in(kb), message_id="4720", context_text="iets anders", channel="Channel::TwitterProfile")
    assert answer.status_code == 200, answer.text
    assert "Bericht opgehaald uit Chatwoot" in answer.text and "suiker-voedt-kanker" in answer.text
    assert 'data-max="280"' in answer.text  # the context only says which channel
    assert fake.calls("GET", "/conversations/17/messages")


def test_the_context_text_is_used_only_when_nothing_else_has_it_and_the_page_says_so(make_kb: Any,
                                                                                     fake: FakeChatwoot) -> None:
    kb, headers, answer = _asked_in_the_sidebar(make_kb, fake)
    assert answer.status_code == 200 and "Uit de gesprekscontext, niet gecontroleerd" in answer.text
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    elsewhere = _ask(kb, headers, conversation_id="18", message_id="4711", context_text="5G en straling")
    assert "Bericht zoals Chatwoot het stuurde" not in elsewhere.text  # a message of another conversation
    nothing = _ask(kb, headers, message_id="4798")
    assert nothing.status_code == 404


def test_feedback_needs_the_csrf_token_and_signing_out_ends_the_token(make_kb: Any, fake: FakeChatwoot) -> None:
    kb, headers, answer = _asked_in_the_sidebar(make_kb, fake)
    request_id = answer.text.split('data-request-id="')[1].split('"')[0]
    body = {"request_id": request_id, "article_id": "suiker-voedt-kanker", "action": "used", "final_text": "Nee."}
    no_csrf = {"X-KB-Session": headers["X-KB-Session"], "Accept": "application/json"}
    refused = httpx.post(f"{kb.url}{SIDEBAR}/feedback", headers=no_csrf, json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_refused"
    assert httpx.post(f"{kb.url}{SIDEBAR}/feedback", headers=headers, json=body).status_code == 201
    assert httpx.post(f"{kb.url}{SIDEBAR}/logout", headers=headers).status_code == 200
    assert _ask(kb, headers, message_id="4799", context_text=SUGAR).status_code == 401
    assert _ask(kb, {}, message_id="4799", context_text=SUGAR).status_code == 401
    assert _ask(kb, _sign_in(kb), account=2, message_id="4799", context_text=SUGAR).status_code == 404


# --- choosing the article the suggestions missed, learning from the sidebar, tiers as on the agent page (issues 23, 26)


def test_the_agent_searches_the_kb_in_the_sidebar_and_chooses_an_article_that_was_not_suggested(
        make_kb: Any, fake: FakeChatwoot) -> None:
    kb, headers, answer = _asked_in_the_sidebar(make_kb, fake)
    request_id = _request_id(answer)
    assert "Past geen van deze?" in answer.text and f'action="{SIDEBAR}/choose"' in answer.text
    offered = re.findall(r'<li class="suggestion" data-article-id="([^"]+)"', answer.text)
    assert "5g-kanker" not in offered

    def choose(q: str, request: str = request_id, sent: dict[str, str] = headers) -> httpx.Response:
        return httpx.post(f"{kb.url}{SIDEBAR}/choose", headers={**sent, "Accept": "text/html"}, timeout=30,
                          json={"request_id": request, "q": q})

    no_csrf = {"X-KB-Session": headers["X-KB-Session"]}
    assert choose("5G", sent=no_csrf).status_code == 403
    assert choose("5G", request="0" * 32).status_code == 404
    assert choose("x" * 201).status_code == 422
    found = choose("5G")
    assert found.status_code == 200, found.text
    assert 'data-article-id="5g-kanker"' in found.text and 'data-action="chosen"' in found.text
    assert "staat al bij de suggesties" not in found.text.split('data-article-id="5g-kanker"')[1].split("</li>")[0]
    sugar = choose("suiker").text.split('data-article-id="suiker-voedt-kanker"')[1].split("</li>")[0]
    assert f"staat al bij de suggesties (nr. {offered.index('suiker-voedt-kanker') + 1})" in sugar
    assert "&lt;b&gt;" in choose("<b>5G").text  # the agent's words come back escaped


def test_the_sidebar_stores_a_chosen_article_that_was_not_suggested_and_takes_it_back(make_kb: Any,
                                                                                        fake: FakeChatwoot) -> None:
    kb, headers, answer = _asked_in_the_sidebar(make_kb, fake)
    request_id = _request_id(answer)
    assert 'data-article-id="5g-kanker"' not in answer.text
    pick = {"request_id": request_id, "article_id": "5g-kanker", "action": "chosen", "final_text": None}
    stored = httpx.post(f"{kb.url}{SIDEBAR}/feedback", headers=headers, json=pick)
    assert stored.status_code == 201, stored.text
    assert _feedback(kb, request_id) == [("5g-kanker", "chosen", "chatwoot")]
    undone = httpx.post(f"{kb.url}{SIDEBAR}/feedback", headers=headers, json={**pick, "undo": True})
    assert undone.status_code == 200 and undone.json()["withdrawn"] is True  # clicked again: taken back
    assert _feedback(kb, request_id) == []


def test_a_used_draft_in_the_sidebar_becomes_a_learned_phrasing_candidate(make_kb: Any, fake: FakeChatwoot) -> None:
    kb, headers, answer = _asked_in_the_sidebar(make_kb, fake)
    request_id = _request_id(answer)
    used = {"request_id": request_id, "article_id": "suiker-voedt-kanker", "action": "used", "final_text": "Nee."}
    assert httpx.post(f"{kb.url}{SIDEBAR}/feedback", headers=headers, json=used).status_code == 201
    rows = kb.db.read(select(learned_phrasings.c.article_id, learned_phrasings.c.status, learned_phrasings.c.text))
    assert [(r["article_id"], r["status"]) for r in rows] == [("suiker-voedt-kanker", "candidate")]
    assert "suiker" in rows[0]["text"]  # one agent: proposed to the editors, not yet evidence


def test_a_capped_tier_in_the_sidebar_says_why_and_shows_no_raw_score(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    html = _ask(kb, _sign_in(kb), message_id="4799", context_text="suiker voedt kanker").text  # three words
    badges = re.findall(r'<span class="badge conf-[^>]*>(.*?)</span></span>', html, re.S)
    assert badges and "middel — kort bericht, lees mee" in badges[0], badges
    assert all(not re.search(r"\d[.,]\d", b) for b in badges), badges  # the tier in words, no 0.00-1.00 beside it
    assert "Kort bericht: lees mee of dit echt de vraag is" not in html  # said by the badge, not again as a warning
    assert "Vaak juist: lees het concept eerst." in html  # what the tier asks, as on the agent page


def test_without_a_match_the_sidebar_offers_the_search_first(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    html = _ask(kb, _sign_in(kb), message_id="4799", context_text="Wie wint er zondag, Ajax of Feyenoord? ⚽⚽").text
    assert 'class="suggestion"' not in html and "Geen passend artikel gevonden" in html
    assert "Past geen van deze?" not in html and f'action="{SIDEBAR}/choose"' in html
