"""POST /v1/suggest and /v1/feedback through the real app on the sample index."""

from __future__ import annotations

import re
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from api.db import open_database
from kb.channels import Channel
from kb.config import Settings
from tests.api.conftest import assert_error_shape

SUGAR = "Is het waar dat suiker kanker voedt? Mijn buurvrouw eet daarom helemaal geen fruit meer"
FIELDS = {"article_id", "title", "type", "verdict", "score", "confidence", "matched_text", "draft", "sources",
          "warnings"}


def _suggest(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/v1/suggest", json=body, headers=headers)


def test_suggest_returns_sourced_drafts_in_the_documented_shape(client: Any, auth: Any) -> None:
    response = _suggest(client, auth["agent"], message=SUGAR, channel="facebook", customer_name="Ria")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"request_id", "language", "suggestions", "no_match"} <= set(body)
    assert body["language"] == "nl" and body["no_match"] is False
    top = body["suggestions"][0]
    assert set(top) >= FIELDS
    assert top["article_id"] == "suiker-voedt-kanker" and top["verdict"] in {"false", "misleading"}
    assert top["confidence"] in {"high", "medium", "low"}
    assert top["sources"] and all(s["url"] in top["draft"] for s in top["sources"][:1])
    assert "Ria" in top["draft"]
    assert len(body["suggestions"]) <= 3


def test_same_input_gives_byte_identical_output_apart_from_request_id(client: Any, auth: Any) -> None:
    bodies = [_suggest(client, auth["agent"], message=SUGAR, channel="x", limit=5).content for _ in range(3)]
    ids = [re.search(rb'"request_id":"([0-9a-f]+)"', b).group(1) for b in bodies]  # type: ignore[union-attr]
    assert len(set(ids)) == 3
    assert len({b.replace(i, b"") for b, i in zip(bodies, ids, strict=True)}) == 1


def test_language_is_detected_when_not_given_and_respected_when_given(client: Any, auth: Any) -> None:
    english = _suggest(client, auth["agent"], message="my aunt says sugar feeds cancer, is that true??").json()
    assert english["language"] == "en" and english["suggestions"][0]["article_id"] == "sugar-feeds-cancer-en"
    forced = _suggest(client, auth["agent"], message=SUGAR, language="en").json()
    assert forced["language"] == "en"


def test_x_drafts_use_the_short_answer_and_count_urls_as_23(client: Any, auth: Any, sample_engine: Any) -> None:
    article = sample_engine.served.get_articles(["suiker-voedt-kanker"])["suiker-voedt-kanker"]
    assert Channel.X.length(article.sections.answer) > 280  # the full answer cannot fit on X
    body = _suggest(client, auth["agent"], message=SUGAR, channel="x", agent_signature="^SB").json()
    top = body["suggestions"][0]
    assert Channel.X.length(top["draft"]) <= 280 and "too_long" not in top["warnings"]
    assert article.sections.short_answer.split(".")[0] in top["draft"]
    assert article.sections.answer not in top["draft"]
    assert top["draft"].endswith(" ^SB")  # the agent's own sign-off, as given


def test_the_agents_sign_off_comes_out_as_given_or_is_refused_with_the_field_named(client: Any, auth: Any) -> None:
    for sign_off in ("^SA", "SA"):
        body = _suggest(client, auth["agent"], message=SUGAR, channel="x", agent_signature=sign_off).json()
        assert all(s["draft"].endswith(f" {sign_off}") for s in body["suggestions"]), body
    error = assert_error_shape(_suggest(client, auth["agent"], message=SUGAR, agent_signature="<b>SA</b>"), 422)
    assert error["message"].startswith("agent_signature:") and "<" in error["message"]


def test_an_x_draft_is_never_cut_mid_sentence(client: Any, auth: Any, sample_engine: Any) -> None:
    body = _suggest(client, auth["agent"], message=SUGAR, channel="x", customer_name="Annemarie " * 8,
                    agent_signature="Bernadette " * 7, limit=5).json()
    articles = sample_engine.served.get_articles([s["article_id"] for s in body["suggestions"]])
    for s in body["suggestions"]:
        sections = articles[s["article_id"]].sections
        assert Channel.X.length(s["draft"]) <= 280 or "too_long" in s["warnings"]
        assert sections.answer in s["draft"] or (sections.short_answer or "\0") in s["draft"]  # whole, not cut


def test_a_stale_article_is_never_high_and_says_stale(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], channel="facebook",
                    message="Jullie blijven me maar bellen voor een donatie, ik word er gek van. Hoe zorg ik dat "
                            "jullie me niet meer bellen?").json()
    stale = [s for s in body["suggestions"] if s["article_id"] == "telefonische-werving"]
    assert stale, body
    assert stale[0]["confidence"] != "high" and "stale" in stale[0]["warnings"]


def test_an_english_question_on_a_dutch_only_topic_falls_back_with_a_warning(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], channel="email",
                    message="Hi there, I'd like to leave some money to your charity in my will. How does that work?"
                    ).json()
    assert body["language"] == "en"
    top = body["suggestions"][0]
    assert top["article_id"] == "nalaten-testament" and "language_fallback" in top["warnings"]


def test_a_very_short_message_is_never_high(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="suiker kanker?").json()
    assert all(s["confidence"] != "high" for s in body["suggestions"])


def test_nonsense_gets_no_match_and_no_draft(client: Any, auth: Any) -> None:
    body = _suggest(client, auth["agent"], message="Wie wint er zondag, Ajax of Feyenoord? ⚽⚽").json()
    assert body["no_match"] is True and body["suggestions"] == []


def test_feedback_is_stored_and_tied_to_its_request(client: Any, auth: Any, api_env: Any) -> None:
    suggestion = _suggest(client, auth["agent"], message=SUGAR).json()
    rid, article_id = suggestion["request_id"], suggestion["suggestions"][0]["article_id"]
    response = client.post("/v1/feedback", headers=auth["agent"], json={
        "request_id": rid, "article_id": article_id, "action": "edited", "final_text": "Hoi! Nee hoor ..."})
    assert response.status_code == 201, response.text
    db = open_database(Settings(data_dir=api_env[0].data_dir))
    try:
        stored = {row["id"]: row for row in db.feedback()}[response.json()["feedback_id"]]
    finally:
        db.close()
    assert (stored["request_id"], stored["article_id"], stored["action"]) == (rid, article_id, "edited")
    assert stored["message"] == SUGAR


def test_feedback_refuses_unknown_requests_and_articles_not_offered(client: Any, auth: Any) -> None:
    error = assert_error_shape(client.post("/v1/feedback", headers=auth["agent"],
                                           json={"request_id": "nope", "action": "used"}), 404)
    assert "nope" in error["message"]
    rid = _suggest(client, auth["agent"], message=SUGAR).json()["request_id"]
    error = assert_error_shape(client.post("/v1/feedback", headers=auth["agent"], json={
        "request_id": rid, "article_id": "5g-kanker", "action": "used"}), 422)
    assert "5g-kanker" in error["message"]
    ok = client.post("/v1/feedback", headers=auth["agent"], json={"request_id": rid, "action": "no_good_answer"})
    assert ok.status_code == 201
    assert_error_shape(client.post("/v1/feedback", headers=auth["agent"],
                                   json={"request_id": rid, "action": "loved_it"}), 422)


def test_articles_are_browsable_with_filters_and_bounded_pages(client: Any, auth: Any) -> None:
    one = client.get("/v1/articles/suiker-voedt-kanker", headers=auth["agent"]).json()
    assert one["id"] == "suiker-voedt-kanker" and one["answer"] and one["sources"]
    assert one["claims_other_language"] == []
    english_only = client.get("/v1/articles/hair-dye-cancer", headers=auth["agent"]).json()
    assert english_only["language"] == "en" and "krijg je kanker van haarverf" in english_only["claims_other_language"]
    page = client.get("/v1/articles", params={"language": "en", "type": "policy", "limit": 3},
                      headers=auth["agent"]).json()
    assert page["total"] > 3 and len(page["items"]) == 3
    assert all(i["language"] == "en" and i["type"] == "policy" for i in page["items"])
    found = client.get("/v1/articles", params={"q": "SUIKER"}, headers=auth["agent"]).json()
    assert "suiker-voedt-kanker" in {i["id"] for i in found["items"]}
    assert_error_shape(client.get("/v1/articles", params={"limit": 101}, headers=auth["agent"]), 422)
    assert_error_shape(client.get("/v1/articles/rookverbod-terrassen", headers=auth["agent"]), 404)  # a draft
    assert_error_shape(client.get("/v1/articles/donatie-stopzetten-oud", headers=auth["agent"]), 404)  # retired


def test_metrics_count_requests_latency_tiers_and_index(client: Any, auth: Any) -> None:
    _suggest(client, auth["agent"], message=SUGAR)
    _suggest(client, auth["agent"], message="Wie wint er zondag, Ajax of Feyenoord?")
    samples = [s for family in text_string_to_metric_families(client.get("/metrics", headers=auth["qa"]).text)
               for s in family.samples]

    def value(name: str, **labels: str) -> float:
        found = [s.value for s in samples if s.name == name and s.labels == labels]
        assert len(found) == 1, (name, labels)
        return float(found[0])

    assert value("kb_http_requests_total", route="/v1/suggest", method="POST", status="200") >= 2
    assert value("kb_http_request_seconds_bucket", route="/v1/suggest", method="POST", le="+Inf") >= 2
    assert sum(value("kb_suggestions_total", confidence=tier) for tier in ("high", "medium", "low")) >= 1
    assert value("kb_no_match_total") >= 1
    [info] = [s for s in samples if s.name == "kb_index_info"]
    assert info.labels["collection"].startswith("kb_articles__") and info.labels["model"] and info.value == 1
    assert value("kb_index_age_seconds") >= 0


def test_a_question_about_a_subject_the_editors_list_as_outside_our_remit_gets_no_match(client: Any,
                                                                                         auth: Any) -> None:
    # articles/_outside.md lists other diseases; "Is kanker altijd erfelijk?" would otherwise be offered (kb.outside)
    body = _suggest(client, auth["agent"], message="Is epilepsie erfelijk? Mijn broer heeft het.").json()
    assert body["no_match"] is True and body["suggestions"] == []
    assert body["outside_subject"] == "Andere ziekten dan kanker / Other conditions"  # why, for the agent
    kept = _suggest(client, auth["agent"], message="Is kanker erfelijk? Mijn moeder had het ook.").json()
    assert kept["suggestions"][0]["article_id"] == "kanker-erfelijk-altijd" and kept["outside_subject"] is None
