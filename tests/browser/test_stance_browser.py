"""Issue 26, point 5, in headless Chromium against a real `kb serve`: a QA lead uploads an export in which two agents
sent the knowledge base's own draft for the sunbed myth unchanged ("Het klopt dat je huid vitamine D aanmaakt …,
maar …") and a third affirmed the myth in their own words. Only the third is flagged."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from kb.article import Verdict
from kb.channels import Channel
from kb.corpus import load_corpus
from kb.drafting import Drafter
from tests.browser.conftest import browser_missing, shoot
from tests.conftest import ARTICLES

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

FINISH_MS = 180_000
QUESTION = "is de zonnebank goed voor je vitamine D in de winter?"
OWN_AFFIRMATION = "Klopt helemaal hoor, af en toe zonnebanken kan geen kwaad en je krijgt er vitamine D van!"


def _sunbed_drafts() -> dict[str, str]:
    sunbed = load_corpus(ARTICLES).articles["zonnebank-vitamine-d"]
    assert sunbed.meta.verdict == Verdict.MISLEADING
    drafter = Drafter(ARTICLES / "_templates")
    return {str(c): drafter.draft(sunbed, c, customer_name="Ria", signature="Sanne").text
            for c in (Channel.FACEBOOK, Channel.WHATSAPP)}


def _export(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["agent", "bericht", "antwoord", "datum"])
    today = dt.date.today().isoformat()
    writer.writerows([(agent, message, reply, today) for agent, message, reply in rows])
    return {"name": "export zonnebank.csv", "mimeType": "text/csv", "buffer": buffer.getvalue().encode("utf-8")}


def test_the_knowledge_bases_own_draft_is_never_flagged_but_an_own_affirmation_is(open_as: Any) -> None:
    drafts = _sunbed_drafts()
    assert all("Het klopt dat je huid vitamine D aanmaakt" in text for text in drafts.values())
    page = open_as("qa")
    page.set_input_files("#upload-file", _export([("Sanne", QUESTION, drafts["facebook"]),
                                                  ("Tom", QUESTION, drafts["whatsapp"]),
                                                  ("Cem", QUESTION, OWN_AFFIRMATION)]))
    page.select_option("#upload-period", "week")
    page.locator("#upload-form button[type=submit]").click()
    finished = page.locator(".job-done[data-kind=agents]").first
    expect(finished).to_have_attribute("data-state", "done", timeout=FINISH_MS)

    week = page.locator("#consistentie tr[data-period]")
    expect(week).to_have_count(1)
    assert "3 antwoorden, 3 agents" in week.inner_text()
    week.locator("summary").click()
    flagged = week.locator(".flagged > li")
    expect(flagged).to_have_count(1)  # on main: all three, the two drafts as "affirms the claim ('klopt')"
    assert flagged.first.locator("b").inner_text() == "Cem"
    assert flagged.first.locator('[data-flag="different_stance"]').count() == 1
    assert "bevestigt de bewering" in flagged.first.inner_text()
    shoot(page, "qa-stance")
    assert page.errors == []
