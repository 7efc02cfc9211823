"""A small closed-loop load generator: N clients, each sending its next request when the last one is answered.

    result = asyncio.run(run_clients(url, keys, seconds=60, messages=texts))
    print(result.summary())   # throughput and p50/p95/p99 of the answered requests
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer at all (connection error or our own timeout)
    seconds: float
    retry_after: str | None = None
    code: str | None = None
    message: int = -1  # index of the message sent
    answer: str = ""  # what was suggested (articles, tiers, scores, drafts), for comparing runs


@dataclass
class LoadResult:
    clients: int
    seconds: float
    answers: list[Answer] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def latencies(self, status: int = 200) -> list[float]:
        return sorted(a.seconds for a in self.answers if a.status == status)

    def percentile(self, p: float, status: int = 200) -> float:
        values = self.latencies(status)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]

    def summary(self) -> str:
        ok = self.latencies()
        shed = sum(n for s, n in self.statuses.items() if s in (429, 503))
        return (f"{self.clients} clients, {self.seconds:.0f} s: {len(self.answers)} requests, "
                f"{len(ok) / self.seconds:.1f} ok/s; statuses {dict(sorted(self.statuses.items()))}; "
                f"shed {shed / max(1, len(self.answers)):.0%}; ok latency p50 {self.percentile(50):.2f} s, "
                f"p95 {self.percentile(95):.2f} s, p99 {self.percentile(99):.2f} s, "
                f"max {max(ok, default=float('nan')):.2f} s; slowest answer of any kind "
                f"{max((a.seconds for a in self.answers), default=0):.2f} s (mean ok "
                f"{statistics.fmean(ok) if ok else float('nan'):.2f} s)")


def suggested(body: dict) -> str:  # type: ignore[type-arg]
    """The part of a suggest answer that must not depend on load: articles, tiers, scores and drafts."""
    return repr([(s["article_id"], s["confidence"], s["score"], s["draft"]) for s in body["suggestions"]])


async def run_clients(url: str, keys: list[str], *, seconds: float, messages: list[str],
                      honour_retry_after: bool = True, timeout: float = 60) -> LoadResult:
    """One client per key, each posting suggestions in a loop for `seconds`; every answer is recorded.

    aiohttp rather than httpx: at 200 concurrent connections httpx's async pool queues requests on the client
    side for seconds, which would be measured as server latency."""
    result = LoadResult(len(keys), seconds)
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=len(keys))
    async with aiohttp.ClientSession(base_url=url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:

        async def one_client(n: int, key: str) -> None:
            i = n
            headers = {"Authorization": f"Bearer {key}"}
            while time.monotonic() < deadline:
                i += len(keys)
                started = time.monotonic()
                try:
                    async with session.post("/v1/suggest", headers=headers, json={
                            "message": messages[i % len(messages)], "channel": "facebook"}) as r:
                        body = await r.json(content_type=None)
                        status, retry_after = r.status, r.headers.get("Retry-After")
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    result.answers.append(Answer(0, time.monotonic() - started, code=f"{type(e).__name__}: {e}"))
                    continue
                code = body.get("error", {}).get("code") if status >= 400 else None
                answer = Answer(status, time.monotonic() - started, retry_after, code, i % len(messages),
                                suggested(body) if status == 200 else "")
                result.answers.append(answer)
                if honour_retry_after and retry_after and retry_after.isdigit():
                    await asyncio.sleep(min(float(retry_after), max(0.0, deadline - time.monotonic())))

        await asyncio.gather(*(one_client(n, key) for n, key in enumerate(keys)))
    return result
