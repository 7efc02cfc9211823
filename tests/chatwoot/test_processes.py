"""Several services behind one address share PostgreSQL (README, "Several API processes"): a delivery sent to two
of them (a load balancer retrying) is noted once, and a message a dying service had claimed is taken over by
another when its lease runs out. Two app instances here, each with its own database pool, connector, group-commit
thread and workers, on one PostgreSQL and one connections file."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.inbox import store
from api.inbox.chatwoot import delivery as read_delivery
from api.inbox.events import Delivery, MessageEvent
from tests.chatwoot.fake import FakeChatwoot, post
from tests.chatwoot.serving import serve_kb, wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"


def test_two_services_on_one_postgresql_note_each_message_once(sample_engine: Any, postgres: Any, tmp_path: Path,
                                                              fake: FakeChatwoot) -> None:
    url = postgres.create_database("kb_chatwoot_two")
    shared = {"database_url": SecretStr(url), "chatwoot_file": tmp_path / "chatwoot.json"}
    one = serve_kb(sample_engine, tmp_path / "one", **shared)
    two = serve_kb(sample_engine, tmp_path / "two", **shared)
    try:
        one.connect(fake)  # the second service reads the same file: no restart, no second connect
        hook = fake.webhook_url
        second = hook.replace(one.url, two.url)
        now = int(time.time())
        sends = []
        for n in range(40):
            payload = fake.incoming(7000 + n, SUGAR, conversation_id=300 + n)
            sends.append((hook, *fake.signed(payload, secret=fake.secret, delivery_id=f"d{n}", timestamp=now - 1)))
            sends.append((second, *fake.signed(payload, secret=fake.secret, delivery_id=f"d{n}", timestamp=now)))
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda s: post(*s), sends))
        assert sorted(a.status_code for a in answers) == [200] * 40 + [202] * 40
        wait_for(lambda: len(fake.notes) >= 40, timeout=120)

        # A service claims a message and dies before it is noted: the other takes it over after the lease.
        connection = one.state.connector.connections.all()[0]
        body, headers = fake.signed(fake.incoming(7100, SUGAR, conversation_id=400), secret=fake.secret)
        proven = read_delivery(connection, {k.lower(): v for k, v in headers.items()}, body, one.settings,
                               now=time.time())
        assert store.accept(one.db, connection.key, proven) == "accepted"
        assert store.claim(one.db, (connection.key, "7100"), lease=2) is not None  # ... and then nothing
        wait_for(lambda: any("kb:7100" in n["content"] for n in fake.notes), timeout=30)
        time.sleep(2.0)
        markers = sorted(n["content"].rsplit("`kb:", 1)[1].rstrip("`") for n in fake.notes)
        assert markers == [*sorted(str(7000 + n) for n in range(40)), "7100"]
    finally:
        one.stop()
        two.stop()


def test_overlapping_batches_recorded_by_two_services_at_once_never_deadlock(postgres: Any, tmp_path: Path) -> None:
    """Group commit on two services: batches [d1, d2] and [d2, d3] at once. Each used to take a delivery's row, then
    the counters' row, then the next delivery's: one held d2 and waited for the counters, the other held the
    counters and waited for d2, and PostgreSQL killed one (its webhook answered 503)."""
    from api.db import open_database
    from kb.config import Settings

    url = postgres.create_database("kb_chatwoot_batches")
    dbs = [open_database(Settings(data_dir=tmp_path / name, database_url=SecretStr(url))) for name in ("a", "b")]

    def delivery(n: int) -> tuple[str, Delivery]:
        event = MessageEvent(str(n), str(n), "1", "incoming", SUGAR, "2026-12-07T09:00:00Z")
        return "conn", Delivery(f"d{n:05d}", None, event)

    try:
        rounds = 150
        batches = [(side, [delivery(3 * r + side), delivery(3 * r + side + 1)])
                   for r in range(rounds) for side in (0, 1)]
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(lambda job: store.accept_many(dbs[job[0]], job[1]), batches))
        # No batch failed, and the delivery both batches hold (3r + 1) was accepted by exactly one of them.
        flat = [o for batch in outcomes for o in batch]
        assert flat.count("accepted") == 3 * rounds and flat.count("duplicate") == rounds
    finally:
        for db in dbs:
            db.close()


def test_a_redelivery_recorded_while_a_worker_finishes_its_message_does_not_deadlock(postgres: Any, tmp_path: Path,
                                                                                       monkeypatch: Any) -> None:
    """A worker finishing a message (its row, then the counters) and a service recording the same message's
    redelivery (the counters, then the message's row) must take the two rows in one order, or each waits for the
    other. The worker is held just before it counts, as a busy database would hold it."""
    from api.db import open_database
    from kb.config import Settings

    url = postgres.create_database("kb_chatwoot_finish")
    worker_db, webhook_db = (open_database(Settings(data_dir=tmp_path / n, database_url=SecretStr(url)))
                             for n in ("worker", "webhook"))
    event = MessageEvent("7200", "500", "1", "incoming", SUGAR, "2026-12-07T09:00:00Z")
    key = ("conn", "7200")
    try:
        assert store.accept(webhook_db, "conn", Delivery("first", None, event)) == "accepted"
        assert store.claim(worker_db, key, lease=60) is not None
        counting, go_on = threading.Event(), threading.Event()
        bump = store.bump

        def held_bump(*args: Any, **kwargs: Any) -> None:
            if threading.current_thread().name == "worker":
                counting.set()
                go_on.wait(10)
            bump(*args, **kwargs)

        monkeypatch.setattr(store, "bump", held_bump)
        errors: list[BaseException] = []
        outcome: list[str] = []

        def run(name: str, work: Any) -> threading.Thread:
            def guarded() -> None:
                try:
                    work()
                except BaseException as e:
                    errors.append(e)
            thread = threading.Thread(target=guarded, name=name)
            thread.start()
            return thread

        worker = run("worker", lambda: store.finish(worker_db, key, "no_match", counters={"no_match": 1}))
        assert counting.wait(10)
        webhook = run("webhook", lambda: outcome.extend(store.accept_many(webhook_db, [
            ("conn", Delivery("again", None, event))])))
        time.sleep(1.0)  # the redelivery reaches the row the worker holds (if the worker holds one)
        go_on.set()
        worker.join(30)
        webhook.join(30)
        assert errors == [] and outcome == ["duplicate"]
        assert store.message_row(webhook_db, "conn", "7200")["status"] == "no_match"
    finally:
        worker_db.close()
        webhook_db.close()
