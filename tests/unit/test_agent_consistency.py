"""Consistency figures a QA lead can trust, and reading agent-reply exports: no model, checked replies made here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.agent_sources import MAX_UPLOAD_BYTES, load_replies, parse_replies_csv, replies_from_feedback
from eval.agents import Checked, consistency, per_period
from eval.krippendorff import ALL_AGREE, ONE_REPLY, alpha, alpha_with_ci, unit_alpha
from eval.report import write_report
from kb.errors import InvalidInput

pytestmark = pytest.mark.unit


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity, as strict parsers (JavaScript's JSON.parse, jq) do."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not valid JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _checked(n: int, agent: str, topic: str | None, article: str | None, *, stance: str = "consistent",
             flags: list[str] | None = None, time: str = "") -> Checked:
    return Checked(f"r-{n}", agent, topic, article, stance, 0.93, True, [], flags or [],
                   [f"reason {f}" for f in flags or []], "bericht", "antwoord", time)


# --- alpha where it means something ----------------------------------------------------------------------


def test_alpha_inside_one_topic_alone_is_always_zero_so_topics_are_read_against_all_replies() -> None:
    topic = ["a"] * 9 + ["b"]
    assert alpha([topic]) == 0.0  # the degenerate figure the old report showed as "agents disagree completely"
    others = [["a", "a"], ["b", "b", "c"], ["c", "c", "c"], ["d", "a"]]
    value, reason = unit_alpha(topic, [topic, *others])
    split, _ = unit_alpha(["a"] * 5 + ["b"] * 5, [topic, *others])
    assert reason is None and value is not None and split is not None
    assert value > 0.5 > split  # 9 of 10 agreeing reads as agreement; a 5-5 split does not


def test_topic_alphas_average_to_the_overall_alpha() -> None:
    units = [["a", "a", "b"], ["b", "b", "b", "c"], ["c", "c"], ["a", "d", "d", "d", "d"]]
    weights = [len(u) for u in units]
    topic = [unit_alpha(u, units)[0] or 1.0 for u in units]  # "all agree" counts as 1
    weighted = sum(w * a for w, a in zip(weights, topic, strict=True)) / sum(weights)
    assert weighted == pytest.approx(alpha(units), abs=1e-3)


def test_alpha_is_withheld_with_its_reason_where_it_says_nothing() -> None:
    assert unit_alpha(["a"], [["a"], ["b", "c"]]) == (None, ONE_REPLY)
    assert unit_alpha(["a", "a"], [["a", "a"], ["b", "c"]]) == (None, ALL_AGREE)
    everyone_agrees = alpha_with_ci([["a", "a"], ["a", "a", "a"]])
    assert everyone_agrees["value"] is None and everyone_agrees["reason"] == ALL_AGREE
    nothing_to_compare = alpha_with_ci([["a"], ["b"]])
    assert nothing_to_compare["value"] is None and nothing_to_compare["reason"] == "no topic has two replies"


def test_each_topic_shows_percent_agreement_and_flagged_replies_beside_alpha() -> None:
    checked = [
        _checked(1, "Anna", "anbi", "anbi"), _checked(2, "Bram", "anbi", "anbi"),
        _checked(3, "Cem", "anbi", "anbi", flags=["missing_source"]),  # agrees, but cites nothing: flagged anyway
        _checked(4, "Anna", "suiker", "suiker"), _checked(5, "Bram", "suiker", "suiker"),
        _checked(6, "Cem", "suiker", "suiker", stance="contradicts", flags=["different_stance"]),
        _checked(7, "Dirk", "klacht", "klacht"),
        _checked(8, "Dirk", None, None, flags=["unmapped"]),
    ]
    report = consistency(checked)
    anbi, suiker, klacht = (report["per_topic"][t] for t in ("anbi", "suiker", "klacht"))
    assert (anbi["percent_agreement"], anbi["flagged"], anbi["alpha"], anbi["alpha_note"]) == (1.0, 1, None, ALL_AGREE)
    assert suiker["percent_agreement"] == pytest.approx(1 / 3, abs=1e-4) and suiker["flagged"] == 1
    assert suiker["alpha"] is not None and suiker["alpha_note"] is None
    assert (klacht["alpha"], klacht["alpha_note"], klacht["percent_agreement"]) == (None, ONE_REPLY, None)
    assert report["per_topic"]["(no article)"]["alpha_note"] == "no article"
    text = json.dumps(report, allow_nan=False)  # nothing that is not JSON
    assert strict_json(text)["alpha"]["value"] == report["alpha"]["value"]


def test_figures_per_week_say_how_they_moved_since_the_week_before() -> None:
    week1 = [_checked(i, a, "suiker", "suiker", time="2026-11-02T10:00:00+01:00") for i, a in
             enumerate(["Anna", "Bram", "Cem", "Dirk"])]
    week1 += [_checked(10 + i, a, "anbi", art, time="2026-11-03") for i, (a, art) in
              enumerate([("Anna", "anbi"), ("Bram", "klacht")])]
    week2 = [_checked(20 + i, a, "suiker", art, time="2026-11-10T09:00:00", flags=flags) for i, (a, art, flags) in
             enumerate([("Anna", "suiker", []), ("Bram", "suiker", []), ("Cem", "aspartaam", ["low_agreement"])])]
    week2 += [_checked(30, "Dirk", "anbi", "anbi", time="2026-11-11")]
    rows = per_period([*week1, *week2, _checked(40, "Eva", "anbi", "anbi")], "week")
    assert [r["period"] for r in rows] == ["2026-W45", "2026-W46", "(no time)"]
    first, second = rows[0], rows[1]
    assert (first["flagged"], second["flagged"]) == (0, 1)
    assert second["flagged_replies"][0]["id"] == "r-22" and second["flagged_replies"][0]["flags"] == ["low_agreement"]
    assert second["change"]["flagged"] == 1
    assert second["change"]["percent_agreement"] == pytest.approx(
        second["percent_agreement"] - first["percent_agreement"], abs=1e-4)
    assert rows[2]["change"] == {}  # replies without a time are not "the period after"


def test_every_report_is_strict_json_even_with_nan_and_infinity_in_it(tmp_path: Path) -> None:
    write_report(tmp_path, "agents", "Agents", headline={"alpha": float("nan"), "ratio": float("inf")},
                 data={"alpha": {"value": float("nan"), "ci": [float("-inf"), 0.5]}, "n": 3})
    data = strict_json((tmp_path / "agents.json").read_text(encoding="utf-8"))
    assert data["headline"] == {"alpha": None, "ratio": None} and data["alpha"]["ci"] == [None, 0.5]


# --- reading exports -------------------------------------------------------------------------------------

GOOD_CSV = ("agent;kanaal;bericht;antwoord;datum\n"
            "Sanne;x;\"klopt het dat suiker\nkanker voedt?\";Nee, dat klopt niet.;30-11-2026 09:12\n"
            "Tom;facebook;Hoe stop ik mijn donatie?;Via het formulier.;2026-11-30\n")


def test_a_semicolon_export_with_dutch_headers_and_dates_is_read() -> None:
    first, second = parse_replies_csv(GOOD_CSV.encode("utf-8"))
    assert (first.agent, first.channel, first.time) == ("Sanne", "x", "2026-11-30T09:12:00")
    assert first.message == "klopt het dat suiker\nkanker voedt?" and second.id == "line-4"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "upload:1: the file is empty"),
    (b"agent,message,text\nSanne,hoi,doei\n", "upload:1: no column 'reply' (columns: agent, message, text)"),
    (b"agent,message,reply\nSanne,hoi,\n", "upload:2: column 3 (reply): empty"),
    (b"agent,message,reply,time\nSanne,hoi,doei,gisteren\n", "upload:2: column 4 (time): 'gisteren' is not a date"),
    (b"agent,message,reply\nSanne,hoi,doei\nTom,hoi\n", "upload:3: 2 fields where the header has 3"),
    (b"agent,message,reply\nSanne,\"hoi,doei\nTom,hoi,doei\n", "upload:2: unreadable CSV"),
    (b"agent,message,reply\nSanne,caf\xe9,doei\n", "upload:2: column 10: byte 0xe9 is not UTF-8"),
    (b"agent,message,reply\n" + b"Sanne,hoi," + b"x" * 5001 + b"\n", "upload:2: column 3 (reply): 5001 characters"),
    (b"agent,message,reply\n\n\n", "upload:2: no replies below the header"),
])
def test_a_bad_export_is_refused_naming_its_line_and_column(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_replies_csv(data)
    assert refused.value.message.startswith(message), refused.value.message


def test_an_export_is_bounded_in_size_and_in_replies() -> None:
    with pytest.raises(InvalidInput, match="split the export by period"):
        parse_replies_csv(b"agent,message,reply\n" + b"A,b,c\n" * 4, max_replies=3)
    with pytest.raises(InvalidInput, match=f"at most {MAX_UPLOAD_BYTES}"):
        parse_replies_csv(b"x" * (MAX_UPLOAD_BYTES + 1))


def test_a_line_of_a_jsonl_log_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"agent": "Sanne", "message": "hoi", "reply": "doei"}\n\n{"agent": "Tom", "message": \n')
    with pytest.raises(InvalidInput, match=rf"{log}:3: column \d+: not JSON"):
        load_replies(log)


def test_replies_sent_through_the_service_become_replies_of_their_key() -> None:
    rows = [{"id": 7, "agent": "Anna", "key_id": "ab12", "channel": "x", "message": "suiker?",
             "final_text": "Nee hoor", "created": "2026-11-30T10:00:00+00:00"},
            {"id": 8, "agent": None, "key_id": "cd34", "channel": "x", "message": "hoi", "final_text": "",
             "created": "2026-11-30T10:01:00+00:00"}]
    [reply] = replies_from_feedback(rows)
    assert (reply.id, reply.agent, reply.reply, reply.time) == ("feedback-7", "Anna", "Nee hoor",
                                                               "2026-11-30T10:00:00+00:00")
