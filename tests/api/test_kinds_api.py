"""The message kind in the API: POST /v1/suggest through the real app on the sample index."""

from __future__ import annotations

from typing import Any

COMPLAINT = ("Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste organisatie ooit, "
             "ik stop ermee.")


def _suggest(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/suggest", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_complaint_comes_back_with_its_kind_its_acknowledgement_and_composed_drafts(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message=COMPLAINT, channel="x", customer_name="Ria")
    assert body["kind"] == "complaint" and 0.5 < body["kind_probability"] <= 1.0
    reply = body["kind_reply"]
    assert reply["template"] == "kinds/complaint.x.nl.j2" and reply["draft"].startswith("Hoi Ria, wat vervelend")
    assert reply["draft_length"] <= 280 and body["moderation"] is None
    assert "privébericht" in body["kind_guideline"]
    assert body["suggestions"][0]["article_id"] == "donatie-stopzetten"
    assert "sorry" in body["suggestions"][0]["draft"] and body["suggestions"][0]["draft_length"] <= 280


def test_thanks_get_the_thank_you_and_no_article(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="Wat een prachtige campagne, ik moest er echt van huilen ❤️ dank "
                                                   "jullie wel", customer_name="Ria")
    assert body["kind"] == "thanks" and body["suggestions"] == []
    assert body["kind_reply"]["draft"].startswith("Dank je wel, Ria!")


def test_abuse_is_flagged_for_moderation_with_the_guideline_and_no_draft(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="Stelletje oplichters, kankerlijers zijn jullie", channel="x")
    assert body["kind"] == "abuse" and body["moderation"] == {"action": "hide", "reason": "abuse"}
    assert body["suggestions"] == [] and body["kind_reply"] is None
    assert "op X" in body["kind_guideline"]  # the guideline speaks to the channel


def test_a_question_keeps_its_fact_answer_and_has_no_kind_reply(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="klopt het dat suiker kanker voedt?")
    assert body["kind"] == "question" and body["kind_reply"] is None and body["moderation"] is None
    assert body["suggestions"][0]["article_id"] == "suiker-voedt-kanker"


def test_the_openapi_document_describes_the_kind_fields(client: Any) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    fields = schema["SuggestOut"]["properties"]
    assert {"kind", "kind_probability", "kind_reply", "kind_guideline", "moderation"} <= set(fields)
    assert "abuse" in fields["kind"]["description"]


def _agent_session(client: Any, key: str) -> Any:
    import re

    from fastapi.testclient import TestClient

    session = TestClient(client.app, follow_redirects=False, raise_server_exceptions=False)
    token = re.search(r'name="csrf" value="([^"]+)"', session.get("/login").text)
    assert token and session.post("/login", data={"csrf": token.group(1), "key": key}).status_code == 303
    return session


def _page_suggest(session: Any, message: str, channel: str = "x") -> str:
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', session.get("/agent").text)
    assert token
    response = session.post("/agent/suggest", data={"csrf": token.group(1), "message": message, "channel": channel,
                                                    "customer_name": "Ria"}, headers={"X-Fragment": "1"})
    assert response.status_code == 200, response.text
    return str(response.text)


def test_the_agent_page_shows_the_kind_its_guideline_and_the_kind_reply_first(client: Any, keys: Any) -> None:
    html = _page_suggest(_agent_session(client, keys["agent"]), COMPLAINT)
    assert 'data-kind="complaint"' in html and ">klacht<" in html
    assert "Vraag om een privébericht" in html  # the guideline
    reply = html.index('class="kind-reply"')
    first_article = html.index('data-article-id="donatie-stopzetten"')
    assert reply < first_article  # the acknowledgement is offered first, and Alt+C copies it
    assert html.index("Alt+C") < first_article
    assert "Geen passend artikel gevonden" not in html


def test_the_agent_page_flags_abuse_for_moderation_without_a_draft(client: Any, keys: Any) -> None:
    html = _page_suggest(_agent_session(client, keys["agent"]), "Stelletje oplichters, kankerlijers zijn jullie")
    assert "Modereren: verbergen, geen concept" in html and "scheldpartij of belediging" in html
    assert "<textarea" not in html and "Geen passend artikel gevonden" not in html


def test_feedback_on_a_kind_reply_is_stored_without_an_article(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="Dank jullie wel voor de snelle hulp gisteren!", channel="x")
    assert body["kind"] == "thanks"
    response = client.post("/v1/feedback", headers=auth["agent"], json={
        "request_id": body["request_id"], "action": "used", "final_text": body["kind_reply"]["draft"]})
    assert response.status_code == 201, response.text
