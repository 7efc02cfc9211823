"""`kb insights` in the terminal over generated traffic in the configured database: per day for the last week by
default, per week for `--since 8w` with the surge marked, CSV and JSON, and a `--since` it cannot read refused
with the option named."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from api.db import open_database
from bench.traffic import SURGE, Traffic, TrafficPlan, generate, load
from kb.cli import main
from kb.config import Settings
from tests.conftest import ARTICLES

pytestmark = [pytest.mark.unit]


@pytest.fixture()
def traffic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Traffic:
    generated = generate(TrafficPlan(end=dt.datetime.now(dt.UTC).date(), daily=150))
    db = open_database(Settings(data_dir=tmp_path / "data"))
    try:
        load(db, generated)
    finally:
        db.close()
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_ARTICLES_DIR", str(ARTICLES))
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    return generated


def test_by_default_the_last_seven_days_per_day(traffic: Traffic, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--no-groups"]) == 0
    out = capsys.readouterr().out
    today = dt.datetime.now(dt.UTC).date()
    assert out.startswith(f"Kennisbank insights per day, {today - dt.timedelta(days=6)} to {today} (all channels")
    rows = [line for line in out.splitlines() if line[:10].count("-") == 2 and line[:4].isdigit()]
    assert [line[:10] for line in rows][:7] == [str(today - dt.timedelta(days=6 - i)) for i in range(7)]
    assert "Most asked articles" in out and "Feedback per article" in out


def test_eight_weeks_per_week_mark_the_surge_in_its_week(traffic: Traffic,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--since", "8w", "--no-groups"]) == 0
    out = capsys.readouterr().out
    assert "per week" in out
    rising = [line.strip() for line in out.split("Rising subjects", 1)[1].splitlines() if line.startswith("  ^ ")]
    assert any(line.startswith(f"^ {traffic.surge_week.label}  article {SURGE}:") for line in rising), rising
    [series] = [line for line in out.splitlines() if line.startswith(f"  {SURGE} ")]
    assert series.count("*") == 1  # rising in one week only


def test_csv_and_json_carry_the_same_insights(traffic: Traffic, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--since", "8w", "--channel", "x", "--no-groups", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["channel"] == "x" and len(out["periods"]) == 8
    assert main(["insights", "--since", "8w", "--channel", "x", "--no-groups", "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and {r["period"] for r in rows} >= {p["label"] for p in out["periods"]}


def test_a_since_it_cannot_read_is_refused_with_the_option_named(traffic: Traffic,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "--since", "lang geleden", "--no-groups"]) == 2
    err = capsys.readouterr().err
    assert "--since" in err and "Traceback" not in err
