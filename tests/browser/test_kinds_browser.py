"""Message kinds on the agent page (issue 27) in headless Chromium against a real `kb serve`: the kind's reply is the
first card, brought into view and copied by Alt+C, its feedback is one standing choice stored without an article;
abuse gets the moderation guideline and nothing to send; and the page keeps no serious accessibility violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.a11y import describe, serious_violations
from tests.browser.conftest import PageService, browser_missing, shoot
from tests.browser.test_agent_shift import LAPTOP, PHONE, ask, in_view, request_id

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

COMPLAINT = ("Belachelijk! Al drie weken geen antwoord op mijn mail over mijn donatie. Slechtste organisatie ooit, "
             "ik stop ermee.")
THANKS = "Wat een prachtige campagne, ik moest er echt van huilen ❤️ dank jullie wel"
ABUSE = "Stelletje oplichters, kankerlijers zijn jullie"


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_a_complaint_gets_its_acknowledgement_first_in_view_then_the_article(open_as: Any, size: dict[str, int]
                                                                             ) -> None:
    page = open_as("agent")
    page.set_viewport_size(size)
    ask(page, COMPLAINT, channel="facebook")
    expect(page.locator(".kind-head")).to_contain_text("klacht")
    card = page.locator(".kind-reply")
    expect(card).to_have_count(1)
    assert in_view(page, ".kind-reply textarea.draft")  # the reply to send first is on the first screen
    assert page.evaluate("document.activeElement.id") == "kind-title"
    assert page.locator(".suggestion").first.get_attribute("data-article-id") == "donatie-stopzetten"
    assert page.locator(".kind-reply").evaluate("(k) => k.compareDocumentPosition("
                                                "document.querySelector('.suggestion')) & 4")  # the reply comes first
    shoot(page, f"agent-kind-complaint-{'phone' if size is PHONE else 'laptop'}")
    assert page.errors == []


def test_alt_c_copies_the_kinds_reply_and_its_feedback_is_one_standing_choice(open_as: Any, service: PageService
                                                                               ) -> None:
    page = open_as("agent")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, THANKS)
    expect(page.locator(".kind-head")).to_contain_text("dank")
    draft = page.locator(".kind-reply textarea.draft").input_value()
    page.keyboard.press("Alt+c")
    expect(page.locator(".kind-reply .done")).to_contain_text("Gekopieerd")
    assert page.evaluate("navigator.clipboard.readText()") == draft
    form = page.locator(".kind-reply form")
    form.locator('button[value="used"]').click()
    expect(form.locator(".done")).to_contain_text("opgeslagen")
    expect(form.locator('button[value="used"]')).to_have_attribute("aria-pressed", "true")
    form.locator('button[value="used"]').click()  # taken back
    expect(form.locator(".done")).to_contain_text("ingetrokken")
    form.locator('button[value="used"]').click()
    expect(form.locator(".done")).to_contain_text("opgeslagen")
    rows = [r for r in service.feedback_rows() if r["request_id"] == request_id(page)]
    assert [(r["action"], r["article_id"]) for r in rows] == [("used", None)]
    assert page.errors == []


def test_abuse_is_flagged_for_moderation_with_nothing_to_send(open_as: Any) -> None:
    page = open_as("agent")
    ask(page, ABUSE)
    expect(page.locator(".kind-head .moderate")).to_contain_text("Modereren")
    expect(page.locator(".kind-head")).to_contain_text("belediging")
    assert page.locator("#results textarea").count() == 0
    assert page.locator(".no-match").count() == 0  # no "report a missing article" for an insult
    assert page.errors == []


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_kind_cards_have_no_serious_accessibility_violation(open_as: Any, size: dict[str, int]) -> None:
    page = open_as("agent")
    page.set_viewport_size(size)
    for message in (COMPLAINT, ABUSE):
        ask(page, message)
        # the answer fades in from the previous one (opacity .15 s): measure contrast once it is whole
        page.wait_for_function("() => getComputedStyle(document.querySelector('#results')).opacity === '1'")
        violations = serious_violations(page)
        assert violations == [], describe(violations)
