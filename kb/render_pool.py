"""Hard-bounded template renders: a few long-lived render processes (kb/render_worker.py), each render sent with
a deadline; a process that misses it is killed and replaced.

The sandbox counts steps and checks a deadline between them (kb/template_sandbox.py), but one call that never
returns to it (a quadratic codec, a regex, a C function we did not think of) would run on, and Python cannot stop
a thread. Drafts render in the server's worker threads, so the hard limit is a process boundary:

- `RenderPool(read_templates(folder), workers=2)` starts its processes once (start-up, `kb lint`), sends each the
  template texts read here, and waits until they have loaded them. Nothing is spawned per render.
- `render(name, contexts, seconds=…)` takes an idle process (waiting in turn, at most `WAIT_SECONDS`: under a
  surge renders queue like requests do), sends the request and waits for the answer `seconds` from then. Late:
  the process is killed (SIGKILL, which needs no cooperation), `RenderFailed("timeout")` is raised at once, and a
  replacement starts in the background.
- The default is the sandbox's own CPU limit (`Limits.seconds`) plus `GRACE`, so a render the step counter can
  stop answers with its precise message first. It is counted in the render process's CPU time
  (kb/process_deadline.py), so a render slowed by a loaded machine is not killed, up to `STARVED` times the limit
  of wall clock; only a call that never yields (and burns CPU) meets the kill. (A deadline that counted the wait
  for a process, or wall time inside the sandbox, failed drafts with `template_error` when two test processes and
  a re-index shared two cores; one of wall time alone, 2.5 s, did so with three test processes on two cores.)

Renders stay deterministic: every process gets the same texts once, compiles them the same way, and renders
the same JSON context to the same text (hash seed fixed).

    >>> with RenderPool(read_templates(Path("articles/_templates")), workers=1) as pool:  # doctest: +SKIP
    ...     pool.render("x.nl.j2", [context])
    ['Hoi Sam! ...']
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import select
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

import kb
from kb.errors import ConfigError
from kb.process_deadline import ProcessDeadline
from kb.render_worker import BOOT
from kb.template_files import TemplateFolderLoader
from kb.template_sandbox import LIMITS, Limits

log = logging.getLogger("kb.render")

GRACE = 1.5  # seconds of the render process's CPU past Limits.seconds (the sandbox's) before it is killed
STARVED = 4.0  # a render process starved of the CPU is killed anyway after this many times its limit (wall clock)
WAIT_SECONDS = 10.0  # how long a render may wait for a free process (a surge queues; it does not fail drafts)
START_SECONDS = 30.0  # a new process may take this long to import and load the templates (a busy machine)
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_TEMPLATE_FILES = 256
MAX_FOLDER_BYTES = 4 * 1024 * 1024
#: Environment variables a render process inherits: enough to start Python, no secrets (KB_*, credentials).
_ENV_KEPT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "TMPDIR")


@dataclass(frozen=True)
class TemplateSnapshot:
    """The template files a render process may load, by name, and the files refused with their reason."""

    templates: dict[str, str]
    refused: dict[str, str]


def read_templates(folder: Path) -> TemplateSnapshot:
    """Every entry below `folder`, read once through `TemplateFolderLoader` (regular files inside the folder, at
    most 64 KiB, never through a link): the same refusals as before, made here, so a render process reads no file.

        >>> sorted(read_templates(Path("articles/_templates")).templates)[:2]
        ['README.md', 'default.en.j2']
    """
    loader = TemplateFolderLoader(folder)
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        linked = [d for d in dirnames if (here / d).is_symlink()]  # listed (so refused by name), never entered
        names += [(here / n).relative_to(folder).as_posix() for n in (*filenames, *linked)]
    templates: dict[str, str] = {}
    refused: dict[str, str] = {}
    size = 0
    for name in sorted(names)[:MAX_TEMPLATE_FILES]:
        try:
            source = loader.source(name)
        except jinja2.TemplateNotFound as e:
            refused[name] = e.message or f"template '{name}' cannot be read"
            continue
        size += len(source)
        if size > MAX_FOLDER_BYTES:
            refused[name] = f"template '{name}': the templates folder holds more than {MAX_FOLDER_BYTES} bytes"
            continue
        templates[name] = source
    return TemplateSnapshot(templates, refused)


class RenderFailed(Exception):
    """A render that gave no text. `kind`: `syntax` or `render` (the template's error, with its line),
    `timeout` (killed at the deadline), `crashed` (the process ended), `busy` (no process free in time)."""

    def __init__(self, kind: str, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.kind, self.message, self.line = kind, message, line


class _Late(Exception):
    pass


class _Gone(Exception):
    pass


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEPT if k in os.environ}
    env["PYTHONHASHSEED"] = "0"
    return env


class _Process:
    """One render process and its two pipes, read and written without blocking past a deadline."""

    def __init__(self) -> None:
        root = str(Path(kb.__file__).resolve().parent.parent)
        self.proc = subprocess.Popen([sys.executable, "-s", "-P", "-c", BOOT, root], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=_child_env(), close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._buffer = bytearray()

    def ask(self, request: bytes, deadline: ProcessDeadline) -> dict[str, Any]:
        self._write(request, deadline)
        return self._read(deadline)

    def deadline(self, seconds: float, *, ceiling: float | None = None) -> ProcessDeadline:
        """`seconds` of this process's CPU time from now, at most `ceiling` of wall clock (default `seconds`)."""
        return ProcessDeadline(self.proc.pid, seconds=seconds, ceiling=seconds if ceiling is None else ceiling)

    @staticmethod
    def _wait(fd: int, event: int, deadline: ProcessDeadline) -> None:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise _Late
        poller = select.poll()  # not select(): a busy server's descriptors pass FD_SETSIZE
        poller.register(fd, event)
        poller.poll(math.ceil(remaining * 1000))

    def _write(self, data: bytes, deadline: ProcessDeadline) -> None:
        view = memoryview(data)
        while view:
            self._wait(self._in, select.POLLOUT, deadline)
            try:
                view = view[os.write(self._in, view):]
            except BlockingIOError:
                continue
            except OSError as e:  # EPIPE: the process has ended
                raise _Gone from e

    def _read(self, deadline: ProcessDeadline) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            self._wait(self._out, select.POLLIN, deadline)
            try:
                chunk = os.read(self._out, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk or len(self._buffer) + len(chunk) > MAX_ANSWER_BYTES:
                raise _Gone
            self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        try:
            answer = json.loads(line)
        except ValueError as e:
            raise _Gone from e
        if not isinstance(answer, dict):
            raise _Gone
        return answer

    def kill(self) -> None:
        self.proc.kill()
        self._reap()

    def stop(self) -> None:
        """Close its stdin: it ends by itself; killed if it does not within a second."""
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(1.0)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self._reap()

    def _reap(self) -> None:
        try:
            self.proc.wait(5.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignored
            log.error("render process %s did not end after SIGKILL", self.proc.pid)
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


def _stop_all(live: set[_Process]) -> None:
    for process in list(live):
        process.kill()
    live.clear()


class RenderPool:
    """Long-lived render processes with a deadline per render (see the module docstring). Thread-safe."""

    def __init__(self, snapshot: TemplateSnapshot, *, workers: int = 2, limits: Limits = LIMITS,
                 grace: float = GRACE, wait: float = WAIT_SECONDS) -> None:
        if workers < 1:
            raise ValueError("a render pool needs at least one process")
        self.limits, self.workers, self.wait = limits, workers, wait
        self.seconds = limits.seconds + grace  # the hard deadline of one render, from when a process takes it
        self._load = self._line({"op": "load", "templates": snapshot.templates, "refused": snapshot.refused,
                                 "limits": asdict(limits)})
        self._idle: queue.Queue[_Process] = queue.Queue()
        self._live: set[_Process] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, _stop_all, self._live)
        starting = [self._spawn() for _ in range(workers)]  # all import at once; then each loads the texts
        try:
            for process in starting:
                self._load_into(process)
                self._idle.put(process)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _line(message: dict[str, Any]) -> bytes:
        return json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n"

    def _spawn(self) -> _Process:
        try:
            process = _Process()
        except OSError as e:
            raise ConfigError(f"templates: cannot start a render process ({e.strerror or e})") from e
        with self._lock:
            self._live.add(process)
        return process

    def _load_into(self, process: _Process) -> None:
        try:
            answer = process.ask(self._load, process.deadline(START_SECONDS))
        except (_Late, _Gone):
            answer = {}
        if answer.get("ok") is not True:
            self._discard(process)
            raise ConfigError("templates: a render process did not start (see the log for its error)")

    def _discard(self, process: _Process) -> None:
        with self._lock:
            self._live.discard(process)
        process.kill()

    def render(self, name: str, contexts: list[dict[str, Any]], *, seconds: float | None = None) -> list[str]:
        """The template `name` rendered with each context (one process, in order); RenderFailed otherwise.
        `seconds`: the hard limit once a process has the render (default `self.seconds`), in the process's CPU
        time and at most `STARVED` times as much wall clock; waiting for a free process is bounded apart, by
        `self.wait`."""
        try:
            process = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise RenderFailed("busy", f"no render process was free within {self.wait:g} s") from None
        limit = self.seconds if seconds is None else seconds
        deadline = process.deadline(limit, ceiling=STARVED * limit)
        try:
            answer = process.ask(self._line({"op": "render", "name": name, "contexts": contexts}), deadline)
        except _Late:
            self._replace(process)
            raise RenderFailed("timeout", f"the template took more than {limit:g} s of CPU (or "
                               f"{STARVED * limit:g} s in all) to render: stopped") from None
        except _Gone:
            self._replace(process)
            raise RenderFailed("crashed", "the template's render process ended during the render") from None
        self._give_back(process)
        if isinstance(answer.get("ok"), list):
            return [str(text) for text in answer["ok"]]
        raise RenderFailed(str(answer.get("error", "render")), str(answer.get("message", "render failed")),
                           int(answer.get("line", 1)))

    def _give_back(self, process: _Process) -> None:
        if self._closed:
            self._retire(process)
        else:
            self._idle.put(process)

    def _retire(self, process: _Process) -> None:
        with self._lock:
            self._live.discard(process)
        process.stop()

    def _replace(self, process: _Process) -> None:
        """Kill `process` now; its replacement starts in the background, so the late render answers at once."""
        self._discard(process)
        if not self._closed:
            threading.Thread(target=self._respawn, name="kb-render-respawn", daemon=True).start()

    def _respawn(self) -> None:
        for attempt in range(3):
            try:
                process = self._spawn()
                self._load_into(process)
            except ConfigError:
                log.exception("render process could not be replaced (attempt %d of 3)", attempt + 1)
                time.sleep(1.0 * (attempt + 1))
                continue
            self._give_back(process)
            return

    def pids(self) -> list[int]:
        """The process ids of the live render processes (for tests and diagnostics)."""
        with self._lock:
            return sorted(p.proc.pid for p in self._live)

    def close(self) -> None:
        """Stop every process (a render in flight finishes first and then stops its process)."""
        self._closed = True
        while True:
            try:
                self._retire(self._idle.get_nowait())
            except queue.Empty:
                break

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
