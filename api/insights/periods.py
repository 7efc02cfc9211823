"""Periods of the insights: UTC days, or ISO weeks (Monday to Sunday, UTC), and the days they cover.

Request times are stored as ISO-8601 text in UTC, so a day is the first ten characters of a timestamp and the
database groups by day alone; weeks are folded from days here (the same on SQLite and PostgreSQL).

    >>> week = Period.of("week", dt.date(2026, 12, 3))
    >>> week.start, week.label, week.end
    (datetime.date(2026, 11, 30), '2026-W49', datetime.date(2026, 12, 7))
    >>> [p.label for p in Period.ending("day", dt.date(2026, 12, 3), 2)]
    ['2026-12-02', '2026-12-03']
    >>> week.shift(-1).label
    '2026-W48'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

PeriodKind = Literal["day", "week"]
KINDS: tuple[PeriodKind, ...] = ("day", "week")
_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True, order=True)
class Period:
    """One day or one ISO week; `start` is inclusive, `end` exclusive."""

    kind: PeriodKind
    start: dt.date

    @classmethod
    def of(cls, kind: PeriodKind, day: dt.date) -> Period:
        """The period of `kind` that contains `day`."""
        return cls(kind, day - dt.timedelta(days=day.weekday()) if kind == "week" else day)

    @classmethod
    def ending(cls, kind: PeriodKind, last: dt.date, count: int) -> list[Period]:
        """`count` consecutive periods, oldest first, the last one containing `last`."""
        final = cls.of(kind, last)
        return [final.shift(i - count + 1) for i in range(count)]

    @property
    def days(self) -> int:
        return _DAYS[self.kind]

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)

    def shift(self, n: int) -> Period:
        """The period `n` periods later (earlier when negative)."""
        return Period(self.kind, self.start + dt.timedelta(days=n * self.days))

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def key(self) -> str:
        """Stable text for records (sent alerts): `day:2026-12-01`, `week:2026-11-30`."""
        return f"{self.kind}:{self.start.isoformat()}"


def parse_since(text: str) -> dt.timedelta:
    """`7d`, `12w` or `36h` as a duration (the `kb insights --since` option); ValueError says what is accepted.

        >>> parse_since("7d"), parse_since("2w")
        (datetime.timedelta(days=7), datetime.timedelta(days=14))
    """
    value = text.strip().lower()
    units = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit() or int(value[:-1]) < 1:
        raise ValueError(f"'{text}' is not a duration like 36h, 7d or 8w")
    return int(value[:-1]) * units[value[-1]]
