"""Evaluations started from the QA page, on the real app over HTTP and the shared sample index: one at a time,
cancellable, a failed run showing its error, agent consistency from recorded feedback and from an upload (a bad
file refused with its line and column, nothing stored but the report), and the figures per period on the page."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.state import state_of
from tests.api.conftest import assert_error_shape, make_keys
from tests.api.test_pages import csrf_of, login
from tests.browser.site import Site, make_site
from tests.infra.processes import wait_for

#: Replies as agents sent them: most agree, one affirms the sugar myth.
SENT = [
    ("Anna", "klopt het dat suiker kanker voedt?", "Nee, suiker voedt kanker niet. Kankercellen gebruiken suiker, "
     "net als alle cellen, maar minder suiker eten remt de tumor niet. https://www.kwf.nl/"),
    ("Bram", "is suiker slecht als je kanker hebt, groeit het dan sneller", "Nee hoor, dat is een fabel: suiker "
     "voedt kanker niet en zonder suiker hongert een tumor niet uit. https://www.kwf.nl/"),
    ("Cem", "voedt suiker de kanker?", "Klopt, suiker voedt kanker, dus je kunt beter stoppen met suiker."),
    ("Anna", "hoe stop ik mijn maandelijkse donatie", "Je kunt je donatie stoppen via het formulier op onze site of "
     "door ons te bellen; het gaat de volgende maand in."),
    ("Bram", "ik wil niet meer elke maand doneren hoe zeg ik op", "Opzeggen kan via het formulier op onze website "
     "of telefonisch, vanaf de volgende maand."),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("qa-jobs"))


@pytest.fixture(scope="module")
def qa_app(site: Site, sample_engine: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.db import open_database

    settings = sample_engine.settings.model_copy(update={"data_dir": site.data, "articles_dir": site.articles,
                                                         "reports_dir": site.reports, "key_rate": 0.0})
    keys = make_keys(site.data)
    db = open_database(settings)
    try:  # what agents sent through the service, under their own keys
        agents = {name: db.add_key("agent", name=name)[1] for name in ("Anna", "Bram", "Cem")}
        for n, (agent, message, reply) in enumerate(SENT):
            db.record_request(f"req-{n}", agents[agent].id, message, "facebook", ["suiker-voedt-kanker"])
            db.record_feedback(f"req-{n}", None, "edited" if n % 2 else "used", reply, agents[agent].id, source="api")
        db.record_request("req-rejected", agents["Cem"].id, "hoi", "x", [])
        db.record_feedback("req-rejected", None, "rejected", "niet verstuurd", agents["Cem"].id,
                           source="api")  # never sent
    finally:
        db.close()
    app = create_app(settings, sample_engine)
    with TestClient(app):
        yield app, keys


@pytest.fixture(scope="module")
def qa(qa_app: tuple[Any, dict[str, str]]) -> Any:
    app, keys = qa_app
    return login(app, keys["qa"])


@pytest.fixture(autouse=True)
def _no_run_left_behind(qa_app: tuple[Any, dict[str, str]]) -> Iterator[None]:
    """A test that fails while its run is going stops that run: the next test starts with no run (one at a time),
    instead of failing on "busy" too."""
    yield
    runner = state_of(qa_app[0]).jobs
    job = runner.current()
    if job is not None:
        runner.cancel(job.id)
        runner.wait(job.id, 120)


def strict_json(path: Path) -> Any:
    """A report's JSON as a strict parser reads it: NaN or Infinity fail."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not valid JSON: {constant}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _wait(app: Any) -> dict[str, Any]:
    """The job that just ran, once it has finished (the runner's own wait: no sleeping here)."""
    runner = state_of(app).jobs
    job = runner.current() or runner.recent()[0]
    return dict(runner.wait(job.id, 600).public())


def _start(client: Any, **form: str) -> Any:
    return client.post("/qa/jobs", data={"csrf": csrf_of(client.get("/qa").text), **form})


def _today() -> str:
    return dt.date.today().isoformat()


def test_consistency_over_the_replies_agents_sent_lands_on_the_page_per_period(
        qa_app: tuple[Any, dict[str, str]], qa: Any, site: Site) -> None:
    app, _ = qa_app
    started = _start(qa, kind="agents", start=_today(), end=_today(), period="week")
    assert started.status_code == 303 and started.headers["location"] == "/qa#evaluaties"
    job = _wait(app)
    assert job["state"] == "done", job
    assert job["report"].startswith("runs/") and job["report"].endswith("/agents.html")
    report = strict_json((site.reports / job["report"]).with_suffix(".json"))
    assert report["replies"] == len(SENT) and report["source"]["kind"] == "feedback"  # the rejected one is not in
    assert {c["agent"] for c in report["checked"]} == {"Anna", "Bram", "Cem"}
    [week] = report["per_period"]
    assert week["period"] == dt.date.today().strftime("%G-W%V") and week["replies"] == len(SENT)
    assert "different_stance" in {f for r in week["flagged_replies"] for f in r["flags"]}  # Cem's reply

    html = qa.get("/qa").text
    assert 'id="consistentie"' in html and f'data-period="{week["period"]}"' in html
    assert "Klopt, suiker voedt kanker" in html  # the flagged reply, listed under its period
    assert f'href="/qa/reports/{job["report"]}"' in html and 'data-state="done"' in html
    assert qa.get(f"/qa/reports/{job['report']}").status_code == 200


def test_a_period_without_sent_replies_fails_with_its_reason_on_the_page(
        qa_app: tuple[Any, dict[str, str]], qa: Any) -> None:
    app, _ = qa_app
    _start(qa, kind="agents", start="2020-01-01", end="2020-01-31", period="month")
    job = _wait(app)
    assert job["state"] == "failed" and job["report"] is None
    assert job["error"].startswith("no replies sent through the service from 2020-01-01 to 2020-01-31")
    html = qa.get("/qa").text
    assert re.search(r'data-state="failed".*?no replies sent through the service from 2020-01-01', html, re.S)


def test_one_run_at_a_time_and_a_run_can_be_stopped(qa_app: tuple[Any, dict[str, str]], qa: Any, site: Site
                                                     ) -> None:
    app, _ = qa_app
    before = sorted(site.reports.rglob("*"))
    assert _start(qa, kind="golden", scope="all").status_code == 303
    job = state_of(app).jobs.current()
    assert job is not None and job.kind == "golden"
    second = _start(qa, kind="paraphrase")
    assert second.headers["location"] == "/qa?error=busy#evaluaties"
    page = qa.get("/qa?error=busy").text
    assert "Er loopt al een evaluatie" in page and f'data-job="{job.id}"' in page and "<progress" in page
    # The run counts its messages once it has loaded them (on a busy machine, after this request): its progress shows.
    status = wait_for(lambda: (s := qa.get("/qa/jobs").json())["current"]["total"] > 0 and s, timeout=60)
    assert status["current"]["id"] == job.id and status["current"]["done"] < status["current"]["total"]
    stopped = qa.post(f"/qa/jobs/{job.id}/cancel", data={"csrf": csrf_of(page)})
    assert stopped.status_code == 303
    done = _wait(app)
    assert done["id"] == job.id and done["state"] == "cancelled" and done["report"] is None
    assert done["done"] < done["total"]
    assert qa.get("/qa/jobs").json()["current"] is None
    # a stopped run leaves no (empty) folder behind (`runs/` itself may be new)
    assert [p for p in sorted(site.reports.rglob("*")) if p != site.reports / "runs"] == \
        [p for p in before if p != site.reports / "runs"]


def test_an_uploaded_export_is_checked_whole_and_only_its_report_is_kept(
        qa_app: tuple[Any, dict[str, str]], qa: Any, site: Site) -> None:
    app, _ = qa_app
    token = csrf_of(qa.get("/qa").text)
    headers = {"X-CSRF-Token": token, "Accept": "application/json", "Content-Type": "text/csv",
               "X-Filename": "export%20november.csv"}
    before = sorted(p for p in site.reports.rglob("*") if p.is_file())
    bad = "agent;bericht;antwoord;datum\nSanne;suiker?;Nee;30-11-2026\nTom;donatie?;;30-11-2026\n"
    refused = qa.post("/qa/jobs/upload?period=week", content=bad.encode(), headers=headers)
    assert assert_error_shape(refused, 422)["message"] == \
        "export november.csv:3: column 3 (reply): empty; every reply needs agent, message and reply"
    assert state_of(app).jobs.current() is None
    assert sorted(p for p in site.reports.rglob("*") if p.is_file()) == before  # nothing stored

    good = "agent;bericht;antwoord;datum\n" + "".join(f"{a};{m};\"{r}\";{_today()}\n" for a, m, r in SENT)
    accepted = qa.post("/qa/jobs/upload?period=week", content=good.encode(), headers=headers)
    assert accepted.status_code == 202, accepted.text
    job = _wait(app)
    assert job["state"] == "done" and job["title"] == "Consistentie van agents: export november.csv"  # the page's
    added = sorted(p for p in site.reports.rglob("*") if p.is_file() and p not in before)
    assert [p.name for p in added] == ["agents.html", "agents.json"]  # the report, and nothing else
    report = strict_json(added[1])
    assert report["title"] == "Agent consistency: export november.csv"  # the report keeps the command's English
    assert report["source"] == {"kind": "upload", "file": "export november.csv", "replies": len(SENT)}


def test_two_runs_finishing_within_one_second_each_keep_their_report(
        qa_app: tuple[Any, dict[str, str]], qa: Any, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.pages.qa_jobs as qa_jobs
    from eval.runs import run_folder

    app, _ = qa_app
    frozen = dt.datetime.now(dt.UTC)  # both runs see the same second
    monkeypatch.setattr(qa_jobs, "run_folder", lambda root, kind: run_folder(root, kind, frozen))
    reports = []
    for _ in range(2):
        assert _start(qa, kind="agents", start=_today(), end=_today(), period="week").status_code == 303
        job = _wait(app)
        assert job["state"] == "done", job
        reports.append(job["report"])
    assert reports[0] != reports[1]
    assert all((site.reports / r).is_file() and (site.reports / r).with_suffix(".json").is_file() for r in reports)


def test_uploads_are_bounded_and_need_the_qa_role_and_the_token(qa_app: tuple[Any, dict[str, str]], qa: Any
                                                                ) -> None:
    from eval.agent_sources import MAX_UPLOAD_BYTES

    app, keys = qa_app
    token = csrf_of(qa.get("/qa").text)
    big = qa.post("/qa/jobs/upload", content=b"x" * (MAX_UPLOAD_BYTES + 1), headers={"X-CSRF-Token": token})
    assert_error_shape(big, 413)
    # The larger limit is for this route only: everywhere else a body stays at most 64 KiB.
    assert_error_shape(qa.post("/qa/jobs", content=b"x" * (64 * 1024 + 1)), 413)
    no_token = qa.post("/qa/jobs/upload", content=b"agent,message,reply\n", headers={"Accept": "application/json"})
    assert assert_error_shape(no_token, 403)["code"] == "csrf_refused"
    assert_error_shape(qa.post("/qa/jobs", data={"kind": "golden"}, headers={"Accept": "application/json"}), 403)
    agent = login(app, keys["agent"])
    agent_token = csrf_of(agent.get("/agent").text)
    assert agent.post("/qa/jobs", data={"csrf": agent_token, "kind": "golden"}).status_code == 403
    assert agent.get("/qa/jobs").status_code == 403
    assert state_of(app).jobs.current() is None


def test_a_bad_form_value_is_named_and_starts_nothing(qa_app: tuple[Any, dict[str, str]], qa: Any) -> None:
    app, _ = qa_app
    for form, error in (({"kind": "agents", "start": "2026-12-01", "end": "2026-11-01"}, "dates"),
                        ({"kind": "agents", "start": "gisteren", "end": _today()}, "dates"),
                        ({"kind": "agents", "start": _today(), "end": _today(), "period": "jaar"}, "period"),
                        ({"kind": "bench"}, "kind")):
        response = _start(qa, **form)
        assert response.headers["location"] == f"/qa?error={error}#evaluaties"
        assert state_of(app).jobs.current() is None


#: Messages agents send while a run goes on (the same ones before and during it: no cache serves them).
BAND_MESSAGES = [m for _, m, _ in SENT] + ["zonnebank goed voor vitamine d?", "wanneer moet ik naar de huisarts",
                                           "helpt kurkuma tegen kanker", "kan ik mijn nalatenschap aan jullie geven"]


def _suggest_latencies(client: Any, headers: dict[str, str], rounds: int = 2) -> list[float]:
    import time

    seconds = []
    for _ in range(rounds):
        for message in BAND_MESSAGES:
            began = time.perf_counter()
            response = client.post("/v1/suggest", json={"message": message, "channel": "facebook"}, headers=headers)
            seconds.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text
    return seconds


def test_suggestions_stay_in_their_normal_band_while_a_run_goes_on(qa_app: tuple[Any, dict[str, str]], qa: Any
                                                                   ) -> None:
    """Not a timing of the run: the suggest latency while a golden run works is compared with the same
    requests' latency on this machine just before (median within 3x), and the run must have moved meanwhile (it
    waits for requests in flight between its items, so it moves slower while agents ask)."""
    from statistics import median

    from fastapi.testclient import TestClient

    app, keys = qa_app
    headers = {"Authorization": f"Bearer {keys['agent']}"}
    with TestClient(app) as agent:
        _suggest_latencies(agent, headers, rounds=1)  # warm: first requests pay for lazy loading
        normal = _suggest_latencies(agent, headers)
        assert _start(qa, kind="golden", scope="all").status_code == 303
        job = state_of(app).jobs.current()
        assert job is not None
        before = job.done
        during = _suggest_latencies(agent, headers)
        # Agents keep asking until the run has done a few items meanwhile. By time, not by rounds: between items
        # the run waits for requests in flight up to 2 s, so on a busy machine twenty rounds can pass in fewer.
        deadline = time.monotonic() + 60
        while job.done < before + 3 and time.monotonic() < deadline:
            during += _suggest_latencies(agent, headers, rounds=1)
        assert state_of(app).jobs.current() is job and job.done >= before + 3  # the run went on the whole time
        assert qa.post(f"/qa/jobs/{job.id}/cancel", data={"csrf": csrf_of(qa.get("/qa").text)}).status_code == 303
        assert _wait(app)["state"] == "cancelled"
    print(f"suggest median {median(normal) * 1000:.0f} ms without a run, {median(during) * 1000:.0f} ms during "
          f"(max {max(normal) * 1000:.0f} / {max(during) * 1000:.0f} ms); the run did {job.done - before} items")
    assert median(during) <= 3 * median(normal), (normal, during)


def test_the_page_shows_how_consistency_moved_since_the_period_before(
        qa_app: tuple[Any, dict[str, str]], qa: Any, site: Site) -> None:
    app, _ = qa_app
    last_week = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    rows = [(a, m, r, last_week) for a, m, r in SENT if a != "Cem"] + [(a, m, r, _today()) for a, m, r in SENT]
    export = "agent,message,reply,time\n" + "".join(f'{a},"{m}","{r}",{t}\n' for a, m, r, t in rows)
    headers = {"X-CSRF-Token": csrf_of(qa.get("/qa").text), "X-Filename": "twee-weken.csv"}
    assert qa.post("/qa/jobs/upload?period=week", content=export.encode(), headers=headers).status_code == 202
    job = _wait(app)
    assert job["state"] == "done", job
    older, newer = strict_json((site.reports / job["report"]).with_suffix(".json"))["per_period"]
    assert newer["replies"] == len(SENT) and older["replies"] == len(SENT) - 1
    assert newer["change"]["flagged"] == newer["flagged"] - older["flagged"] != 0  # Cem's reply is flagged

    html = qa.get("/qa").text
    shown = re.findall(r'<tr data-period="([^"]+)">(.*?)</tr>', html, re.S)
    assert [p for p, _ in shown] == [newer["period"], older["period"]]  # newest first
    arrow = "▲" if newer["change"]["flagged"] > 0 else "▼"
    assert f'{arrow} {abs(newer["change"]["flagged"])}</small>' in shown[0][1]  # flagged moved since last week
    assert "▲" not in shown[1][1] and "▼" not in shown[1][1]  # nothing before the first week to compare with
