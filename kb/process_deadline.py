"""A deadline for work done by another process, counted in that process's CPU time.

A render process that misses its deadline is killed (kb/render_pool.py). On a loaded machine (a surge, a re-index
beside the service, more processes than cores) a process can sit unscheduled for seconds while doing nothing
wrong; killing it then fails a good draft. What the kill is for is a call that never returns, and such a call
burns CPU. So the deadline is `seconds` of the child's CPU time from when the work was handed over, checked when
the wall clock passes it: a child that has used less is starved, not stuck, and gets the rest of its budget, up to
`ceiling` seconds of wall clock in all (a child that neither works nor answers, e.g. stopped, still ends).

    >>> deadline = ProcessDeadline(os.getpid(), seconds=2.5, ceiling=10.0)
    >>> 0 < deadline.remaining() <= 2.5
    True

Where the CPU time cannot be read (no /proc), the deadline is `seconds` of wall clock, as before.
"""

from __future__ import annotations

import os
import time

#: The smallest extension given to a starved child, so a deadline re-checked at once does not spin.
MIN_EXTENSION = 0.05
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds process `pid` has used, or None when they cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15 of stat(5)
    except (OSError, ValueError, IndexError):
        return None


class ProcessDeadline:
    """When process `pid` must have answered: see the module docstring. Not thread-safe (one per request)."""

    def __init__(self, pid: int, *, seconds: float, ceiling: float) -> None:
        self.pid, self.seconds = pid, seconds
        self.start = time.monotonic()
        self._at = self.start + seconds
        self._ceiling = self.start + max(ceiling, seconds)
        self._cpu_start = cpu_seconds(pid)

    def remaining(self) -> float:
        """Wall-clock seconds left (<= 0: late). Past the wall deadline, a child that has used less than its CPU
        budget is given what is left of it (at least MIN_EXTENSION), never past the ceiling."""
        now = time.monotonic()
        if now >= self._at and self._cpu_start is not None and now < self._ceiling:
            used = cpu_seconds(self.pid)
            if used is not None and used - self._cpu_start < self.seconds:
                left = max(self.seconds - (used - self._cpu_start), MIN_EXTENSION)
                self._at = min(self._ceiling, now + left)
        return self._at - now
