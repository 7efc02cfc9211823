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
