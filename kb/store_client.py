"""Clients for a Qdrant server or cluster: real connect and read timeouts, and failover between nodes.

`KB_QDRANT_URL` may name several nodes of one cluster, comma-separated. Any node of a Qdrant cluster answers any
request (it forwards to the replicas that hold the shards), so one live node is enough: `FailoverClient` sends
each call to the node that answered last and, when that node cannot be reached, tries the others in turn. A
single URL that points at a dead node cannot fail over; a load balancer in front of the nodes is the other way.

Only failures that say "this node is not there" move on to the next node: the connection failed or broke, it
timed out, or the node answered 502/503/504. An answer from a live node (a 404, a validation error, a refused
write) is the same on every node and is raised at once.

    >>> nodes = FailoverClient(["http://q1:6333", "http://q2:6333"], api_key=None, timeout=2.0)  # doctest: +SKIP
    >>> nodes.call(QdrantClient.get_aliases)  # q1 down: answered by q2, which is then asked first  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

#: A live Qdrant node accepts a TCP connection in milliseconds even under load; a connect that takes longer than
#: this means the node is gone, so the next node is tried before the caller's whole time budget is spent.
CONNECT_TIMEOUT = 1.0
_NODE_DOWN_STATUS = frozenset({502, 503, 504})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
T = TypeVar("T")
P = ParamSpec("P")


def split_urls(value: str) -> list[str]:
    """The node URLs in a `KB_QDRANT_URL` value (one URL, or several comma-separated).

    >>> split_urls("http://q1:6333, http://q2:6333")
    ['http://q1:6333', 'http://q2:6333']
    """
    return [u.strip() for u in value.split(",") if u.strip()]


def exact_timeout(timeout: float) -> Callable[[httpx.Request], None]:
    """An httpx request hook giving every request `timeout` seconds to read and write and CONNECT_TIMEOUT to connect.

    qdrant-client takes its timeout in whole seconds (rounded up) and uses it for every phase; it hands its other
    keyword arguments to the httpx client it makes, so this hook (httpx's public `event_hooks`, setting the
    documented `timeout` request extension) gives each request the exact figures. Checked by
    tests/server/test_faults.py (a silent server times out after 1 s, a full backlog after CONNECT_TIMEOUT).

        >>> request = httpx.Request("GET", "http://q1:6333/aliases")
        >>> exact_timeout(2.5)(request)
        >>> request.extensions["timeout"]["read"], request.extensions["timeout"]["connect"]
        (2.5, 1.0)
    """
    phases = httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)).as_dict()

    def hook(request: httpx.Request) -> None:
        request.extensions["timeout"] = phases

    return hook


def connect(url: str, api_key: str | None, timeout: float) -> QdrantClient:
    """A REST client for one node, with `timeout` seconds per read and write (CONNECT_TIMEOUT to connect)."""
    with warnings.catch_warnings():
        if urlsplit(url).hostname in _LOOPBACK:
            # A key sent in clear text to this same machine exposes nothing; anywhere else the warning stands.
            warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        # check_compatibility=False: the client's own check is a background request at start-up that warns when
        # client and server minor versions differ by more than one (1.20 vs 1.16). The congruence tests in
        # tests/server run the store against a real 1.16 server instead; see docs/operations.md.
        return QdrantClient(url=url, api_key=api_key, timeout=max(1, int(timeout)), check_compatibility=False,
                            event_hooks={"request": [exact_timeout(timeout)]})


def node_is_down(error: BaseException) -> bool:
    """True when `error` says the node could not be reached, as opposed to an answer from a live node."""
    if isinstance(error, ResponseHandlingException):
        return isinstance(error.source, httpx.TransportError)
    if isinstance(error, UnexpectedResponse):
        return error.status_code in _NODE_DOWN_STATUS
    return isinstance(error, httpx.TransportError)


class FailoverClient:
    """One client per node; `call` runs a QdrantClient method on the node that answered last, or the next."""

    def __init__(self, urls: Sequence[str], api_key: str | None, timeout: float) -> None:
        if not urls:
            raise ValueError("no Qdrant URL given")
        self.urls = list(urls)
        self.clients = [connect(u, api_key, timeout) for u in self.urls]
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current_url(self) -> str:
        """The node that answered last (asked first next time)."""
        return self.urls[self._current]

    def call(self, method: Callable[Concatenate[QdrantClient, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`method(client, *args, **kwargs)` on the first node that can be reached."""
        first = self._current
        for step in range(len(self.clients)):
            index = (first + step) % len(self.clients)
            try:
                result = method(self.clients[index], *args, **kwargs)
            except Exception as e:
                if step == len(self.clients) - 1 or not node_is_down(e):
                    raise
                continue
            if index != first:
                with self._lock:
                    self._current = index
            return result
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        for client in self.clients:
            client.close()
