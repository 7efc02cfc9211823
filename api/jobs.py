"""Background jobs for the pages: one evaluation at a time per process, in a worker thread, with progress,
cancellation and a short history. The QA page starts golden, paraphrase and agent-consistency runs here.

A job runs on the process's own engine (the encoder releases the GIL while it embeds). It must never slow the
suggestions agents are waiting for, so the worker is polite: its thread runs at a lower CPU priority (nice +10,
Linux: per thread), after every item it sleeps as long as the item took (`PAUSE`), so it takes at most about
half of one core and leaves the GIL free between items for the request threads, and it starts no new item while
requests are in flight (`busy`, up to `MAX_YIELD_SECONDS` per item so the run still moves under steady load).

    >>> runner = JobRunner()
    >>> job = runner.start("golden", "Golden messages", "qa-lead", lambda progress: ("golden/golden.html", {}))
    >>> runner.wait(job.id, 5).state
    'done'

Jobs live in the memory of one process (several processes behind a load balancer each run their own); a
restart forgets the history, never a report: reports are files under `KB_REPORTS_DIR`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.errors import Refused
from kb.errors import KbError, bounded

log = logging.getLogger("kb.jobs")

#: After each item, sleep this many times as long as the item took: at most 1/(1+PAUSE) of one core.
PAUSE = 1.0
MAX_PAUSE_SECONDS = 0.5
#: While requests are in flight, wait for them before the next item, polling this often, at most this long.
YIELD_POLL_SECONDS = 0.005
MAX_YIELD_SECONDS = 2.0
NICE = 10
HISTORY = 20

#: What a job's work returns: the report's HTML path (relative to the reports folder) and its headline.
Result = tuple[str, dict[str, Any]]


class _Cancelled(Exception):
    """Raised inside a job's work (from `Progress.step`) when someone cancelled it; caught by the runner, never
    seen outside this module."""


class JobRunning(Refused):
    """A job was asked for while another runs: one at a time per process (409, in the one error tree)."""

    status, code = 409, "job_running"

    def __init__(self, running: Job) -> None:
        super().__init__(f"'{running.title}' is still running (started by {running.by}): wait for it, or stop it")
        self.running = running


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kind: str
    title: str
    by: str
    started: str
    state: str = "running"  # running | done | failed | cancelled
    phase: str = ""
    done: int = 0
    total: int = 0
    finished: str | None = None
    error: str | None = None
    report: str | None = None  # the HTML report, relative to the reports folder
    headline: dict[str, Any] = field(default_factory=dict)
    cancel_requested: bool = False
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    def public(self) -> dict[str, Any]:
        """What the page shows and polls (no thread, no event)."""
        return {k: getattr(self, k) for k in ("id", "kind", "title", "by", "started", "state", "phase", "done",
                                              "total", "percent", "finished", "error", "report", "headline",
                                              "cancel_requested")}


class Progress:
    """Handed to a job's work: `phase()` names a part and its size, `step()` counts an item, yields the CPU and
    raises _Cancelled once the job is cancelled."""

    def __init__(self, job: Job, pause: float, busy: Callable[[], bool] | None = None) -> None:
        self.job, self.pause, self.busy = job, pause, busy
        self._since = time.monotonic()

    def phase(self, name: str, total: int) -> None:
        self.job.phase, self.job.done, self.job.total = name, 0, total
        self.check()

    def step(self, done: int, total: int | None = None) -> None:
        self.job.done = done
        if total is not None:
            self.job.total = total
        self.check()
        took = time.monotonic() - self._since
        time.sleep(min(MAX_PAUSE_SECONDS, took * self.pause))  # give the request threads the core and the GIL
        waited = 0.0
        while self.busy is not None and waited < MAX_YIELD_SECONDS and self.busy():  # requests first
            time.sleep(YIELD_POLL_SECONDS)
            waited += YIELD_POLL_SECONDS
        self.check()
        self._since = time.monotonic()

    def check(self) -> None:
        if self.job._cancel.is_set():
            raise _Cancelled


def _lower_priority() -> None:
    """nice +10 for this thread only (Linux threads have their own nice value); elsewhere nothing."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


def failure_message(error: BaseException) -> str:
    """What a failed run shows: our own errors and file errors as they are; anything else by its kind only
    (the traceback goes to the log, never to the page)."""
    if isinstance(error, KbError):
        return bounded(error.message)
    if isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        return bounded(f"cannot read or write{where}: {error.strerror or error}")
    return f"unexpected error ({type(error).__name__}); it has been logged"


class JobRunner:
    """One job at a time; the last `history` finished ones are kept for the page. `busy()` says whether
    requests are being served (the app's concurrency gate): a job waits for them between its items."""

    def __init__(self, *, history: int = HISTORY, pause: float = PAUSE, busy: Callable[[], bool] | None = None
                 ) -> None:
        self._lock = threading.Lock()
        self._current: Job | None = None
        self._finished: deque[Job] = deque(maxlen=history)
        self.pause, self.busy = pause, busy

    def start(self, kind: str, title: str, by: str, work: Callable[[Progress], Result]) -> Job:
        """Start `work` in a worker thread; JobRunning when a job is still running."""
        with self._lock:
            if self._current is not None and self._current.running:
                raise JobRunning(self._current)
            job = Job(secrets.token_hex(6), kind, title, by, _now())
            job._thread = threading.Thread(target=self._run, args=(job, work), name=f"kb-job-{kind}", daemon=True)
            self._current = job
        job._thread.start()
        return job

    def _run(self, job: Job, work: Callable[[Progress], Result]) -> None:
        _lower_priority()
        report: str | None = None
        headline: dict[str, Any] = {}
        error: str | None = None
        try:
            report, headline = work(Progress(job, self.pause, self.busy))
            state = "done"
        except _Cancelled:
            state = "cancelled"
        except BaseException as e:  # a job must end in a state the page can show, whatever went wrong
            if not isinstance(e, KbError | OSError):
                log.exception("job %s (%s) failed", job.id, job.kind)
            state, error = "failed", failure_message(e)
        with self._lock:  # the page sees the job either running or finished with all of its outcome
            job.report, job.headline, job.error = report, headline, error
            job.state, job.finished = state, _now()
            self._finished.appendleft(job)

    def cancel(self, job_id: str) -> bool:
        """Ask the running job to stop at its next item; False when no running job has this id."""
        with self._lock:
            job = self._current
            if job is None or job.id != job_id or not job.running:
                return False
            job.cancel_requested = True
            job._cancel.set()
            return True

    def current(self) -> Job | None:
        """The running job, if any."""
        job = self._current
        return job if job is not None and job.running else None

    def recent(self) -> list[Job]:
        """Finished jobs, newest first."""
        with self._lock:
            return list(self._finished)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            candidates = [self._current, *self._finished]
        return next((j for j in candidates if j is not None and j.id == job_id), None)

    def wait(self, job_id: str, timeout: float) -> Job:
        """Block until the job has finished (for tests and shutdown); the job in whatever state it is then."""
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job._thread is not None:
            job._thread.join(timeout)
        return job

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the running job and wait for it (the app's shutdown: the engine closes after this)."""
        job = self.current()
        if job is not None:
            self.cancel(job.id)
            self.wait(job.id, timeout)
