"""Admission control: excess requests are refused early with `Retry-After` instead of piling up.

Two limits, both per process:

- `Gate` + `ConcurrencyLimit` (ASGI middleware): at most `max_in_flight` requests to the limited routes run at
  once; up to `max_queued` more wait in FIFO order, each for at most `queue_timeout` seconds. A request that
  finds the queue full, or waits too long, gets 503 `overloaded` with `Retry-After`. Health checks, the API
  docs and `/v1/index` (serialised on its own) are never held back, so orchestrators still see the process.
- `KeyRateLimit`: a token bucket per API key id (`key_rate` per second, bursts of `key_burst`), checked right
  after authentication; over it, 429 `too_many_requests` with `Retry-After`.

With several API processes behind a load balancer each keeps its own buckets, so a key may make up to N times
`key_rate` in total: set `KB_KEY_RATE` to the wanted total divided by the number of processes. A shared bucket
would cost a database round trip on every request to guard against a few noisy keys.

    gate = Gate(max_in_flight=8, max_queued=64, queue_timeout=10)   # api.state.AppState.build makes both
    app.add_middleware(ConcurrencyLimit, gate=gate)
    limits = KeyRateLimit(rate=50, burst=100)                       # read by check_key_rate
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import ErrorBody, TooManyRequests, json_response

if TYPE_CHECKING:
    from api.db import ApiKey

#: Paths never held back: probes, docs, the re-index from the API or the editor page (one at a time already,
#: and a minutes-long re-index must not hold one of the slots suggestions are served from), and inbox webhooks
#: (they only record; Chatwoot gives up after 5 s, so they must not queue behind suggestions; their own rate
#: limit is KB_CHATWOOT_RATE, and their background workers never take a slot either: api/inbox/connector.py).
EXEMPT = ("/healthz", "/readyz", "/docs", "/openapi.json", "/v1/index", "/editor/reindex", "/v1/integrations/")


class Gate:
    """Slots and a FIFO queue, used from the event loop only (so no lock is needed)."""

    def __init__(self, *, max_in_flight: int, max_queued: int, queue_timeout: float) -> None:
        self.max_in_flight, self.max_queued, self.queue_timeout = max_in_flight, max_queued, queue_timeout
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.admitted = self.shed_full = self.shed_timeout = 0
        self._seconds = 0.1  # moving average of how long an admitted request runs, for Retry-After

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def enter(self) -> bool:
        """Take a slot, waiting in line if needed; False when the queue is full or the wait times out."""
        if self.in_flight < self.max_in_flight and not self._waiters:
            self.in_flight += 1
            self.admitted += 1
            return True
        if len(self._waiters) >= self.max_queued:
            self.shed_full += 1
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            await asyncio.wait({turn}, timeout=self.queue_timeout)  # never cancels `turn` itself
        except BaseException:
            self._give_up(turn)
            raise
        if turn.done():
            self.admitted += 1
            return True
        self._give_up(turn)
        self.shed_timeout += 1
        return False

    def leave(self, seconds: float) -> None:
        """Free a slot: handed straight to the next waiter, if any."""
        self._seconds = 0.9 * self._seconds + 0.1 * seconds
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot moves on; in_flight stays the same
                return
        self.in_flight -= 1

    def _give_up(self, turn: asyncio.Future[None]) -> None:
        if turn.done() and not turn.cancelled():
            self.leave(self._seconds)  # handed a slot just as we stopped waiting: pass it on
        else:
            turn.cancel()
            self._waiters.remove(turn)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained (at least 1, at most 60)."""
        drain = (len(self._waiters) + 1) * self._seconds / self.max_in_flight
        return max(1, min(60, math.ceil(drain)))


class ConcurrencyLimit:
    """ASGI middleware in front of the limited routes; see the module docstring."""

    def __init__(self, app: ASGIApp, gate: Gate, exempt: tuple[str, ...] = EXEMPT) -> None:
        self.app, self.gate, self.exempt = app, gate, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if not await self.gate.enter():
            await self._refuse(scope, receive, send)
            return
        started = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave(time.monotonic() - started)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        wait = self.gate.retry_after()
        error = ErrorBody(503, "overloaded", f"the service is at capacity ({self.gate.max_in_flight} requests at "
                          f"once, {self.gate.max_queued} waiting); retry in {wait} s",
                          {"in_flight": self.gate.in_flight, "queued": self.gate.queued}, {"Retry-After": str(wait)})
        await json_response(error, uuid.uuid4().hex)(scope, receive, send)


class KeyRateLimit:
    """Token buckets per API key id; thread-safe (authentication runs in the worker threads).

        >>> limits = KeyRateLimit(rate=1, burst=2, clock=lambda: 0.0)
        >>> [limits.take("k1") for _ in range(3)]
        [0.0, 0.0, 1.0]
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, when last counted)
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 when the key may go ahead (a token is spent); otherwise the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / self.rate


def check_key_rate(request: Request, key: ApiKey) -> None:
    """Raise TooManyRequests (429) with Retry-After when `key` is over its rate."""
    limits: KeyRateLimit = request.app.state.kb.key_limits  # api.state.AppState (not imported: it imports us)
    wait = limits.take(key.id)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(f"API key {key.id} is over its limit of {limits.rate:g} requests per second "
                              f"(bursts of {limits.burst}); retry in {seconds} s",
                              headers={"Retry-After": str(seconds)})
