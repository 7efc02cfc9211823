"""The insights page in headless Chromium against a real `kb serve` holding eight weeks of generated traffic
(bench/traffic.py, ending today): the surge of one myth is listed and ringed in its week's chart, the slow drift
and the noise are not, the new unanswered question is a rising group, the page works at phone width, and it is
screenshot into test-artifacts/screenshots/insights-{laptop,phone}.png."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from api.db import open_database
from bench.traffic import DRIFT, GAP, SURGE, Traffic, TrafficPlan, generate, load
from kb.config import Settings
from kb.corpus import load_corpus
from tests.browser.conftest import PageService, browser_missing, shoot
from tests.conftest import ARTICLES

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TITLES = {a.id: a.meta.title for a in load_corpus(ARTICLES).served()}


@pytest.fixture(scope="module")
def traffic(service: PageService) -> Traffic:
    """The generated traffic, written into the running service's own database (as its suggestions would be)."""
    generated = generate(TrafficPlan(end=dt.datetime.now(dt.UTC).date()))
    db = open_database(Settings(data_dir=service.site.data))
    try:
        load(db, generated)
    finally:
        db.close()
    return generated


def test_the_surge_is_listed_ringed_in_its_week_and_screenshot(open_as: Any, traffic: Traffic) -> None:
    page = open_as("editor")
    page.goto("/insights?period=week&periods=8")
    expect(page.locator("h1")).to_have_text("Inzichten")
    week = traffic.surge_week.label
    surge = page.locator(f'ul.rising li[data-kind="article"][data-id="{SURGE}"]')
    expect(surge).to_have_count(1)
    assert surge.get_attribute("data-period") == week
    assert TITLES[SURGE] in surge.inner_text()
    # Nothing else rises but the surge's own topics and the new unanswered question.
    others = [(li.get_attribute("data-kind"), li.get_attribute("data-id"))
              for li in page.locator("ul.rising li").all()]
    assert all(kind in ("topic", "group") for kind, sid in others if sid != SURGE), others
    assert ("article", DRIFT) not in others
    # The articles chart rings the surge's line in its week, and only there.
    chart = page.locator('section[aria-labelledby="h-articles"] svg.chart')
    expect(chart).to_be_visible()
    rings = {str(g.get_attribute("data-name")): g.locator("circle.marked") for g in chart.locator("g.series").all()}
    [surge_line] = [marked for name, marked in rings.items() if name.startswith(TITLES[SURGE])]
    assert surge_line.count() == 1
    ringed = surge_line.first.locator("title").text_content() or ""
    assert week in ringed and "stijgt" in ringed
    assert not [name for name, marked in rings.items() if name.startswith(TITLES[DRIFT]) and marked.count()]
    # The question nobody answers, grouped by meaning and rising in the last week.
    gap = page.locator("ol.gaps li.gap.is-rising").first
    expect(gap).to_be_visible()
    assert "lymfeklierkanker" in gap.locator("h3").inner_text() or "tatoeages" in gap.locator("h3").inner_text()
    gap.locator("summary").click()
    assert set(gap.locator("li.message-text").all_inner_texts()) <= set(GAP)
    shots = shoot(page, "insights")
    assert all(p.stat().st_size > 10_000 for p in shots)
    assert page.errors == []


def test_by_day_the_surge_days_are_ringed_and_a_filter_keeps_its_choice(open_as: Any, traffic: Traffic) -> None:
    page = open_as("qa")
    page.goto("/insights")
    page.select_option("#i-period", "day")
    page.fill("#i-periods", "56")
    page.select_option("#i-channel", "x")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: "period=day" in url)
    expect(page.locator("#i-channel")).to_have_value("x")
    days = {li.get_attribute("data-period") for li in
            page.locator(f'ul.rising li[data-kind="article"][data-id="{SURGE}"]').all()}
    week = traffic.surge_week
    assert days and all(week.start.isoformat() <= str(d) < week.end.isoformat() for d in days), days
    assert "channel=x" in (page.locator("#csv").get_attribute("href") or "")
    shoot(page, "insights-days")
    assert page.errors == []
