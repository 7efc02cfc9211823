"""Admission control: the in-flight gate and its queue (on the event loop), and the per-key rate limit through
the real app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from api.db import open_database
from api.limits import Gate, KeyRateLimit
from kb.config import Settings
from tests.api.conftest import assert_error_shape


def test_the_gate_admits_up_to_its_slots_queues_in_order_and_sheds_beyond_the_queue() -> None:
    async def scenario() -> tuple[list[str], Gate]:
        gate = Gate(max_in_flight=2, max_queued=2, queue_timeout=5)
        order: list[str] = []
        assert await gate.enter() and await gate.enter()  # both slots taken at once
        waiting = [asyncio.create_task(gate.enter()) for _ in range(2)]
        await asyncio.sleep(0)
        assert gate.queued == 2
        assert await gate.enter() is False  # queue full: refused at once
        waiting[0].add_done_callback(lambda _: order.append("first"))
        waiting[1].add_done_callback(lambda _: order.append("second"))
        gate.leave(0.1)
        await asyncio.sleep(0)
        gate.leave(0.1)
        assert all(await asyncio.gather(*waiting))
        return order, gate

    order, gate = asyncio.run(scenario())
    assert order == ["first", "second"]
    assert (gate.in_flight, gate.queued, gate.shed_full) == (2, 0, 1)


def test_a_request_that_waits_too_long_is_shed_and_leaves_no_slot_behind() -> None:
    async def scenario() -> Gate:
        gate = Gate(max_in_flight=1, max_queued=5, queue_timeout=0.05)
        assert await gate.enter()
        assert await gate.enter() is False  # timed out in the queue
        cancelled = asyncio.create_task(gate.enter())
        await asyncio.sleep(0.01)
        cancelled.cancel()  # the client went away while waiting
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        gate.leave(0.1)
        assert (gate.in_flight, gate.queued) == (0, 0)
        assert await gate.enter()  # the slot is free again
        return gate

    gate = asyncio.run(scenario())
    assert gate.shed_timeout == 1 and gate.in_flight == 1


def test_retry_after_grows_with_the_queue() -> None:
    gate = Gate(max_in_flight=1, max_queued=100, queue_timeout=5)
    assert gate.retry_after() == 1
    gate._seconds = 2.0
    assert gate.retry_after() == 2  # nobody waiting: one request's time
    assert 1 <= Gate(max_in_flight=8, max_queued=64, queue_timeout=10).retry_after() <= 60


def test_a_key_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limits = KeyRateLimit(rate=2, burst=3, clock=lambda: now[0])
    assert [limits.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limits.take("k") == pytest.approx(0.5)
    assert limits.take("other") == 0.0  # buckets are per key
    now[0] += 0.5
    assert limits.take("k") == 0.0
    assert KeyRateLimit(rate=0, burst=1).take("k") == 0.0  # 0 turns the limit off


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_go_on(sample_engine: Any,
                                                                            tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = sample_engine.settings.model_copy(update={"data_dir": tmp_path, "key_rate": 0.05, "key_burst": 3})
    db = open_database(Settings(data_dir=tmp_path))
    busy, calm = db.add_key("agent")[0], db.add_key("agent")[0]
    db.close()
    with TestClient(create_app(settings, sample_engine)) as client:
        answers = [client.get("/v1/articles?limit=1", headers={"Authorization": f"Bearer {busy}"})
                   for _ in range(6)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429, 429]
        error = assert_error_shape(answers[-1], 429)
        assert error["code"] == "too_many_requests" and busy.split("_")[1] in error["message"]
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 20
        assert client.get("/v1/articles?limit=1", headers={"Authorization": f"Bearer {calm}"}).status_code == 200
        assert client.get("/healthz").status_code == 200
