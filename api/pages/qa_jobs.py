"""Evaluations a QA lead starts from `/qa`: golden, paraphrase and agent-consistency runs as background jobs
(`api.jobs`: one at a time per process, progress, cancel), and the consistency of what agents really sent, per
period. The report of a run lands under `KB_REPORTS_DIR/runs/`, where the QA page lists it like any other.

    POST /qa/jobs                      kind=golden|paraphrase|agents (+ scope; start, end, period), csrf -> 303 /qa
    POST /qa/jobs/upload?period=week   a CSV export as the body, X-CSRF-Token -> 202 {"job": …} (from qa.js)
    POST /qa/jobs/{job_id}/cancel      csrf -> 303 /qa
    GET  /qa/jobs                      {"current": job | null, "recent": [job, …]} (polled by qa.js)

Agent consistency reads the replies agents sent through the service (feedback `used`/`edited`/`ignored` and its
`final_text`) in a period, or an uploaded export (at most `MAX_UPLOAD_BYTES`; a bad file is refused with its
line and column before anything runs). The upload is held in memory for the run only: its report is all that is
written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.db import Database
from api.deps import DbDep, EngineDep, JobsDep, SettingsDep
from api.errors import PAGE_TAG, CsrfRefused
from api.jobs import Job, JobRunner, JobRunning, Progress, Result
from api.pages.labels import LABELS, label
from api.pages.render import json_ok
from api.pages.wording import nl_date
from api.session import CSRF_HEADER, CheckedForm, QaPage, same
from eval.agent_sources import (
    MAX_REPLIES,
    MAX_UPLOAD_BYTES,
    Reply,
    parse_replies_csv,
    parse_replies_jsonl,
    sent_replies,
)
from eval.agents import PERIODS
from eval.runs import GOLDEN_SCOPES, agents_run, golden_run, paraphrase_run, run_folder
from kb.config import Settings
from kb.corpus import build_corpus, iter_article_files
from kb.engine import Engine
from kb.errors import InvalidInput

router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages, or JSON for fetch calls

UPLOAD_PATH = "/qa/jobs/upload"
#: Bodies larger than the app's 64 KiB that a route may receive (api.app.BodyLimit reads this).
LARGER_BODIES = {UPLOAD_PATH: MAX_UPLOAD_BYTES}
#: Report titles (in English, like the command's); the page names each run in Dutch (`_page_title`).
KINDS = {"golden": "Golden messages", "paraphrase": "Paraphrase invariance", "agents": "Agent consistency"}
#: The page's words for eval.runs.GOLDEN_SCOPES (report titles stay in English, like the command's).
SCOPE_LABELS = {"test": "testsplit (wat de gate leest)", "all": "alles: beide splits en de tweets"}
MAX_PERIOD_DAYS = 366
#: Messages for `?error=`: fixed texts, so nothing from a request is reflected into the page.
FORM_ERRORS = {
    "busy": "Er loopt al een evaluatie (er kan er één tegelijk lopen): wacht tot die klaar is, of stop hem.",
    "kind": "Kies golden, paraphrase of agents.",
    "dates": "Kies een begin- en einddatum (begin vóór einde, hoogstens een jaar).",
    "period": "Kies per week of per maand.",
}
MAX_REPORT_JSON = 32 * 1024 * 1024
FLAG_CODES = tuple(LABELS["flag"])


def _relative(html: Path, settings: Settings) -> str:
    return html.relative_to(settings.reports_dir).as_posix()


Work = Callable[[Progress], Result]


def _in_own_folder(settings: Settings, kind: str, run: Callable[[Path], tuple[Path, dict[str, Any]]]) -> Result:
    """Run into a folder of its own; a run that fails or is stopped removes it again (it is empty then: the report
    is written last), so the reports folder keeps only finished runs."""
    folder = run_folder(settings.reports_dir, kind)
    try:
        html, headline = run(folder)
    except BaseException:
        with suppress(OSError):
            folder.rmdir()
        raise
    return _relative(html, settings), headline


def _golden_work(engine: Engine, settings: Settings, scope: str) -> Work:
    return lambda progress: _in_own_folder(
        settings, "golden", lambda folder: golden_run(engine, folder, progress=progress, scope=scope))


def _paraphrase_work(engine: Engine, settings: Settings) -> Work:
    return lambda progress: _in_own_folder(
        settings, "paraphrase", lambda folder: paraphrase_run(engine, folder, progress=progress))


def _agents_work(engine: Engine, settings: Settings, load: Callable[[], list[Reply]], title: str,
                 period: str | None, source: dict[str, Any]) -> Work:
    """`load()` gives the replies, inside the job (a period's feedback can be thousands of rows)."""

    def work(progress: Progress) -> Result:
        replies: list[Reply] = load()
        corpus = build_corpus(iter_article_files(settings.articles_dir))
        return _in_own_folder(settings, "agents", lambda folder: agents_run(
            engine, corpus, replies, folder, title=title, period=period, progress=progress, source=source))
    return work


def _feedback_loader(db: Database, start: dt.date, end: dt.date) -> Callable[[], list[Reply]]:
    return lambda: sent_replies(db, start, end)


def _dates(form: dict[str, str]) -> tuple[dt.date, dt.date] | None:
    try:
        start, end = dt.date.fromisoformat(form.get("start", "")), dt.date.fromisoformat(form.get("end", ""))
    except ValueError:
        return None
    return (start, end) if start <= end and (end - start).days <= MAX_PERIOD_DAYS else None


def _back(error: str = "") -> RedirectResponse:
    return RedirectResponse(f"/qa?error={error}#evaluaties" if error else "/qa#evaluaties", status_code=303)


@router.post("/qa/jobs")
def start_job(settings: SettingsDep, engine: EngineDep, db: DbDep, jobs: JobsDep, session: QaPage,
              form: CheckedForm) -> Response:
    """Start a run from the page's forms (works without JavaScript: the page shows its progress on reload)."""
    kind = form.get("kind", "")
    period = form.get("period") or None
    if kind == "golden":
        scope = form.get("scope", "test")
        if scope not in GOLDEN_SCOPES:
            return _back("kind")
        work, title = _golden_work(engine, settings, scope), f"{label(kind, 'job')} ({SCOPE_LABELS[scope]})"
    elif kind == "paraphrase":
        work, title = _paraphrase_work(engine, settings), label(kind, "job")
    elif kind == "agents":
        dates = _dates(form)
        if dates is None:
            return _back("dates")
        if period is not None and period not in PERIODS:
            return _back("period")
        report_title = f"{KINDS[kind]}: replies sent {dates[0]} – {dates[1]}"
        title = f"{label(kind, 'job')}: verstuurd van {nl_date(dates[0])} tot en met {nl_date(dates[1])}"
        work = _agents_work(engine, settings, _feedback_loader(db, *dates), report_title, period,
                            {"kind": "feedback", "from": dates[0].isoformat(), "to": dates[1].isoformat()})
    else:
        return _back("kind")
    try:
        jobs.start(kind, title, session.key.name, work)
    except JobRunning:
        return _back("busy")
    return _back()


def _upload_name(raw: str | None) -> str:
    """The file name the browser gave (for the report's title), shown as text: base name, printable, bounded."""
    name = unquote(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())[:100].strip()
    return name or "upload.csv"


@router.post(UPLOAD_PATH)
async def upload_job(request: Request, settings: SettingsDep, engine: EngineDep, jobs: JobsDep,
                     session: QaPage) -> Response:
    """Agent consistency over an uploaded export: checked whole before the run starts (422 naming line and
    column); 409 while another run goes on (`JobRunning`); 202 with the job once it runs."""
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not same(presented, session.csrf):
        raise CsrfRefused("the upload's security token is missing or does not match your session: reload the page")
    period = request.query_params.get("period") or None
    if period is not None and period not in PERIODS:
        raise InvalidInput(f"period: '{period[:20]}' is not one of {', '.join(PERIODS)}", field="period")
    name = _upload_name(request.headers.get("x-filename"))
    body = await request.body()
    parse = parse_replies_jsonl if name.lower().endswith((".jsonl", ".json")) else parse_replies_csv
    replies = await run_in_threadpool(lambda: parse(body, name=name, max_replies=MAX_REPLIES))
    work = _agents_work(engine, settings, lambda: replies, f"{KINDS['agents']}: {name}", period,
                        {"kind": "upload", "file": name, "replies": len(replies)})
    job = jobs.start("agents", f"{label('agents', 'job')}: {name}", session.key.name, work)
    return json_ok({"job": job.public()}, status=202)


@router.post("/qa/jobs/{job_id}/cancel")
def cancel_job(job_id: str, jobs: JobsDep, session: QaPage, form: CheckedForm) -> Response:
    """Stop the running job at its next item (a finished one is left as it is)."""
    jobs.cancel(job_id[:40])
    return _back()


def _shown(job: Job) -> dict[str, Any]:
    """A job as the page shows it: its phase in Dutch beside the code."""
    return job.public() | {"phase_label": label(job.phase, "phase") if job.phase else "voorbereiden"}


@router.get("/qa/jobs")
def job_status(jobs: JobsDep, session: QaPage) -> Response:
    current = jobs.current()
    return json_ok({"current": _shown(current) if current else None,
                    "recent": [_shown(j) for j in jobs.recent()]})


# --- what the QA page shows ------------------------------------------------------------------------------

_view_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}


def _report_json(path: Path) -> dict[str, Any] | None:
    """A report's JSON, read again only when the file changed; None when it is unreadable or too large."""
    try:
        info = path.stat()
        if info.st_size > MAX_REPORT_JSON:
            return None
        cached = _view_cache.get(str(path))
        if cached is not None and cached[0] == info.st_mtime:
            return cached[1]
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    value = data if isinstance(data, dict) else None
    _view_cache.clear()  # one report is shown at a time: keep only that one
    _view_cache[str(path)] = (info.st_mtime, value)
    return value


def consistency_view(reports: list[Any], root: Path, flagged_shown: int = 25) -> dict[str, Any] | None:
    """The newest agent-consistency report: alpha, percent agreement and the flagged replies per period, with
    the change since the period before (None when there is no such report)."""
    latest = next((r for r in reports if r.name == "agents"), None)
    if latest is None:
        return None
    data = _report_json((root / latest.html).with_suffix(".json"))
    if data is None or not isinstance(data.get("alpha"), dict):
        return None
    periods = []
    for p in data.get("per_period") or []:
        flagged = p.get("flagged_replies") or []
        periods.append({**p, "flagged_replies": flagged[:flagged_shown], "flagged_more": max(0, len(flagged) -
                                                                                            flagged_shown)})
    minimum = latest.minimums.get("alpha")
    value = data["alpha"].get("value")
    return {"title": latest.title, "created": latest.created, "html": latest.html, "alpha": data["alpha"],
            "alpha_minimum": minimum, "alpha_below": minimum is not None and value is not None and value < minimum,
            "percent_agreement": data.get("percent_agreement"), "outliers": len(data.get("outliers") or []),
            "replies": data.get("replies"), "period": data.get("period"), "periods": periods[::-1]}


def page_context(request: Request, runner: JobRunner, reports: list[Any], root: Path) -> dict[str, Any]:
    """What the QA page needs for its evaluations part."""
    current = runner.current()
    today = dt.date.today()
    error = request.query_params.get("error", "")
    return {"job": _shown(current) if current else None, "finished_jobs": [_shown(j) for j in runner.recent()],
            "job_error": FORM_ERRORS.get(error, ""), "kinds": KINDS, "golden_scopes": SCOPE_LABELS,
            "periods": PERIODS, "default_start": (today - dt.timedelta(days=27)).isoformat(),
            "default_end": today.isoformat(), "upload_path": UPLOAD_PATH,
            "max_upload_mb": MAX_UPLOAD_BYTES // (1024 * 1024), "max_replies": MAX_REPLIES,
            "consistency": consistency_view(reports, root), "flag_codes": FLAG_CODES}
