"""GET /v1/insights and /v1/insights.csv over HTTP on eight weeks of generated traffic: the surge is found in
its week and on its days, the drift and the noise are not, the new gap is a rising group of unanswered messages;
filters, bounds, roles, the CSV and the OpenAPI document; and what a real suggestion records."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from api.insights.periods import Period
from api.sql.schema import requests
from api.state import state_of
from bench.traffic import DRIFT, GAP, NEEDS_WORK, SURGE, Traffic
from kb.corpus import load_corpus
from tests.api.conftest import assert_error_shape
from tests.conftest import ARTICLES
from tests.insights.conftest import auth

pytestmark = [pytest.mark.e2e]
SURGE_TOPICS = set(next(a for a in load_corpus(ARTICLES).served() if a.id == SURGE).meta.topics)


def _get(insights_app: tuple[Any, dict[str, str]], role: str = "qa", path: str = "/v1/insights",
         **params: Any) -> Any:
    client, keys = insights_app
    return client.get(path, params=params, headers=auth(keys, role))


def _only_the_surge(rising: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rising subjects other than the surge myth and its own topics (these rise with it)."""
    return [r for r in rising if not (r["id"] == SURGE or (r["kind"] == "topic" and r["id"] in SURGE_TOPICS))]


def test_the_surge_is_found_in_its_week_and_nothing_else_rises(insights_app: Any, traffic: Traffic) -> None:
    response = _get(insights_app, groups="false")
    assert response.status_code == 200, response.text
    out = response.json()
    assert [p["label"] for p in out["periods"]] == [w.label for w in traffic.weeks]
    surge = [(r["period"], r["kind"]) for r in out["rising"] if r["id"] == SURGE]
    assert surge == [(traffic.surge_week.label, "article")]
    assert _only_the_surge(out["rising"]) == []
    [series] = [s for s in out["articles"] if s["id"] == SURGE]
    assert series["rising"] == [w == traffic.surge_week for w in traffic.weeks]
    assert not any(any(s["rising"]) for s in out["articles"] if s["id"] == DRIFT)
    # the volume is the generated volume, week by week
    weeks = Counter(Period.of("week", _day(r["created"])).label for r in traffic.requests)
    assert [p["volume"] for p in out["periods"]] == [weeks[w.label] for w in traffic.weeks]


def test_by_day_the_surge_days_rise_and_the_drift_never_does(insights_app: Any, traffic: Traffic) -> None:
    out = _get(insights_app, period="day", periods=56, groups="false").json()
    days = {r["period"] for r in out["rising"] if r["id"] == SURGE and r["kind"] == "article"}
    week = traffic.surge_week
    assert days and all(week.start.isoformat() <= d < week.end.isoformat() for d in days)
    assert _only_the_surge(out["rising"]) == []


def test_the_new_question_nobody_answers_is_a_rising_group(insights_app: Any, traffic: Traffic) -> None:
    out = _get(insights_app).json()
    unanswered = out["unanswered"]
    last = traffic.weeks[-1]  # ends today: on a Monday it holds one day
    flagged = {f["request_id"] for f in traffic.feedback if f["action"] == "no_good_answer"}
    unanswered_last = [r for r in traffic.requests if last.start.isoformat() <= r["created"][:10] < last.end.isoformat()
                       and (r["no_match"] or r["request_id"] in flagged)]
    assert unanswered["periods"][-1] == last.label
    assert unanswered["sampled"][-1] == min(150, len(unanswered_last))  # a uniform sample beyond 150
    rising = [g for g in unanswered["groups"] if g["rising"]]
    assert rising, [g["label"] for g in unanswered["groups"]]
    top = rising[0]
    assert set(top["examples"]) <= set(GAP)
    assert "lymfeklierkanker" in top["label"] or "tatoeages" in top["label"]
    assert any(r["kind"] == "group" and r["id"] == top["label"] for r in out["rising"])
    assert not [g for g in rising[1:] if g["counts"][-1] >= 10]  # the other groups are noise


def test_the_feedback_mix_shows_the_answer_that_needs_work(insights_app: Any) -> None:
    out = _get(insights_app, groups="false", top=50).json()
    mix = {f["article_id"]: f for f in out["feedback"]}
    assert mix[NEEDS_WORK]["needs_work"] == max(f["needs_work"] for f in mix.values() if f["total"] >= 20)
    for f in mix.values():
        assert f["total"] == f["used"] + f["edited"] + f["rejected"] + f["no_good_answer"] + f["chosen"]
    assert sum(f["chosen"] for f in mix.values()) > 0  # articles agents searched for and chose count too


def test_filters_count_only_their_channel_and_language(insights_app: Any, traffic: Traffic) -> None:
    for params, keep in ((("channel", "x"),), lambda r: r["channel"] == "x"), \
            ((("language", "en"),), lambda r: r["language"] == "en"):
        out = _get(insights_app, groups="false", **dict(params)).json()
        assert out[params[0][0]] == params[0][1]
        weeks = Counter(Period.of("week", _day(r["created"])).label for r in traffic.requests if keep(r))
        assert [p["volume"] for p in out["periods"]] == [weeks[w.label] for w in traffic.weeks]


@pytest.mark.parametrize("params", [{"periods": 0}, {"periods": 61}, {"top": 51}, {"history": 1}, {"history": 27},
                                    {"period": "month"}, {"until": "yesterday"}, {"until": "0"},
                                    {"channel": "fax"}, {"language": "de"}, {"colour": "red"}, {"groups": "maybe"}])
def test_parameters_out_of_bounds_are_refused_with_the_field_named(insights_app: Any, params: dict[str, Any]) -> None:
    error = assert_error_shape(_get(insights_app, **params), 422)
    assert next(iter(params)) in error["message"]


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("editor", 200), ("qa", 200), ("admin", 200)])
def test_editors_and_qa_leads_see_the_insights_and_agents_do_not(insights_app: Any, role: str, status: int) -> None:
    for path in ("/v1/insights", "/v1/insights.csv"):
        response = _get(insights_app, role, path, groups="false", periods=2)
        assert response.status_code == status, response.text
        if status == 403:
            assert "insights right (roles editor, qa, admin)" in assert_error_shape(response, 403)["message"]


def test_the_csv_has_a_row_per_period_and_subject_and_marks_the_surge(insights_app: Any, traffic: Traffic) -> None:
    response = _get(insights_app, path="/v1/insights.csv", groups="false")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["period", "start", "kind", "id", "title", "count", "rising", "expected", "ratio",
                             "p_value"]
    surge = [r for r in rows if r["kind"] == "article" and r["id"] == SURGE and r["rising"] == "1"]
    assert [r["period"] for r in surge] == [traffic.surge_week.label]
    assert float(surge[0]["ratio"]) > 3
    volumes = [int(r["count"]) for r in rows if r["kind"] == "volume"]
    assert volumes == [p["volume"] for p in _get(insights_app, groups="false").json()["periods"]]
    assert {r["kind"] for r in rows} >= {"volume", "no_match", "article", "topic", "feedback_used",
                                         "feedback_no_good_answer", "feedback_chosen"}
    feedback = [r["kind"] for r in rows if r["kind"].startswith("feedback_")]
    assert feedback[:6] == ["feedback_used", "feedback_edited", "feedback_rejected", "feedback_no_good_answer",
                            "feedback_ignored", "feedback_chosen"]  # each article's six, in the JSON's order


def test_the_operations_are_documented_with_their_bounds_and_errors(insights_app: Any) -> None:
    client, _ = insights_app
    paths = client.app.openapi()["paths"]
    for path in ("/v1/insights", "/v1/insights.csv"):
        operation = paths[path]["get"]
        assert {"401", "403", "422", "429", "503"} <= set(operation["responses"])
        assert "insights" in operation["description"]
        params = {p["name"]: p["schema"] for p in operation["parameters"]}
        assert set(params) == {"period", "periods", "until", "channel", "language", "top", "history", "groups"}
        assert (params["periods"]["minimum"], params["periods"]["maximum"]) == (1, 60)
    assert "text/csv" in paths["/v1/insights.csv"]["get"]["responses"]["200"]["content"]


def test_a_suggestion_records_language_top_article_and_tier_and_masks_the_message(insights_app: Any) -> None:
    client, keys = insights_app
    message = "klopt het dat suiker kanker voedt? mail me op ria@example.nl of bel 06-12345678"
    out = client.post("/v1/suggest", json={"message": message, "channel": "x"}, headers=auth(keys, "agent")).json()
    [row] = [dict(r) for r in state_of(client.app).db.read(_request_row(out["request_id"]))]
    top = out["suggestions"][0]
    assert (row["language"], row["top_article"], row["tier"], bool(row["no_match"])) == \
        ("nl", top["article_id"], top["confidence"], False)
    assert row["message"] == "klopt het dat suiker kanker voedt? mail me op [e-mail] of bel [telefoon]"
    nothing = client.post("/v1/suggest", json={"message": "wat is de beste behandeling voor een sarcoom in mijn "
                                                          "knie? bel me op 06-12345678"},
                          headers=auth(keys, "agent")).json()
    if nothing["no_match"]:
        [row] = state_of(client.app).db.read(_request_row(nothing["request_id"]))
        assert (row["top_article"], row["tier"], bool(row["no_match"]), row["kind"]) == \
            (None, "no_match", True, "question")
        assert "[telefoon]" in row["message"]
    # Spam is answered by its moderation guideline: recorded with its kind, not as a gap in the knowledge base.
    spam = client.post("/v1/suggest", json={"message": "🔥🔥 VERDIEN €500 PER DAG!! klik op de link in mijn bio, bel "
                                                       "+44 20 7946 0958"}, headers=auth(keys, "agent")).json()
    [row] = state_of(client.app).db.read(_request_row(spam["request_id"]))
    assert (row["kind"], row["tier"], bool(row["no_match"])) == ("spam", None, False)


def _request_row(request_id: str) -> Any:
    return select(requests).where(requests.c.request_id == request_id)


def _day(created: str) -> dt.date:
    return dt.date.fromisoformat(created[:10])
