"""A burst of deliveries (issue 22, point 5): 200 customer messages and 50 repeats sent at once, as a busy shift or
a Chatwoot catching up after an outage does. Every delivery is answered within Chatwoot's delivery timeout, and
every message gets exactly one note. Correctness, not speed: the only time asserted is Chatwoot's own 5 s."""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from api.inbox import store
from tests.chatwoot.fake import DELIVERY_TIMEOUT, Answer, FakeChatwoot, post
from tests.chatwoot.serving import wait_for
from tests.conftest import EVAL_DATA, load_jsonl

pytestmark = pytest.mark.slow

MESSAGES = 200
REPEATS = 50
SENDERS = 50  # deliveries in flight at once (Chatwoot's Sidekiq runs many jobs in parallel)


def test_a_burst_of_200_deliveries_is_acknowledged_in_time_and_noted_once(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb(chatwoot_no_match_note=True)  # every message gets a note, so "exactly once" is countable
    kb.connect(fake)
    texts = [row["text"] for row in load_jsonl(EVAL_DATA / "golden_dev_core.jsonl")]
    now = int(time.time())
    sends = []
    for n in range(MESSAGES):
        payload = fake.incoming(10_000 + n, texts[n % len(texts)], conversation_id=500 + n)
        sends.append(fake.signed(payload, secret=fake.secret, delivery_id=f"d-{n}", timestamp=now - 1))
    for n in range(REPEATS):  # the same deliveries run again (a retried job: same id, new timestamp)
        payload = fake.incoming(10_000 + n, texts[n % len(texts)], conversation_id=500 + n)
        sends.append(fake.signed(payload, secret=fake.secret, delivery_id=f"d-{n}", timestamp=now))

    def send(signed: tuple[bytes, dict[str, str]]) -> Answer:
        return post(fake.webhook_url, *signed, timeout=DELIVERY_TIMEOUT)  # a timeout here fails the test

    started = time.perf_counter()
    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(send, sends))
    burst = time.perf_counter() - started

    assert [a.status_code for a in answers[:MESSAGES]] == [202] * MESSAGES
    assert {a.json()["status"] for a in answers[MESSAGES:]} == {"duplicate"}
    slowest = max(a.seconds for a in answers)
    assert slowest < DELIVERY_TIMEOUT

    wait_for(lambda: len(fake.notes) >= MESSAGES, timeout=600, every=0.5)
    done = time.perf_counter() - started
    time.sleep(2.0)  # nothing more comes
    markers = [n["content"].rsplit("`kb:", 1)[1].rstrip("`") for n in fake.notes]
    assert len(fake.notes) == MESSAGES and sorted(markers) == sorted(str(10_000 + n) for n in range(MESSAGES))
    assert {n["conversation_id"] for n in fake.notes} == {str(500 + n) for n in range(MESSAGES)}
    stats = store.stats(kb.db, kb.state.connector.connections.all()[0].key)
    assert (stats["accepted"], stats["duplicates"], stats["notes_posted"], stats["waiting"]) == \
        (MESSAGES, REPEATS, MESSAGES, 0)
    seconds = sorted(a.seconds for a in answers)
    print(json.dumps({"deliveries": len(answers), "in_flight": SENDERS, "burst_s": round(burst, 2),
                      "ack_p50_ms": round(statistics.median(seconds) * 1000), "ack_p95_ms":
                      round(seconds[int(0.95 * len(seconds))] * 1000), "ack_max_ms": round(slowest * 1000),
                      "all_notes_s": round(done, 1), "workers": kb.settings.chatwoot_workers}))
