"""Issue 26, point 7, in headless Chromium against a real `kb serve` that was installed this week: generated
traffic (bench/traffic.py) from this Monday on, plus a few thank-you messages nobody answers. The insights page says
since when there is data and how much history rising subjects need, offers the day view, captions the feedback
chart with what it covers, counts in whole steps, never lets day labels touch, stays readable on a phone, names
unanswered groups by a message with a plain history, counts kanker and cancer as one subject, and offers a CSV that
a Dutch Excel opens in columns."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest

from api.db import open_database
from bench.traffic import Traffic, TrafficPlan, generate, load
from kb.config import Settings
from tests.browser.conftest import PageService, browser_missing, shoot

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PHONE = {"width": 390, "height": 844}
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def dutch_day(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def short_day(day: dt.date) -> str:
    """How an axis names a day, with the Dutch abbreviations: `1 dec`, `6 mei`, `3 mrt`."""
    return f"{day.day} {('jan feb mrt apr mei jun jul aug sep okt nov dec').split()[day.month - 1]}"
THANKS = ("dank je wel voor de snelle hulp!", "thanks so much for your help", "heel erg bedankt, much appreciated",
          "dank dank dank!! so much love")


@pytest.fixture(scope="module")
def traffic(service: PageService) -> Traffic:
    """This week's traffic only, as a service installed on Monday would have, and the thank-you messages today."""
    today = dt.datetime.now(dt.UTC).date()
    generated = generate(TrafficPlan(end=today, weeks=1, daily=150, surge_week=0, surge_factor=1.0))
    db = open_database(Settings(data_dir=service.site.data))
    try:
        load(db, generated)
        for text in THANKS * 3:
            db.record_request(uuid.uuid4().hex, None, text, "instagram", [], language="nl")
    finally:
        db.close()
    return generated


def _first_day(traffic: Traffic) -> dt.date:
    return dt.date.fromisoformat(min(r["created"] for r in traffic.requests)[:10])


def test_a_new_install_says_since_when_how_much_history_rising_needs_and_offers_the_day_view(
        open_as: Any, traffic: Traffic) -> None:
    page = open_as("editor")
    page.goto("/insights")
    note = page.locator("#history-note")
    expect(note).to_contain_text(f"Gegevens sinds {dutch_day(_first_day(traffic))}")
    assert "6 weken geschiedenis" in note.inner_text() and "kan pas stijgen" in note.inner_text()
    shoot(page, "insights-new-install")
    note.locator("#day-view").click()
    page.wait_for_url(lambda url: "period=day" in url)
    expect(page.locator("#i-period")).to_have_value("day")
    assert page.errors == []


def test_the_feedback_chart_says_it_covers_every_period_shown(open_as: Any, traffic: Traffic) -> None:
    page = open_as("qa")
    page.goto("/insights?period=week&periods=8")
    caption = page.locator("#feedback-caption").inner_text()
    assert "over alle 8 getoonde weken samen" in caption and "in deze periode" not in caption


def _axes(page: Any) -> list[dict[str, Any]]:
    """Per visible chart: its y labels, its x labels' boxes, and the smallest text as drawn on screen (px)."""
    return page.evaluate("""() => [...document.querySelectorAll('svg.chart, svg.chart-phone')]
        .filter(svg => svg.getBoundingClientRect().width > 0).map(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return {
                name: svg.getAttribute('aria-label'),
                y: [...svg.querySelectorAll('text.y-label')].map(t => t.textContent),
                x: [...svg.querySelectorAll('text.x-label')].map(t => { const r = t.getBoundingClientRect();
                    return {text: t.textContent, left: r.left, right: r.right}; }),
                smallest: Math.min(...[...svg.querySelectorAll('text')].map(t =>
                    parseFloat(t.getAttribute('font-size') || '16') * scale)),
            }; })""")


@pytest.mark.parametrize(("width", "size"), [("laptop", {"width": 1366, "height": 900}), ("phone", PHONE)])
def test_counts_step_in_whole_numbers_and_day_labels_never_touch(open_as: Any, traffic: Traffic, width: str,
                                                                 size: dict[str, int]) -> None:
    page = open_as("editor")
    page.set_viewport_size(size)
    page.goto("/insights?period=day&periods=56")
    today = dt.datetime.now(dt.UTC).date()
    charts = [c for c in _axes(page) if c["y"]]
    assert len(charts) >= 3
    for chart in charts:
        assert all(float(v).is_integer() for v in chart["y"]), chart["y"]  # never 6.25 messages
        x = chart["x"]
        assert len(x) >= 3 and x[-1]["text"] == short_day(today), x
        touching = [(a["text"], b["text"]) for a, b in itertools.pairwise(x) if b["left"] < a["right"] + 2]
        assert touching == [], (chart["name"], touching)
    shoot(page, f"insights-days-{width}")


def test_chart_text_is_as_readable_on_a_phone_as_on_a_laptop(open_as: Any, traffic: Traffic) -> None:
    page = open_as("editor")
    page.set_viewport_size(PHONE)
    page.goto("/insights")
    charts = _axes(page)
    assert len(charts) >= 4
    small = {c["name"]: round(c["smallest"], 1) for c in charts if c["smallest"] < 10}
    assert small == {}, f"chart text under 10 px on a phone: {small}"


def test_unanswered_groups_are_named_by_a_message_with_their_history_in_words(open_as: Any, traffic: Traffic) -> None:
    page = open_as("editor")
    page.goto("/insights")
    groups = page.locator("ol.gaps li.gap")
    expect(groups.first).to_be_visible()
    for i in range(groups.count()):
        group = groups.nth(i)
        name = group.locator("h3").inner_text()
        assert name.startswith("“") and " · " not in name, name  # not 'dank · much'
        history = group.locator(".group-history").inner_text()
        assert "ervoor: " not in history and ("Nieuw:" in history or "In de 4 weken ervoor" in history), history
        group.locator("summary").click()
        typical = group.locator("li.message-text").first.inner_text()
        assert name.strip("“”") == typical or (name.endswith("...”") and typical.startswith(name[1:60])), name


def test_kanker_and_cancer_are_counted_as_one_subject(open_as: Any, traffic: Traffic) -> None:
    page = open_as("editor")
    page.goto("/insights")
    names = [g.get_attribute("data-name") for g in
             page.locator('section[aria-labelledby="h-topics"] svg.chart g.series').all()]
    assert "kanker / cancer" in names and "cancer" not in names and "kanker" not in names, names


def test_the_excel_csv_opens_in_columns_and_the_plain_csv_stays_for_scripts(open_as: Any, traffic: Traffic) -> None:
    page = open_as("qa")
    page.goto("/insights?period=week&periods=4")
    excel = page.request.get(page.locator("#csv-excel").get_attribute("href") or "")
    assert excel.ok
    body = excel.body()
    assert body.startswith("\ufeff".encode())  # a BOM: Excel reads UTF-8, "patiëntensteun" stays whole
    text = body.decode("utf-8-sig")
    header, *rows = text.splitlines()
    assert header == "period;start;kind;id;title;count;rising;expected;ratio;p_value"
    assert all(len(r.split(";")) >= 10 for r in rows[:20])
    assert 'filename="kennisbank-insights-week-' in excel.headers["content-disposition"]
    plain = page.request.get(page.locator("#csv").get_attribute("href") or "")
    assert plain.text().startswith("period,start,kind,id,title,count")
