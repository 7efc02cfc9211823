"""Failed logins and bad keys, throttled: a client that keeps presenting wrong keys gets 429 with `Retry-After`,
and so does a client that failed on a key id under attack; the holder of the right key is never locked out by
someone else's failures.

How keys are looked up decides what "per key" can mean. A key is `kb_<id>_<secret>`: the id is found in the
database and the secret compared with its hash. The id is no secret (`kb keys list`, logs, the 429 of the key
rate name it), so refusing a key id outright after N failures would let anyone lock its holder out. Instead:

- **per client** (its address: behind a proxy, the forwarded one; docs/operations.md): at most
  `KB_AUTH_FAILURES` failed attempts per `KB_AUTH_FAILURE_SECONDS` (a token bucket); beyond that, every key and
  login from that address is refused with 429 before the key is checked. A page session already open is no key
  check: it goes on working.
- **per key id**: when an id has had that many failed attempts from anywhere it is under attack, and a client
  that has itself failed on it within the window is refused before its next attempt is checked: an attacker
  spread over many addresses gets one try per address per window. A client that has not failed on it (the
  holder, elsewhere) is checked as always, and the right key works.

Per process, like the key rate (api/limits.py), and bounded in memory (`MAX_TRACKED` addresses and ids).

    throttle = FailureThrottle(failures=10, seconds=60)
    throttle.check("203.0.113.7", "1a2b3c4d")    # raises TooManyRequests when refused
    throttle.failed("203.0.113.7", "1a2b3c4d")   # after a wrong key
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request

from api.errors import TooManyRequests

MAX_TRACKED = 10_000
_KEY_PREFIX = "kb_"  # api.db.KEY_PREFIX (not imported: the database module is heavier than this one)


def key_id_of(presented: str) -> str | None:
    """The id part of a presented key, as the database looks it up; None when it is not shaped like a key.

        >>> key_id_of("kb_1a2b3c4d_secret"), key_id_of("changeme")
        ('1a2b3c4d', None)
    """
    if not presented.startswith(_KEY_PREFIX) or presented.count("_") < 2:
        return None
    return presented[len(_KEY_PREFIX):].split("_", 1)[0][:64]


class _Buckets:
    """Token buckets by name, at most `MAX_TRACKED` of them (the least recently failed dropped first)."""

    def __init__(self, capacity: int, rate: float, clock: Callable[[], float]) -> None:
        self.capacity, self.rate, self._clock = float(capacity), rate, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # name -> (tokens, when counted)

    def _tokens(self, name: str) -> float:
        tokens, last = self._buckets.get(name, (self.capacity, self._clock()))
        return min(self.capacity, tokens + (self._clock() - last) * self.rate)

    def wait(self, name: str) -> float:
        """Seconds until `name` has a token (0: it has one)."""
        tokens = self._tokens(name)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def spend(self, name: str) -> None:
        self._buckets[name] = (max(0.0, self._tokens(name) - 1), self._clock())
        self._buckets.move_to_end(name)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)


class FailureThrottle:
    """See the module docstring. Thread-safe (keys are checked in the worker threads); `failures` 0 turns it off.

        >>> now = [0.0]
        >>> throttle = FailureThrottle(failures=2, seconds=60, clock=lambda: now[0])
        >>> throttle.failed("a", None); throttle.failed("a", None)
        >>> throttle.check("b", None)  # another address: checked as always
        >>> throttle.check("a", None)
        Traceback (most recent call last):
        api.errors.TooManyRequests: too many failed logins or keys from your address; retry in 30 s
    """

    def __init__(self, failures: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.seconds, self._clock = failures, seconds, clock
        rate = failures / seconds if failures else 1.0
        self._clients = _Buckets(max(failures, 1), rate, clock)
        self._keys = _Buckets(max(failures, 1), rate, clock)
        self._failed_on: OrderedDict[tuple[str, str], float] = OrderedDict()  # (key id, client) -> when it failed
        self._lock = threading.Lock()

    def check(self, client: str, key_id: str | None) -> None:
        """Raise TooManyRequests (with Retry-After) when `client` may not have its key checked now."""
        if not self.failures:
            return
        with self._lock:
            wait = self._clients.wait(client)
            if wait > 0:
                raise _refused("too many failed logins or keys from your address", wait)
            if key_id is None:
                return
            under_attack = self._keys.wait(key_id)
            since = self._failed_on.get((key_id, client))
            if under_attack > 0 and since is not None and self._clock() - since < self.seconds:
                wait = min(under_attack, self.seconds - (self._clock() - since))
                raise _refused(f"too many failed attempts on key {key_id}; you failed on it too", wait)

    def failed(self, client: str, key_id: str | None) -> None:
        """Count a wrong key or login from `client` (and on `key_id`, when the key was shaped like one)."""
        if not self.failures:
            return
        with self._lock:
            self._clients.spend(client)
            if key_id is not None:
                self._keys.spend(key_id)
                self._failed_on[(key_id, client)] = self._clock()
                self._failed_on.move_to_end((key_id, client))
                while len(self._failed_on) > MAX_TRACKED:
                    self._failed_on.popitem(last=False)


def _refused(why: str, wait: float) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(f"{why}; retry in {seconds} s", headers={"Retry-After": str(seconds)})


def client_of(request: Request) -> str:
    """The address a request came from (uvicorn puts the forwarded one here when told to trust the proxy)."""
    return request.client.host if request.client is not None else "unknown"


def _throttle(request: Request) -> FailureThrottle:
    return request.app.state.kb.failures  # type: ignore[no-any-return]  # api.state.AppState (imports us)


def before_key_check(request: Request, presented: str) -> None:
    """Refuse (429) before the key is looked up when its client, or its client on its key id, is throttled."""
    _throttle(request).check(client_of(request), key_id_of(presented))


def after_failed_key(request: Request, presented: str) -> None:
    """Count a key or login that was refused."""
    _throttle(request).failed(client_of(request), key_id_of(presented))
