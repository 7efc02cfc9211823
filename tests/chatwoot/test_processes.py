"""Several services behind one address share PostgreSQL (README, "Several API processes"): a delivery sent to two
of them (a load balancer retrying) is noted once, and a message a dying service had claimed is taken over by
another when its lease runs out. Two app instances here, each with its own database pool, connector, group-commit
thread and workers, on one PostgreSQL and one connections file."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from api.inbox import store
from api.inbox.chatwoot import delivery as read_delivery
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
