"""A test site for the pages: a temporary copy of the sample articles plus a hostile article and a broken one,
and a reports folder with one real evaluation report. Used by tests/api/test_pages.py and the browser tests.

    >>> site = make_site(tmp_path)  # doctest: +SKIP
    >>> (site.articles / "nl" / f"{HOSTILE_ID}.md").exists()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ARTICLES

HOSTILE_ID = "xss-proef"
BROKEN_FILE = "kapot-artikel.md"
#: Everything here would run script or load something if rendered as HTML; the page must show it inert.
HOSTILE = """---
id: xss-proef
type: faq
language: nl
title: "XSS-proef <script>window.__xss = 'title'</script>"
status: published
claims:
  - "hoe verwerken jullie <img src=x onerror=\\"window.__xss='claim'\\"> in een bericht"
topics: [test]
owner: redactie
reviewed: 2024-01-01
review_by: 2024-06-01
---

## Antwoord

Gewone tekst over de proef. <script>window.__xss = 'body'</script>

<img src="x" onerror="window.__xss = 'img'">

Links: [klik hier](javascript:window.__xss='link') en [hoofdletters](JaVaScRiPt:window.__xss='caps'),
een autolink <javascript:window.__xss='auto'>, een entiteit [entiteit](jav&#x61;script:window.__xss='entity'),
[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==) en [veilig](https://example.org/veilig).

<a href="javascript:window.__xss='raw'" onclick="window.__xss='click'">rauwe link</a>

## Achtergrond

<iframe src="javascript:window.__xss='iframe'"></iframe>
<svg onload="window.__xss='svg'"><circle r="1"/></svg>
<div onmouseover="window.__xss='hover'" style="position:fixed;inset:0">overal</div>
"""
BROKEN = """---
id: kapot-artikel
type: fact-check
language: nl
---

## Antwoord

Dit artikel mist bijna alles in de kop.
"""


@dataclass(frozen=True)
class Site:
    articles: Path
    reports: Path
    data: Path


def make_site(base: Path, *, git: bool = False) -> Site:
    """Copy the sample articles, add the hostile and the broken article, write one golden report.

    With `git`, the articles folder becomes a repository with one commit (for "changed since the index")."""
    articles = base / "articles"
    shutil.copytree(ARTICLES, articles)
    (articles / "nl" / f"{HOSTILE_ID}.md").write_text(HOSTILE, encoding="utf-8")
    (articles / "nl" / BROKEN_FILE).write_text(BROKEN, encoding="utf-8")
    if git:
        quiet = {"capture_output": True, "check": True, "cwd": articles}
        subprocess.run(["git", "init", "-q"], **quiet)  # type: ignore[call-overload]
        subprocess.run(["git", "add", "-A"], **quiet)  # type: ignore[call-overload]
        subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "-q", "-m",
                        "sample"], **quiet)  # type: ignore[call-overload]
    reports = base / "reports"
    write_reports(reports)
    return Site(articles, reports, base / "data")


def write_reports(reports: Path) -> None:
    """Reports through the real writer (`eval.report.write_report`): an older and a newer golden run (the newer
    with one figure under its minimum and HTML in a message) and a paraphrase run."""
    from eval.report import Section, write_report

    older = write_report(reports / "2026-01" / "golden", "golden", "Golden messages",
                         headline={"messages": 300, "hit@1": 0.70, "hit@3": 0.95}, data={})
    data = json.loads(older.with_suffix(".json").read_text(encoding="utf-8"))
    older.with_suffix(".json").write_text(json.dumps({**data, "created": "2026-01-15T09:00:00+00:00"}))
    write_report(reports / "golden", "golden", "Golden messages <b>proef</b>",
                 headline={"messages": 307, "hit@1": 0.60, "hit@3": 0.93, "high_correct": 0.96},
                 data={"misses": []},
                 sections=[Section("Misses", rows=[{"id": "core-007", "message": "<script>alert(1)</script>"}])])
    write_report(reports / "paraphrase", "paraphrase", "Paraphrase invariance",
                 headline={"groups": 69, "same article+tier": 0.81, "perturbations_unchanged": 0.94,
                           "texts_expected": 0.77}, data={})
