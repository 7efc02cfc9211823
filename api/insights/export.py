"""The insights as one CSV table, for a spreadsheet: one row per period and subject (volume, no match, each
article and topic shown, rising subjects with their figures), then the feedback per article over the periods
shown, then the groups of unanswered messages.

Cells that a spreadsheet would run as a formula (starting with = + - @, also after spaces or invisible characters,
and in full width: ＝) get a leading apostrophe: article titles and group labels come from editors and customers.

Two dialects: `csv` (comma-separated, UTF-8, for scripts and `kb insights --csv`) and `excel`, which a Dutch
Excel opens in columns by a double click: semicolon-separated (Excel takes the list separator from the
regional settings, and in Dutch that is `;` because `,` is the decimal comma), decimals with a comma, and a UTF-8
byte order mark so "patiëntensteun" is not read as Windows-1252.

    >>> text = to_csv(insights)  # doctest: +SKIP
    >>> text.splitlines()[0]  # doctest: +SKIP
    'period,start,kind,id,title,count,rising,expected,ratio,p_value'
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import Literal

from fastapi.responses import Response

from api.insights.models import InsightsOut

COLUMNS = ("period", "start", "kind", "id", "title", "count", "rising", "expected", "ratio", "p_value")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """`value` as a cell no spreadsheet runs: a leading apostrophe when it starts with a formula character, also
    after spaces, no-break spaces or invisible characters, and in its full-width form (`＝`, `＋`, `－`, `＠`).

        >>> _cell("＝1+1"), _cell(" @SUM(A1)"), _cell("Voedt suiker kanker?")
        ("'＝1+1", "' @SUM(A1)", 'Voedt suiker kanker?')
    """
    text = "" if value is None else str(value)
    start = 0
    while start < len(text) and text[start] not in "\t\r" and (
            text[start].isspace() or unicodedata.category(text[start]) == "Cf"):
        start += 1  # Excel and LibreOffice skip these before reading a formula
    head = unicodedata.normalize("NFKC", text[start:start + 1])
    return "'" + text if head.startswith(_FORMULA) else text


def rows(out: InsightsOut) -> Iterator[tuple[object, ...]]:
    rising = {(r.period, r.kind, r.id): r for r in out.rising}
    for i, p in enumerate(out.periods):
        yield p.label, p.start, "volume", "all", "all messages", p.volume, "", "", "", ""
        yield p.label, p.start, "no_match", "all", "no suggestion", p.no_match, "", "", "", ""
        for kind, count in sorted(p.kinds.items()):
            surge = rising.get((p.label, "kind", kind))
            tested: tuple[object, ...] = (surge.expected, surge.ratio, surge.p_value) if surge else ("", "", "")
            yield p.label, p.start, "message_kind", kind, kind, count, int(surge is not None), *tested
        for s in (*out.articles, *out.topics):
            r = rising.get((p.label, s.kind, s.id))
            figures: tuple[object, ...] = (r.expected, r.ratio, r.p_value) if r else ("", "", "")
            yield (p.label, p.start, s.kind, s.id, s.title, s.counts[i], int(s.rising[i]), *figures)
    if out.periods:
        window = f"{out.periods[0].label}/{out.periods[-1].label}"
        for f in out.feedback:
            for action in ("used", "edited", "rejected", "no_good_answer"):
                yield (window, out.periods[0].start, f"feedback_{action}", f.article_id, f.title, getattr(f, action),
                       "", "", "", "")
    if out.unanswered is not None and out.periods:
        last = out.periods[-1]
        for g in out.unanswered.groups:
            r = rising.get((last.label, "group", g.label))
            found: tuple[object, ...] = (r.expected, r.ratio, r.p_value) if r else ("", g.ratio or "", "")
            yield (last.label, last.start, "unanswered_group", g.label, g.examples[0] if g.examples else "",
                   g.counts[-1], int(g.rising), *found)


Dialect = Literal["csv", "excel"]
BOM = "\ufeff"


def _excel(value: object) -> object:
    """A number as Dutch Excel reads it: 0,25 (a 0.25 would be read as text, or as a date)."""
    return str(value).replace(".", ",") if isinstance(value, float) else value


def to_csv(out: InsightsOut, dialect: Dialect = "csv") -> str:
    buffer = io.StringIO()
    excel = dialect == "excel"
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=";" if excel else ",")
    writer.writerow(COLUMNS)
    for row in rows(out):
        writer.writerow([_cell(_excel(v) if excel else v) for v in row])
    return (BOM if excel else "") + buffer.getvalue()


def filename(out: InsightsOut, dialect: Dialect = "csv") -> str:
    """kennisbank-insights-week-2026-W41-2026-W48.csv (`-excel.csv` for the Excel dialect)"""
    span = f"{out.periods[0].label}-{out.periods[-1].label}" if out.periods else "empty"
    return f"kennisbank-insights-{out.period}-{span}{'-excel' if dialect == 'excel' else ''}.csv"


def csv_response(out: InsightsOut, dialect: Dialect = "csv") -> Response:
    """The CSV as a download, for the API route and the page alike."""
    return Response(to_csv(out, dialect), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename(out, dialect)}"',
                             "Cache-Control": "no-store"})
