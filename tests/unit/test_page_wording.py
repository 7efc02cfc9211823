"""What the pages say in Dutch, without a browser: flag findings with their threshold, validation messages, dates,
metric names, the topics joined across languages, the Excel CSV dialect and whole-number chart axes."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from api.insights.export import to_csv
from api.insights.models import InsightsOut, InsightsQuery, PeriodOut, RuleOut, SeriesOut
from api.insights.report import catalog_of
from api.insights.topics import topic_aliases, translated_pairs
from api.pages.labels import label
from api.pages.wording import error_text, finding, findings, nl_date, nl_datetime, validation_problem
from eval.charts import _ticks
from kb.corpus import load_corpus
from tests.conftest import ARTICLES

pytestmark = pytest.mark.unit


def test_a_flag_is_worded_in_dutch_with_its_figure_beside_its_threshold() -> None:
    assert finding({"flag": "low_agreement", "value": 0.8612, "threshold": 0.87}) == \
        "inhoudelijke overeenstemming met het goedgekeurde antwoord 0.86, grens 0.87"
    stance = finding({"flag": "different_stance", "side": "affirms", "word": "Klopt", "article": "suiker-voedt-kanker",
                      "verdict": "false"})
    assert stance == "bevestigt de bewering (‘Klopt’), terwijl ‘suiker-voedt-kanker’ die onjuist noemt"
    assert "grens 0.93" in finding({"flag": "outdated_policy", "retired": "oud", "value": 0.95, "threshold": 0.93,
                                    "current": 0.9, "margin": 0.03})
    # a report written before findings were kept: the flags' own explanations
    assert findings({"flags": ["missing_source"]}) == ["het antwoord noemt geen van de bronnen van het artikel"]


def test_bad_insights_parameters_are_named_by_their_field_in_dutch() -> None:
    with pytest.raises(ValidationError) as e:
        InsightsQuery.model_validate({"periods": "abc", "until": "morgen", "channel": "fax", "period": "jaar"})
    said = sorted(validation_problem(err) for err in e.value.errors())
    assert said == ["Aantal: een heel getal van 1 tot en met 60 (niet ‘abc’)",
                    "Kanaal: kies een van de kanalen in de lijst (niet ‘fax’)",
                    "Per: kies dag of week (niet ‘jaar’)",
                    "Tot en met: een datum als 2026-12-01 (niet ‘morgen’)"]


def test_dates_read_as_dutch_dates_in_dutch_time() -> None:
    assert nl_date("2027-05-01") == "1 mei 2027" and nl_date(dt.date(2026, 3, 9)) == "9 maart 2026"
    assert nl_datetime("2026-07-01T22:30:00+00:00") == "2 jul. 2026, 00:30"  # summer time: UTC+2
    assert nl_datetime("2026-12-01T22:30:00+00:00") == "1 dec. 2026, 23:30"
    assert nl_date(None) == "" and nl_date("geen datum") == "geen datum"


def test_errors_and_figures_have_dutch_names() -> None:
    assert error_text("forbidden", {"needs": "qa", "role": "agent"}, "this page needs the qa role").startswith(
        "Dit is alleen voor QA. Je bent ingelogd met de rol agent")
    assert error_text("not_found", {}, "geen artikel met id 'x' in articles") == "Geen artikel met id 'x' in articles."
    assert "Unknown" not in error_text("unauthorized", {}, "unknown or revoked API key")
    assert label("no-match recall", "metric") == "‘geen artikel’ gevonden"
    assert label("dev high right", "metric") == "dev: ‘hoog’ klopt"
    assert label("something new", "metric_help") == ""  # no explanation rather than the code again
    assert label("golden messages", "phase") == "golden berichten"


def test_english_topics_count_with_the_dutch_topic_their_translations_pair_them_with() -> None:
    articles = load_corpus(ARTICLES).served()
    aliases = topic_aliases(translated_pairs(articles))
    assert aliases["cancer"] == "kanker" and aliases["donations"] == "donaties" and aliases["nutrition"] == "voeding"
    assert set(aliases.values()) <= {t.lower() for a in articles if a.meta.language == "nl" for t in a.meta.topics}
    catalog = catalog_of(articles)
    sugar = catalog["sugar-feeds-cancer-en"].topics
    assert "kanker" in sugar and "cancer" not in sugar
    assert catalog.topic_names["kanker"] == "kanker / cancer"


def test_ties_leave_topics_apart_rather_than_guess() -> None:
    assert topic_aliases([({"vaccinatie", "baarmoederhalskanker"}, {"vaccines", "cervical cancer"})]) == {}


def _out() -> InsightsOut:
    day = dt.date(2026, 11, 30)
    return InsightsOut(
        period="week", channel=None, language=None,
        periods=[PeriodOut(label="2026-W49", start=day, end=day + dt.timedelta(days=7), volume=10, no_match=2,
                           no_match_share=0.2, tiers={"high": 1, "medium": 7, "low": 0, "no_match": 2})],
        articles=[SeriesOut(kind="article", id="5g-kanker", title="Geeft 5G kanker?", counts=[8], rising=[False],
                            total=8)],
        topics=[], rising=[], feedback=[], unanswered=None,
        rule=RuleOut(min_count=10, min_ratio=1.5, alpha=0.01, history=6), generated="2026-12-06T10:00:00+00:00")


def test_the_excel_csv_has_semicolons_decimal_commas_and_a_bom_and_the_plain_one_stays() -> None:
    excel, plain = to_csv(_out(), "excel"), to_csv(_out())
    assert excel.startswith("\ufeffperiod;start;kind;") and "no_match;all;no suggestion;2" in excel
    assert plain.startswith("period,start,kind,") and "\ufeff" not in plain


def test_count_axes_step_in_whole_numbers() -> None:
    for top in (1, 3, 7, 25, 99, 1234):
        ticks = _ticks(top, integer=True)
        assert all(float(t).is_integer() for t in ticks) and ticks[-1] >= top and len(ticks) <= 6, (top, ticks)
