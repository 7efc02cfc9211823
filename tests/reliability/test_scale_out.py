"""Several `kb serve` processes against one Qdrant server and one PostgreSQL share keys, requests and feedback,
with nothing lost: not under concurrent writes, not when one process is killed with SIGKILL mid-write."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.db import open_database
from kb.config import Settings
from tests.conftest import ARTICLES
from tests.infra.qdrant import QdrantFetchError, QdrantNode, qdrant_binary
from tests.reliability.postgres import PostgresServer
from tests.reliability.serving import Service, free_port, prepare_data_dir, serve_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder eet geen fruit meer"


@dataclass
class Pair:
    a: Service
    b: Service
    database_url: str
    qdrant: str  # where both processes read the index: a server URL, or "local" (one folder each)
    agent_key: str
    log: list[str] = field(default_factory=list)

    def stored_feedback(self, request_id: str) -> set[int]:
        """Feedback ids of one request, or of every request whose id starts with `request_id` + '-'."""
        with psycopg.connect(self.database_url) as conn:
            return {r[0] for r in conn.execute("SELECT id FROM feedback WHERE request_id = %s OR request_id LIKE %s",
                                               (request_id, f"{request_id}-%"))}

    def make_requests(self, prefix: str, n: int) -> str:
        """n answered requests `prefix-0` … straight in the database: feedback is one row per suggestion, so
        writers that must each add a row each need a suggestion of their own."""
        with psycopg.connect(self.database_url) as conn:
            conn.execute("INSERT INTO requests (request_id, created, channel, article_ids, no_match) "
                         "SELECT %s || '-' || g, '2026-12-01T09:00:00+00:00', 'x', '[]', true "
                         "FROM generate_series(0, %s) AS g", (prefix, n - 1))
        return prefix


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, sample_engine: Any) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("scale-out")
    url = postgres.create_database("kb_scale_out")
    db = open_database(Settings(data_dir=base, database_url=url))
    agent_key = db.add_key("agent", name="scale-out agent")[0]
    db.close()
    node: QdrantNode | None = None
    try:
        node = QdrantNode(qdrant_binary(), base / "qdrant")
        node.start()
    except QdrantFetchError as e:  # no npm here: each process gets its own local index; the state is still shared
        warnings.warn(f"scale-out runs on local Qdrant folders, not one server: {e}", stacklevel=1)
        node = None
    shared_metrics = base / "metrics"  # PROMETHEUS_MULTIPROC_DIR: both processes count into it
    shared_metrics.mkdir()
    services = []
    for name in ("a", "b"):
        data = prepare_data_dir(base / name / "data", sample_engine.settings.cache_path)
        port = free_port()
        extra = {"KB_DATABASE_URL": url, "KB_KEY_RATE": "0",  # the per-key limit has its own test
                 "PROMETHEUS_MULTIPROC_DIR": str(shared_metrics)}
        if node is not None:
            extra.update(KB_QDRANT_URL=node.url, KB_COLLECTION="kb_scale_out")
        services.append(Service(base / name, port, serve_env(data, ARTICLES, port, **extra), {"agent": agent_key}))
    indexers = services[:1] if node is not None else services  # a server holds one index for both
    for svc in indexers:
        done = svc.kb("index")
        assert done.returncode == 0, done.stderr
    starters = [threading.Thread(target=svc.start) for svc in services]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    pair = Pair(services[0], services[1], url, node.url if node else "local", agent_key)
    try:
        for svc in services:
            assert svc.proc is not None and svc.proc.poll() is None, svc.log[-1].read_text()
        yield pair
    finally:
        for svc in services:
            svc.stop()
        if node is not None:
            node.stop()


def _suggest(svc: Service) -> dict[str, Any]:
    response = httpx.post(f"{svc.url}/v1/suggest", json={"message": SUGAR, "channel": "x"},
                          headers=svc.headers("agent"), timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_both_processes_serve_the_same_index(pair: Pair) -> None:
    first, second = _suggest(pair.a), _suggest(pair.b)
    assert [s["article_id"] for s in first["suggestions"]] == [s["article_id"] for s in second["suggestions"]]
    assert first["suggestions"][0]["article_id"] == "suiker-voedt-kanker"


def test_a_key_added_through_one_process_is_accepted_by_the_other(pair: Pair) -> None:
    added = pair.a.kb("keys", "add", "--role", "qa", "--name", "scale-out qa")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    for svc in (pair.a, pair.b):
        assert httpx.get(f"{svc.url}/metrics", headers=headers, timeout=10).status_code == 200
    key_id = key.split("_", 2)[1]
    revoked = pair.b.kb("keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    for svc in (pair.a, pair.b):
        assert httpx.get(f"{svc.url}/metrics", headers=headers, timeout=10).status_code == 401


def test_feedback_on_a_suggestion_from_one_process_is_taken_by_the_other(pair: Pair) -> None:
    body = _suggest(pair.a)
    article = body["suggestions"][0]["article_id"]
    response = httpx.post(f"{pair.b.url}/v1/feedback", headers=pair.b.headers("agent"), timeout=10,
                          json={"request_id": body["request_id"], "article_id": article, "action": "used"})
    assert response.status_code == 201, response.text
    assert pair.stored_feedback(body["request_id"]) == {response.json()["feedback_id"]}


def _suggestions_counted(svc: Service, key: str) -> float:
    response = httpx.get(f"{svc.url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    return sum(s.value for family in text_string_to_metric_families(response.text) for s in family.samples
               if s.name == "kb_http_requests_total" and s.labels["route"] == "/v1/suggest")


def test_either_process_answers_metrics_for_both(pair: Pair) -> None:
    added = pair.a.kb("keys", "add", "--role", "qa", "--name", "scale-out metrics")
    assert added.returncode == 0, added.stderr
    qa = added.stdout.strip()
    before = _suggestions_counted(pair.b, qa)
    for svc in (pair.a, pair.a, pair.a, pair.b):
        _suggest(svc)
    assert _suggestions_counted(pair.b, qa) == _suggestions_counted(pair.a, qa) == before + 4


class Writers:
    """Threads posting feedback to given services until stopped, each on a suggestion of its own (requests
    `prefix-0`, `prefix-1`, …; Pair.make_requests), recording every acknowledged id."""

    def __init__(self, prefix: str, services: list[Service]) -> None:
        self.prefix, self.acknowledged, self.refused = prefix, {}, []
        self._next = iter(range(1_000_000))
        self._lock, self.stop = threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(svc, i)) for i, svc in enumerate(services)]
        self.acknowledged: dict[str, list[int]] = {svc.url: [] for svc in services}

    def _run(self, svc: Service, n: int) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                with self._lock:
                    request_id = f"{self.prefix}-{next(self._next)}"
                try:
                    r = client.post(f"{svc.url}/v1/feedback", headers=svc.headers("agent"),
                                    json={"request_id": request_id, "action": "edited",
                                          "final_text": f"writer {n} version {i}"})
                except httpx.HTTPError:
                    return  # the process died mid-request: not acknowledged, so not owed
                with self._lock:
                    if r.status_code == 201:
                        self.acknowledged[svc.url].append(r.json()["feedback_id"])
                    else:
                        self.refused.append(f"{r.status_code} {r.text[:200]}")

    def count(self, svc: Service | None = None) -> int:
        with self._lock:
            return sum(len(v) for k, v in self.acknowledged.items() if svc is None or k == svc.url)

    def wait_for(self, n: int, svc: Service | None = None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count(svc) < n:
            assert time.monotonic() < deadline, f"only {self.count(svc)} feedbacks acknowledged"
            time.sleep(0.02)

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def all_ids(self) -> set[int]:
        return {i for ids in self.acknowledged.values() for i in ids}


def test_feedback_written_through_both_processes_at_once_is_all_there(pair: Pair) -> None:
    rid = pair.make_requests("both", 2000)
    with Writers(rid, [pair.a, pair.b, pair.a, pair.b]) as writers:
        writers.wait_for(100, pair.a)
        writers.wait_for(100, pair.b)
    assert writers.refused == []
    acknowledged = [i for ids in writers.acknowledged.values() for i in ids]
    assert len(acknowledged) == len(set(acknowledged))  # ids are unique across processes
    assert pair.stored_feedback(rid) == set(acknowledged)


def test_kill_9_of_one_process_loses_no_acknowledged_feedback(pair: Pair) -> None:
    rid = pair.make_requests("kill", 2000)
    with Writers(rid, [pair.a, pair.a, pair.a, pair.b, pair.b]) as writers:
        writers.wait_for(60, pair.a)
        pair.a.kill()  # mid-write, no shutdown hooks
        before = writers.count(pair.b)
        writers.wait_for(before + 50, pair.b)  # the other process goes on answering
    assert writers.refused == []
    assert writers.all_ids() <= pair.stored_feedback(rid), sorted(writers.all_ids() - pair.stored_feedback(rid))
    assert pair.a.proc is not None and pair.a.proc.returncode == -9
