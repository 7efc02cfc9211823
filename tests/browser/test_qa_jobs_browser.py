"""Evaluations from the QA page in headless Chromium against a real `kb serve`: start a golden run, watch its
progress move without reloading, stop it; upload a reply export (a bad one refused with its line and column), see
consistency per period and open the report; a run that fails shows why. Screenshots at laptop and phone width."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.api.test_qa_jobs import SENT
from tests.browser.conftest import browser_missing, shoot

_missing = browser_missing()
if _missing:  # loud: the reason is in the -ra summary of every run
    pytest.skip(_missing, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402  # only once we know playwright is there

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

#: A run ends on a shared, busy machine: this is how long the page may take to show it, not a speed target.
FINISH_MS = 180_000


def _csv(rows: str) -> dict[str, Any]:
    return {"name": "export november.csv", "mimeType": "text/csv", "buffer": rows.encode("utf-8")}


def _done(page: Any) -> int:
    return int(page.locator("#job-current").get_attribute("data-done") or 0)


def test_a_qa_lead_starts_a_run_sees_it_progress_and_stops_it(open_as: Any) -> None:
    page = open_as("qa")
    page.select_option("#golden-scope", "all")  # the longest run: there is time to watch it
    page.locator("#start-golden button[type=submit]").click()
    page.wait_for_url(re.compile(r"/qa#evaluaties$"))
    running = page.locator("#job-current")
    expect(running).to_contain_text("Golden berichten (alles: beide splits en de tweets)")
    assert page.locator("#start-paraphrase button[type=submit]").is_disabled()  # one at a time
    # Progress arrives by polling, without a reload: the bar moves forward at least twice.
    page.wait_for_function("() => +(document.getElementById('job-current')?.dataset.done || 0) > 0")
    first = _done(page)
    page.wait_for_function(f"() => +(document.getElementById('job-current')?.dataset.done || 0) > {first}")
    assert int(page.locator("#job-progress").get_attribute("max") or 0) > _done(page) > first
    expect(page.locator("#job-status")).to_contain_text(re.compile(r"golden berichten: \d+ van \d+"))
    shoot(page, "qa-job-running")

    page.locator("#job-cancel").click()
    stopped = page.locator(".job-done[data-state=cancelled]").first
    expect(stopped).to_be_visible(timeout=FINISH_MS)
    assert "gestopt" in stopped.inner_text() and stopped.locator("a").count() == 0  # no report for a stopped run
    expect(page.locator("#job-current")).to_have_count(0)
    assert page.errors == []


def test_a_qa_lead_uploads_an_export_and_opens_the_consistency_report(open_as: Any) -> None:
    page = open_as("qa")
    page.set_input_files("#upload-file", _csv("agent;bericht;antwoord\nSanne;suiker?;Nee\nTom;donatie?;\n"))
    page.locator("#upload-form button[type=submit]").click()
    error = page.locator("#upload-error")
    expect(error).to_have_text("export november.csv:3: column 3 (reply): empty; every reply needs agent, message "
                               "and reply")
    assert page.locator("#job-current").count() == 0  # nothing started
    shoot(page, "qa-upload-refused")

    today = dt.date.today().isoformat()
    page.set_input_files("#upload-file", _csv("agent;bericht;antwoord;datum\n" + "".join(
        f'{agent};{message};"{reply}";{today}\n' for agent, message, reply in SENT)))
    page.select_option("#upload-period", "week")
    page.locator("#upload-form button[type=submit]").click()
    finished = page.locator(".job-done[data-kind=agents]").first
    expect(finished).to_have_attribute("data-state", "done", timeout=FINISH_MS)
    assert "export november.csv" in finished.inner_text()

    consistency = page.locator("#consistentie")
    expect(consistency).to_be_visible()
    week = consistency.locator("tr[data-period]")
    assert week.count() == 1 and week.get_attribute("data-period") == dt.date.today().strftime("%G-W%V")
    assert "5 antwoorden, 3 agents" in week.inner_text()
    week.locator("summary").click()  # the flagged replies of the week, read as text
    expect(week.locator(".flagged")).to_contain_text("Klopt, suiker voedt kanker")
    shoot(page, "qa-consistency")

    finished.locator("text=Open rapport").click()
    page.wait_for_url(re.compile(r"/qa/reports/runs/[^/]+-agents/agents\.html$"))
    expect(page.locator("h1")).to_contain_text("Agent consistency: export november.csv")
    assert page.evaluate("document.scripts.length") == 0  # reports are shown without scripts
    shoot(page, "qa-consistency-report")
    assert [e for e in page.errors if "status of 422" not in e] == []  # the refused upload's 422 is expected


def test_a_run_that_fails_shows_its_error_on_the_page(open_as: Any) -> None:
    page = open_as("qa")
    page.fill("#agents-start", "2020-01-01")
    page.fill("#agents-end", "2020-01-31")
    page.locator("#start-agents button[type=submit]").click()
    failed = page.locator(".job-done[data-state=failed]").first
    expect(failed).to_be_visible(timeout=FINISH_MS)
    expect(failed.locator(".job-error")).to_contain_text(
        "no replies sent through the service from 2020-01-01 to 2020-01-31")
    assert "mislukt" in failed.inner_text() and failed.locator("a").count() == 0
    shoot(page, "qa-job-failed")
    assert page.errors == []
