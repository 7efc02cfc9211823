"""The QA page: the latest evaluation reports under `KB_REPORTS_DIR`, their headline figures, and the HTML reports.

`kb eval … --out DIR` writes `<name>.json` (title, created, headline, …) next to a self-contained `<name>.html`.
The page lists every such pair below the reports folder, newest first per report name. HTML reports are served
only when they are a listed report inside the folder (resolved paths, so no `..` or symlink leads out), with a
CSP that forbids scripts and network access.

    GET /qa                       the reports, and the evaluations to start (api.pages.qa_jobs)
    GET /qa/reports/{path}.html   one HTML report
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from api.deps import JobsDep, SettingsDep
from api.errors import PAGE_TAG
from api.pages.labels import label
from api.pages.qa_jobs import page_context
from api.pages.render import render
from api.session import QaPage
from eval import gate
from eval.report import fmt
from kb.errors import NotFound

log = logging.getLogger("kb.api")
router = APIRouter(include_in_schema=False, tags=[PAGE_TAG])  # errors here are pages (api.errors)

#: At most this many JSON files are read per page view (a reports folder can grow for years).
MAX_REPORTS = 400
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass(frozen=True)
class Report:
    name: str  # file stem: golden, paraphrase, agents, diff, dataset, ...
    title: str
    created: str
    html: str  # path relative to the reports folder
    headline: dict[str, Any]
    below: dict[str, float]  # figure -> its minimum in eval/thresholds.toml, for figures under it
    gated: frozenset[str]  # figures that have a minimum (higher is better): their changes are coloured
    minimums: dict[str, float] = field(default_factory=dict)  # figure (as the headline names it) -> its minimum

    @property
    def verdict(self) -> str:
        """`below` (a minimum missed), `met` (every figure with a rate has a minimum, all met), `partly` (minimums
        met, but other rates have none: nothing says they are good), or `none` (no minimums at all)."""
        if self.below:
            return "below"
        if not self.minimums:
            return "none"
        ungated = [k for k, v in self.headline.items() if k not in self.minimums and _rate(v)]
        return "partly" if ungated else "met"

    @property
    def explained(self) -> list[str]:
        """The figures the page can explain in a line."""
        return [name for name in self.headline if label(name, "metric_help")]


def _read(path: Path, root: Path) -> Report | None:
    html = path.with_suffix(".html")
    if not html.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("headline"), dict):
        return None  # some other JSON file, not a report
    headline = data["headline"]
    minimums = gate.headline_minimums(headline, gate.load(None, path.stem))
    below = {k: m for k, m in minimums.items() if not _number(headline.get(k)) or headline[k] < m}
    return Report(path.stem, str(data.get("title", path.stem)), str(data.get("created", "")),
                  html.relative_to(root).as_posix(), headline, below, frozenset(minimums), minimums)


def find_reports(root: Path) -> list[Report]:
    """Every report pair below `root` (the `MAX_REPORTS` written last), newest first."""
    if not root.is_dir():
        return []
    found = [r for p in _written_last(root)[:MAX_REPORTS] if (r := _read(p, root)) is not None]
    # `created` is to the second: reports of one second keep the order of their paths, not of the disk's clock
    by_path = sorted(found, key=lambda r: r.html)
    return sorted(by_path, key=lambda r: r.created, reverse=True)


def _written_last(root: Path) -> list[Path]:
    """The JSON files below `root`, the most recently written first: a stat each, so the cap drops the oldest
    reports unread (by name, `runs/` would keep the first 400 runs and hide every newer one)."""
    def written(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0
    return sorted(root.rglob("*.json"), key=lambda path: (written(path), path.as_posix()), reverse=True)


def latest_per_name(reports: list[Report]) -> list[tuple[Report, dict[str, Any]]]:
    """The newest report of each name, with the change of each numeric figure since the run before it."""
    latest: dict[str, Report] = {}
    previous: dict[str, Report] = {}
    for r in reports:  # newest first: the first seen per name is the latest, the second the one before
        if r.name not in latest:
            latest[r.name] = r
        else:
            previous.setdefault(r.name, r)
    out = []
    for name, r in latest.items():
        before = previous[name].headline if name in previous else {}
        deltas = {k: v - before[k] for k, v in r.headline.items()
                  if _number(v) and _number(before.get(k)) and v != before[k]}
        out.append((r, deltas))
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rate(value: Any) -> bool:
    """A share between 0 and 1 (a count is not judged good or bad)."""
    return isinstance(value, float) and 0.0 <= value <= 1.0


@router.get("/qa")
def qa_page(request: Request, settings: SettingsDep, jobs: JobsDep, session: QaPage) -> Response:
    reports = find_reports(settings.reports_dir)
    return render(request, "qa.html", latest=latest_per_name(reports), history=reports, fmt=fmt,
                  reports_dir=str(settings.reports_dir), **page_context(request, jobs, reports, settings.reports_dir))


@router.get("/qa/reports/{relative:path}")
def report_html(relative: str, settings: SettingsDep, session: QaPage) -> Response:
    """One HTML report, only if it is one the QA page lists (inside the reports folder, with its JSON)."""
    root = settings.reports_dir.resolve()
    try:
        target = (root / relative).resolve()
        listed = target.suffix == ".html" and target.is_relative_to(root) and target.is_file() and \
            target.with_suffix(".json").is_file()
    except (OSError, ValueError):  # a NUL byte or an unreadable path: not a report either
        listed = False
    if not listed:  # where it looked goes to the log, never into the answer
        log.info("no report %r below %s", relative, root)
        raise NotFound(f"no report '{relative[:200]}' in the reports folder")
    return FileResponse(target, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
