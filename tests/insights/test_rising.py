"""The rate test behind "rising subjects": exact binomial tails, Holm's correction, quiet on small counts, on
ordinary noise and on slow drift, loud on a surge; and days and weeks as the insights count them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from api.insights.periods import Period, parse_since
from api.insights.rising import RisingRule, binomial_sf, holm, rate_tests, rate_tests_by_period

pytestmark = pytest.mark.unit
RULE = RisingRule()


@pytest.mark.parametrize(("x", "n", "p"), [(0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (11, 10, 0.3), (1, 1, 0.5),
                                            (60, 100, 0.5), (40, 100, 0.5), (700, 100_000, 0.005),
                                            (50_900, 100_000, 0.5), (5, 20, 0.0), (5, 20, 1.0)])
def test_the_binomial_tail_is_exact(x: int, n: int, p: float) -> None:
    if n <= 100:  # exact in integers
        expected = sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(x, n + 1))
    else:  # every term, none left out (the code under test stops when the terms no longer count)
        expected = math.fsum(math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                                      + j * math.log(p) + (n - j) * math.log1p(-p)) for j in range(x, n + 1))
    assert binomial_sf(x, n, p) == pytest.approx(expected, rel=1e-7, abs=1e-300)


def test_holm_never_lowers_a_p_value_and_keeps_the_order() -> None:
    raw = [0.001, 0.2, 0.01, 0.04, 0.9]
    adjusted = holm(raw)
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))
    assert sorted(range(5), key=lambda i: raw[i]) == sorted(range(5), key=lambda i: (adjusted[i], raw[i]))
    assert adjusted[0] == pytest.approx(0.005) and adjusted[4] == 0.9


def test_one_extra_message_never_surges() -> None:
    # A subject that had nothing for weeks gets one, two, even nine messages: never rising.
    for count in (1, 2, 5, 9):
        [test] = rate_tests({"new": count}, {}, exposure=1000, history_exposure=6000, rule=RULE)
        assert not test.rising and test.ratio == math.inf
    # and a usual count of 3 that becomes 8 is noise at this volume, however it looks as a ratio
    [test] = rate_tests({"a": 8}, {"a": 18}, exposure=1000, history_exposure=6000, rule=RULE)
    assert test.ratio > 2.5 and not test.rising


def test_a_surge_rises_and_the_subjects_around_it_do_not() -> None:
    current = {"5g": 160, **{f"s{i}": 30 for i in range(40)}}
    history = {"5g": 180, **{f"s{i}": 180 for i in range(40)}}
    tests = rate_tests(current, history, exposure=2600, history_exposure=15000, rule=RULE)
    assert [t.subject for t in tests if t.rising] == ["5g"]
    assert tests[0].subject == "5g" and tests[0].ratio > 5 and tests[0].p_adjusted < 1e-10


def test_a_busy_day_is_not_a_rise_of_every_subject() -> None:
    # Monday brings twice the volume of the weekend: every subject doubles with it.
    tests = rate_tests({f"s{i}": 60 for i in range(30)}, {f"s{i}": 60 for i in range(30)}, exposure=2000,
                       history_exposure=2000, rule=RULE)
    assert not any(t.rising for t in tests)


def test_a_slow_drift_stays_quiet_however_many_messages_it_has() -> None:
    # 10% more each week for eight weeks, at a volume where "the same rate" would be rejected at once.
    weeks = [round(3000 * 1.1 ** w) for w in range(8)]
    per = rate_tests_by_period({"drift": weeks}, [40_000] * 8, first=6, history=6, rule=RULE)
    for tests in per:
        [t] = tests
        assert t.ratio > 1.2 and not t.rising


def test_noise_alone_raises_no_subject_over_many_periods() -> None:
    rng = np.random.default_rng(7)
    means = rng.choice([0.5, 2, 5, 20, 80, 300], size=120)
    counts = rng.poisson(means[:, None] * rng.uniform(0.5, 1.5, size=60)[None, :])  # busy and quiet days
    subjects = {f"s{i}": [int(c) for c in row] for i, row in enumerate(counts)}
    per = rate_tests_by_period(subjects, [int(v) for v in counts.sum(axis=0)], first=14, history=14, rule=RULE)
    assert sum(len(tests) for tests in per) > 5000
    assert not [t for tests in per for t in tests if t.rising]


def test_without_history_nothing_rises() -> None:
    assert not any(t.rising for t in rate_tests({"a": 500}, {}, exposure=500, history_exposure=0, rule=RULE))


def test_the_rule_is_the_one_asked_for() -> None:
    strict = RisingRule(min_count=200)
    current, history = {"a": 150}, {"a": 60}
    assert rate_tests(current, history, exposure=1000, history_exposure=6000, rule=RULE)[0].rising
    assert not rate_tests(current, history, exposure=1000, history_exposure=6000, rule=strict)[0].rising


def test_weeks_run_monday_to_sunday_and_days_are_utc_days() -> None:
    sunday = dt.date(2026, 11, 29)
    week = Period.of("week", sunday)
    assert (week.start, week.end, week.label) == (dt.date(2026, 11, 23), dt.date(2026, 11, 30), "2026-W48")
    assert Period.of("week", dt.date(2026, 11, 30)).label == "2026-W49"
    assert Period.of("week", dt.date(2021, 1, 3)).label == "2020-W53"  # ISO years
    assert [p.label for p in Period.ending("week", sunday, 3)] == ["2026-W46", "2026-W47", "2026-W48"]
    assert Period.of("day", sunday).end == dt.date(2026, 11, 30)
    assert Period.of("day", sunday).key == "day:2026-11-29"


@pytest.mark.parametrize(("text", "days"), [("7d", 7), ("2w", 14), ("48h", 2), (" 30D ", 30)])
def test_since_reads_hours_days_and_weeks(text: str, days: int) -> None:
    assert parse_since(text) == dt.timedelta(days=days)


@pytest.mark.parametrize("text", ["", "7", "d", "0d", "-3d", "7m", "1.5d", "7 days"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like 36h, 7d or 8w"):
        parse_since(text)
