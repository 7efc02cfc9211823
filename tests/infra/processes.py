"""What the tests that start real processes (kb serve, Qdrant, PostgreSQL, Chromium) share: free ports, waiting for
a condition, and stopping a process politely before killing it.

    >>> port = free_port()
    >>> wait_for(lambda: 1 + 1, timeout=1)
    2
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on loopback (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.05) -> Any:
    """The first truthy value of `condition()` within `timeout` seconds; fails the test otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


def kill_process(proc: subprocess.Popen[Any] | None) -> None:
    """kill -9: no shutdown, no flush (what a crash or the OOM killer does)."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 30.0) -> None:
    """SIGTERM, and SIGKILL when it has not exited within `grace` seconds."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill_process(proc)
