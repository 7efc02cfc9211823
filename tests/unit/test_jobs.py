"""The background job runner behind the QA page (api.jobs), without the model: one job at a time, cancelling at
the next item, failures shown without a traceback, and a job that waits for requests in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from api.jobs import JobRunner, JobRunning, Progress, Result
from api.pages.qa_jobs import SCOPE_LABELS
from eval.runs import GOLDEN_SCOPES
from kb.errors import InvalidInput

pytestmark = pytest.mark.unit


def _held(release: threading.Event, started: threading.Event | None = None, items: int = 100
          ) -> Callable[[Progress], Result]:
    def work(progress: Progress) -> Result:
        progress.phase("items", items)
        for n in range(1, items + 1):
            if started is not None:
                started.set()
            release.wait(30)
            progress.step(n)
        return "runs/x/golden.html", {"messages": items}
    return work


def test_a_second_job_is_refused_while_one_runs_and_may_start_after_it() -> None:
    runner, release = JobRunner(pause=0), threading.Event()
    first = runner.start("golden", "Golden", "qa", _held(release, items=2))
    with pytest.raises(JobRunning, match="'Golden' is still running"):
        runner.start("paraphrase", "Paraphrase", "qa", _held(release))
    release.set()
    assert runner.wait(first.id, 30).state == "done" and first.report == "runs/x/golden.html"
    second = runner.start("paraphrase", "Paraphrase", "qa", _held(release, items=1))
    assert runner.wait(second.id, 30).state == "done"
    assert [j.id for j in runner.recent()] == [second.id, first.id]  # newest first


def test_a_cancelled_job_stops_at_its_next_item_without_a_report() -> None:
    runner, release, started = JobRunner(pause=0), threading.Event(), threading.Event()
    job = runner.start("golden", "Golden", "qa", _held(release, started))
    started.wait(30)
    assert runner.cancel(job.id) and not runner.cancel("another-id")
    release.set()
    done = runner.wait(job.id, 30)
    assert done.state == "cancelled" and done.report is None and done.done < done.total == 100
    assert runner.current() is None and not runner.cancel(job.id)  # a finished job is left as it is


@pytest.mark.parametrize(("error", "shown"), [
    (InvalidInput("no replies sent through the service from 2020-01-01 to 2020-01-31"),
     "no replies sent through the service from 2020-01-01 to 2020-01-31"),
    (FileNotFoundError(2, "No such file or directory", "/srv/reports/x"),
     "cannot read or write /srv/reports/x: No such file or directory"),
    (ZeroDivisionError("secret internals"), "unexpected error (ZeroDivisionError); it has been logged"),
])
def test_a_failed_job_shows_its_error_and_never_a_traceback(error: Exception, shown: str) -> None:
    def work(progress: Progress) -> Result:
        raise error

    runner = JobRunner(pause=0)
    job = runner.wait(runner.start("agents", "Agents", "qa", work).id, 30)
    assert job.state == "failed" and job.error == shown and job.report is None
    assert "Traceback" not in str(job.public()) and "secret" not in str(job.public())


def test_a_job_waits_between_items_while_requests_are_in_flight() -> None:
    asked: list[int] = []

    def busy() -> bool:  # three requests in flight when asked, then none
        asked.append(1)
        return len(asked) <= 3

    def work(progress: Progress) -> Result:
        progress.phase("items", 1)
        progress.step(1)
        return "r.html", {"asked": len(asked)}

    runner = JobRunner(pause=0, busy=busy)
    job = runner.wait(runner.start("golden", "Golden", "qa", work).id, 30)
    assert job.state == "done" and job.headline == {"asked": 4}  # it asked until nothing was in flight


def test_the_page_names_every_golden_scope() -> None:
    assert SCOPE_LABELS.keys() == GOLDEN_SCOPES.keys()
