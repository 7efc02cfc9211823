"""GET /metrics' text, made by prometheus_client: escaped labels, one registry per app, and several processes'
counts summed through PROMETHEUS_MULTIPROC_DIR (real separate processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from api.metrics import MULTIPROC_ENV, Metrics
from kb.errors import ConfigError

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, [s for s in samples if s.name == name])
    return float(found[0])


@pytest.fixture(autouse=True)
def _one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)  # these tests' own process counts alone


def test_a_label_value_with_a_quote_backslash_and_newline_is_escaped_and_reads_back() -> None:
    hostile = 'route "x" \\ back\nslash'
    metrics = Metrics()
    metrics.observe_request(hostile, "GET", 200, 0.003)
    text = metrics.render(None)
    assert 'route="route \\"x\\" \\\\ back\\nslash"' in text  # the exposition format's three escapes
    assert all(line.startswith(("#", "kb_")) for line in text.splitlines())  # the newline did not split a line
    samples = _samples(text)
    assert _value(samples, "kb_http_requests_total", route=hostile, method="GET", status="200") == 1
    assert _value(samples, "kb_http_request_seconds_bucket", route=hostile, method="GET", le="0.005") == 1


def test_an_unknown_method_is_counted_as_other_not_as_a_new_series() -> None:
    metrics = Metrics()
    for method in ("BREW", "X" * 500, "POST"):
        metrics.observe_request("/v1/suggest", method, 405, 0.001)
    samples = _samples(metrics.render(None))
    methods = {s.labels["method"] for s in samples if s.name == "kb_http_requests_total"}
    assert methods == {"other", "POST"}
    assert _value(samples, "kb_http_requests_total", route="/v1/suggest", method="other", status="405") == 2


def test_each_app_counts_in_its_own_registry_and_never_in_the_global_one() -> None:
    first, second = Metrics(), Metrics()
    first.observe_request("/healthz", "GET", 200, 0.001)
    assert _value(_samples(first.render(None)), "kb_http_requests_total", route="/healthz", method="GET",
                  status="200") == 1
    assert not [s for s in _samples(second.render(None)) if s.name == "kb_http_requests_total"]
    assert not [name for name in prometheus_client.REGISTRY._names_to_collectors if name.startswith("kb_")]


def test_every_tier_is_listed_at_zero_before_any_suggestion() -> None:
    samples = _samples(Metrics().render(None))
    assert {s.labels["confidence"]: s.value for s in samples if s.name == "kb_suggestions_total"} == {
        "high": 0, "medium": 0, "low": 0}
    assert _value(samples, "kb_suggest_requests_total") == 0 and _value(samples, "kb_no_match_total") == 0


_WORKER = textwrap.dedent("""
    import sys
    from types import SimpleNamespace
    from api.metrics import Metrics

    metrics, n = Metrics(), int(sys.argv[1])
    for _ in range(n):
        metrics.observe_request("/v1/suggest", "POST", 200, 0.02)
        metrics.observe_suggestion(SimpleNamespace(no_match=False, suggestions=[SimpleNamespace(confidence="high")]))
    if len(sys.argv) > 2:
        print(metrics.render(None))
""")


def _run(shared: Path, *args: str) -> str:
    env = {**os.environ, MULTIPROC_ENV: str(shared), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _WORKER, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_with_a_shared_directory_any_process_answers_the_sum_of_all_processes(tmp_path: Path) -> None:
    _run(tmp_path, "3")  # two worker processes that have exited since (their counts stay: they are totals)
    _run(tmp_path, "4")
    samples = _samples(_run(tmp_path, "5", "render"))  # a third, which also answers the scrape
    assert _value(samples, "kb_http_requests_total", route="/v1/suggest", method="POST", status="200") == 12
    assert _value(samples, "kb_http_request_seconds_count", route="/v1/suggest", method="POST") == 12
    assert _value(samples, "kb_http_request_seconds_bucket", route="/v1/suggest", method="POST", le="0.025") == 12
    assert _value(samples, "kb_suggestions_total", confidence="high") == 12
    assert _value(samples, "kb_suggest_requests_total") == 12
    assert len({f.stem.rsplit("_", 1)[1] for f in tmp_path.glob("*.db")}) == 3  # files of three processes


def test_a_shared_directory_that_does_not_exist_stops_start_up_with_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=f"{MULTIPROC_ENV}=.*missing is not a directory"):
        Metrics()
