"""A render process's deadline counts its CPU time (kb/process_deadline.py): a child that burns CPU meets it, a
starved one gets the rest of its budget up to the wall-clock ceiling, and where the CPU time cannot be read it is
the wall clock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from kb.process_deadline import ProcessDeadline, cpu_seconds

pytestmark = pytest.mark.unit


@pytest.fixture()
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _until_late(deadline: ProcessDeadline, cap: float) -> float:
    """Wall-clock seconds until `deadline` says late (polled as the render pool does), at most `cap`."""
    while deadline.remaining() > 0 and time.monotonic() - deadline.start < cap:
        time.sleep(0.02)
    return time.monotonic() - deadline.start


def test_a_child_that_burns_its_cpu_budget_is_late_well_before_the_ceiling(
        child: subprocess.Popen[bytes]) -> None:
    deadline = ProcessDeadline(child.pid, seconds=0.3, ceiling=30.0)
    before = cpu_seconds(child.pid)
    waited = _until_late(deadline, cap=31.0)
    used = cpu_seconds(child.pid)
    assert before is not None and used is not None
    assert used - before >= 0.3 - 0.02  # it had its budget (to the kernel's clock tick) ...
    assert waited < 30.0  # ... and the ceiling did not decide


def test_a_stopped_child_is_given_time_until_the_ceiling_and_no_longer(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGSTOP)
    deadline = ProcessDeadline(child.pid, seconds=0.2, ceiling=1.5)
    time.sleep(0.6)
    assert deadline.remaining() > 0  # past its 0.2 s of wall clock, but it has used no CPU: starved, not stuck
    waited = _until_late(deadline, cap=5.0)
    assert 1.5 <= waited < 2.5


def test_without_a_readable_cpu_time_the_deadline_is_the_wall_clock() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert cpu_seconds(gone.pid) is None
    deadline = ProcessDeadline(gone.pid, seconds=0.2, ceiling=10.0)
    assert _until_late(deadline, cap=5.0) < 1.0
