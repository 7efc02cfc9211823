"""The insights as one CSV table, for a spreadsheet: one row per period and subject (volume, no match, each
article and topic shown, rising subjects with their figures), then the feedback per article over the periods
shown, then the groups of unanswered messages.

Cells that a spreadsheet would run as a formula (starting with = + - @) get a leading apostrophe: article titles
and group labels come from editors and customers.

    >>> text = to_csv(insights)  # doctest: +SKIP
    >>> text.splitlines()[0]  # doctest: +SKIP
    'period,start,kind,id,title,count,rising,expected,ratio,p_value'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi.responses import Response

from api.insights.models import InsightsOut
from api.insights.queries import ACTIONS

COLUMNS = ("period", "start", "kind", "id", "title", "count", "rising", "expected", "ratio", "p_value")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def rows(out: InsightsOut) -> Iterator[tuple[object, ...]]:
    rising = {(r.period, r.kind, r.id): r for r in out.rising}
    for i, p in enumerate(out.periods):
        yield p.label, p.start, "volume", "all", "all messages", p.volume, "", "", "", ""
        yield p.label, p.start, "no_match", "all", "no suggestion", p.no_match, "", "", "", ""
        for s in (*out.articles, *out.topics):
            r = rising.get((p.label, s.kind, s.id))
            figures: tuple[object, ...] = (r.expected, r.ratio, r.p_value) if r else ("", "", "")
            yield (p.label, p.start, s.kind, s.id, s.title, s.counts[i], int(s.rising[i]), *figures)
    if out.periods:
        window = f"{out.periods[0].label}/{out.periods[-1].label}"
        for f in out.feedback:
            for action in ACTIONS:
                yield (window, out.periods[0].start, f"feedback_{action}", f.article_id, f.title, getattr(f, action),
                       "", "", "", "")
    if out.unanswered is not None and out.periods:
        last = out.periods[-1]
        for g in out.unanswered.groups:
            r = rising.get((last.label, "group", g.label))
            found: tuple[object, ...] = (r.expected, r.ratio, r.p_value) if r else ("", g.ratio or "", "")
            yield (last.label, last.start, "unanswered_group", g.label, g.examples[0] if g.examples else "",
                   g.counts[-1], int(g.rising), *found)


def to_csv(out: InsightsOut) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(out):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def filename(out: InsightsOut) -> str:
    """kennisbank-insights-week-2026-W41-2026-W48.csv"""
    span = f"{out.periods[0].label}-{out.periods[-1].label}" if out.periods else "empty"
    return f"kennisbank-insights-{out.period}-{span}.csv"


def csv_response(out: InsightsOut) -> Response:
    """The CSV as a download, for the API route and the page alike."""
    return Response(to_csv(out), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename(out)}"',
                             "Cache-Control": "no-store"})
