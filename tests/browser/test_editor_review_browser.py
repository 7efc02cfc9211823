"""Issue 26, point 8, in headless Chromium against a real `kb serve`: the article list puts overdue reviews first
and sorts by review date; the gaps page asks how strictly to group in words (no cosine), lets an editor hide noise
("lol", "asdfgh", a football score), which stays hidden after a reload and in the database, and can be undone; dates
read as Dutch dates, never as ISO timestamps."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PageService, browser_missing, shoot

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

DUTCH_DAY = re.compile(r"^\d{1,2} (januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|"
                       r"december) \d{4}$")
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?")
NOISE = ("lol", "asdfgh", "wie wint de derby vandaag, Ajax of Feyenoord?")
QUESTION = ("mag mijn hond mee naar de lotgenotenbijeenkomst", "mag ik mijn hond meenemen naar jullie bijeenkomst "
            "voor lotgenoten?")


def test_overdue_reviews_come_first_and_the_list_sorts_by_review_date(open_as: Any) -> None:
    page = open_as("editor")
    page.goto("/editor")
    rows = page.locator("table.list tbody tr")
    first = rows.first
    expect(first.locator(".badge.conf-low")).to_have_text("verlopen")  # on main: row 62 of 71
    review = [(t.get_attribute("datetime"), t.get_attribute("class")) for t in page.locator("td.review time").all()]
    overdue = [d for d, c in review if c == "review-overdue"]
    assert overdue and review[:len(overdue)] == [(d, "review-overdue") for d in sorted(overdue)]
    texts = page.locator("td.review time").all_inner_texts()
    assert texts and all(DUTCH_DAY.match(t) for t in texts), texts[:5]
    assert not ISO.search(page.locator("table.list").inner_text())
    shoot(page, "editor-list-overdue-first")

    page.select_option("#f-sort", "review")
    page.click(".filters button[type=submit]")
    page.wait_for_url(re.compile(r"sort=review"))
    dates = [t.get_attribute("datetime") for t in page.locator("td.review time").all()]
    assert len(dates) > 20 and dates == sorted(dates)
    page.goto("/editor/articles/zonnebank-vitamine-d")
    meta = page.locator(".meta-card dl").inner_text()
    assert not ISO.search(meta) and "fact-check" not in meta and "claim: misleidend" in meta
    assert page.errors == []


def _flag(service: PageService, messages: tuple[str, ...]) -> None:
    with httpx.Client(base_url=service.url, headers=service.headers("agent"), timeout=30) as api:
        for message in messages:
            rid = api.post("/v1/suggest", json={"message": message}).json()["request_id"]
            assert api.post("/v1/feedback", json={"request_id": rid, "action": "no_good_answer"}).status_code == 201


def _dismissed(service: PageService) -> int:
    with sqlite3.connect(service.site.data / "kennisbank.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM gap_dismissals").fetchone()[0])


def _group(page: Any, word: str) -> Any:
    """The group holding a message with this word (its heading or its folded list)."""
    return page.locator("ol.gaps li.gap").filter(has_text=re.compile(rf"\b{word}\b"))


def test_an_editor_hides_noise_for_good_and_can_undo_it(open_as: Any, service: PageService) -> None:
    _flag(service, (*NOISE, *QUESTION))
    page = open_as("editor")
    page.goto("/editor/gaps")
    assert "cosinus" not in page.content().lower() and page.locator("input[type=number]").count() == 0
    expect(page.locator("label[for=grouping]")).to_have_text("Hoe streng groeperen")
    latest = page.locator("ol.gaps li.gap p.small").first.inner_text()
    assert not ISO.search(latest) and re.search(r"laatst \d{1,2} \w+\.? \d{4}, \d{2}:\d{2}", latest), latest
    lol = _group(page, "lol")
    expect(lol).to_have_count(1)
    lol.get_by_role("button", name=re.compile("Verbergen als ruis")).click()
    expect(page.locator("#melding")).to_contain_text("verborgen als ruis")
    expect(_group(page, "lol")).to_have_count(0)
    assert _dismissed(service) >= 1
    page.reload()  # it stays hidden: the dismissal is in the database, not in the page
    expect(_group(page, "lol")).to_have_count(0)
    assert _group(page, "hond").count() >= 1  # the real question stays
    shoot(page, "editor-gaps-noise-hidden")

    page.locator("details.hidden-batches summary").click()
    page.locator("details.hidden-batches").get_by_role("button", name=re.compile("Terugzetten")).first.click()
    expect(page.locator("#melding")).to_contain_text("weer zichtbaar")
    expect(_group(page, "lol")).to_have_count(1)
    assert page.errors == []
