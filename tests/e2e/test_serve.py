"""A real `kb serve` process on a free port: re-indexing under load, raw-socket body limits, and feedback that
survives kill -9."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kb.embedding import copy_cache
from tests.api.conftest import make_keys
from tests.conftest import ARTICLES, ROOT
from tests.infra.processes import free_port, kill_process, stop_process

SUGAR = "klopt het dat suiker kanker voedt? mn schoonmoeder eet geen fruit meer"
NEW_SENTENCE = "Deze zin is nieuw toegevoegd door de redactie."


@dataclass
class Service:
    base: Path
    port: int
    env: dict[str, str]
    keys: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def start(self, tries: int = 3) -> None:
        """Start `kb serve` and wait until it is ready. A port found free can be taken before the service binds it
        (the other test process's connections draw from the same range), so a service that could not bind moves
        to another free port (`port` and `url` follow) instead of failing the test."""
        for attempt in range(tries):
            log = self.base / f"serve-{len(self.log)}.log"
            self.log.append(log)
            self.proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(self.port)],
                                         env=self.env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            if self._ready(log):
                return
            if "address already in use" not in log.read_text() or attempt == tries - 1:
                raise AssertionError(f"kb serve exited:\n{log.read_text()}")
            self.port = free_port()
            self.env = {**self.env, "KB_PORT": str(self.port)}

    def _ready(self, log: Path) -> bool:
        """True once /readyz answers 200; False when the process exited first."""
        assert self.proc is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"kb serve did not become ready:\n{log.read_text()}")

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def kb(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kb.cli", *args], env={**self.env, **extra_env}, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("serve")
    shutil.copytree(ARTICLES, base / "articles")
    data = base / "data"
    data.mkdir()
    # Reuse the session's embeddings (same model, same texts) so this index costs seconds, not half a minute.
    copy_cache(sample_engine.settings.cache_path, data / "embeddings.sqlite")
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(base / "articles"),
           "KB_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    env.pop("KB_API_KEY", None)
    svc = Service(base, port, env, make_keys(data))
    indexed = svc.kb("index")
    assert indexed.returncode == 0, indexed.stderr
    svc.start()
    yield svc
    svc.stop()


def _suggest(client: httpx.Client, svc: Service, message: str = SUGAR) -> httpx.Response:
    return client.post(f"{svc.url}/v1/suggest", json={"message": message, "channel": "facebook"},
                       headers=svc.headers("agent"), timeout=30)


def test_served_process_answers_health_docs_and_suggestions(service: Service) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{service.url}/readyz").json()["status"] == "ready"
    assert "POST /v1/suggest" in httpx.get(f"{service.url}/docs").text  # the self-hosted reference page
    with httpx.Client() as client:
        body = _suggest(client, service).json()
    assert body["suggestions"][0]["article_id"] == "suiker-voedt-kanker"


def test_a_streamed_oversized_body_is_refused_before_the_client_sends_the_rest(service: Service) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall((f"POST /v1/suggest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {service.keys['agent']}\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode())
        chunk = b"a" * 1024
        for _ in range(70):  # 70 KiB, and the body is never finished
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while b"payload_too_large" not in answer and (part := sock.recv(4096)):
            answer += part
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer


class Load:
    """Suggestion requests in a loop on a thread, counting every answer that is not a 200.

    Paced at about 25 a second, under the default per-key limit (50/s) that this service keeps: unpaced, one
    client with a 5 ms suggest outruns it, and the 429s would hide the failures this looks for."""

    def __init__(self, svc: Service) -> None:
        self.svc, self.failures, self.drafts, self.stop = svc, [], [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client() as client:
            while not self.stop.is_set():
                try:
                    response = _suggest(client, self.svc)
                except httpx.HTTPError as e:
                    self.failures.append(repr(e))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")
                else:
                    self.drafts.append(response.json()["suggestions"][0]["draft"])
                time.sleep(0.04)

    def __enter__(self) -> Load:
        self.thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)
        self.stop.set()
        self.thread.join(60)


def test_kb_index_while_serving_changes_answers_without_a_failed_request(service: Service) -> None:
    article = service.base / "articles" / "nl" / "suiker-voedt-kanker.md"
    text = article.read_text(encoding="utf-8")
    heading = next(h for h in ("## Antwoord\n\n", "## Answer\n\n") if h in text)
    article.write_text(text.replace(heading, heading + NEW_SENTENCE + " ", 1), encoding="utf-8")

    with Load(service) as load:
        refused = service.kb("index")  # no key: says how to ask the service, changes nothing
        assert refused.returncode == 1 and "KB_API_KEY" in refused.stderr
        done = service.kb("index", KB_API_KEY=service.keys["editor"])
        assert done.returncode == 0, done.stderr
        assert "asking" in done.stderr and "1 articles" not in done.stderr
        full = service.kb("index", "--full", KB_API_KEY=service.keys["editor"])  # a new collection + alias swap
        assert full.returncode == 0, full.stderr
    assert load.failures == []
    assert len(load.drafts) > 10
    assert NEW_SENTENCE not in load.drafts[0] and NEW_SENTENCE in load.drafts[-1]


def test_every_acknowledged_feedback_survives_kill_9(service: Service) -> None:
    with httpx.Client() as client:
        rid = _suggest(client, service).json()["request_id"]
    acknowledged: list[int] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client() as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = client.post(f"{service.url}/v1/feedback", headers=service.headers("agent"), timeout=10,
                                    json={"request_id": rid, "action": "edited", "final_text": f"versie {i}"})
                except httpx.HTTPError:
                    return  # the server died mid-request: not acknowledged, so not owed
                if r.status_code == 201:
                    acknowledged.append(r.json()["feedback_id"])

    writers = [threading.Thread(target=write) for _ in range(3)]
    for t in writers:
        t.start()
    while len(acknowledged) < 50:
        time.sleep(0.05)
    service.kill()  # mid-write, no shutdown hooks
    stop.set()
    for t in writers:
        t.join(30)

    with sqlite3.connect(service.env["KB_DATA_DIR"] + "/kennisbank.sqlite") as con:
        stored = {row[0] for row in con.execute("SELECT id FROM feedback")}
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)

    service.start()  # and the service comes back on the same state
    with httpx.Client() as client:
        assert _suggest(client, service).status_code == 200


def test_a_port_taken_before_the_service_binds_it_moves_the_service_to_another(service: Service,
                                                                                 tmp_path: Path) -> None:
    """What failed a CI run: a port found free was taken by the other test process before `kb serve` bound it.
    (Local Qdrant lets one process open a data dir: the module's service steps aside meanwhile.)"""
    service.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        second = Service(tmp_path, port, {**service.env, "KB_PORT": str(port)}, service.keys)
        try:
            second.start()
            assert second.port != port and len(second.log) == 2
            assert "address already in use" in second.log[0].read_text()
            assert httpx.get(f"{second.url}/readyz").json()["status"] == "ready"
        finally:
            second.stop()
            service.start()
