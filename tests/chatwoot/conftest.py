"""The Chatwoot integration end to end: the real app served by uvicorn on a free port (real HTTP both ways), on
the sample index and the real model, talking to a fake Chatwoot that holds it to Chatwoot's pinned contract
(tests/chatwoot/fake.py). Every test's fake must see no contract violation."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kb.config import Settings
from tests.chatwoot.fake import FakeChatwoot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.05) -> Any:
    """The first truthy value of `condition()` within `timeout` seconds; fails the test otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout} s")


@dataclass(frozen=True)
class Ran:
    exit_code: int
    output: str  # stdout and stderr, as a terminal shows them


@dataclass
class KbServer:
    url: str
    app: Any
    settings: Settings

    @property
    def state(self) -> Any:
        return self.app.state.kb

    @property
    def db(self) -> Any:
        return self.state.db

    def kb(self, *args: str, stdin: str | None = None) -> Ran:
        """A `kb` command on this server's data directory, in this process, through kb's own entry point (errors
        become `error: …` and exit 1, as for a user)."""
        from kb.cli import main

        env = {"KB_DATA_DIR": str(self.settings.data_dir), "KB_ARTICLES_DIR": str(self.settings.articles_dir)}
        with CliRunner().isolation(input=stdin, env=env) as (_, _, output):
            code = main(list(args))
            return Ran(code, output.getvalue().decode())

    def connect(self, fake: FakeChatwoot, *extra: str) -> Ran:
        result = self.kb("chatwoot", "connect", "--url", fake.url, "--account", str(fake.account_id),
                         "--token", fake.token, "--kb-url", self.url, *extra)
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture()
def fake() -> Iterator[FakeChatwoot]:
    chatwoot = FakeChatwoot().start()
    yield chatwoot
    chatwoot.stop()
    assert chatwoot.violations == [], "requests that break Chatwoot's pinned contract:\n" + \
        "\n".join(chatwoot.violations)


@pytest.fixture()
def make_kb(sample_engine: Any, tmp_path: Path) -> Iterator[Callable[..., KbServer]]:
    """make_kb(**settings) -> the app on the sample index, served by uvicorn in a thread, with its own data dir."""
    import uvicorn

    from api.app import create_app

    servers: list[tuple[Any, threading.Thread]] = []

    def make(**overrides: Any) -> KbServer:
        data = tmp_path / f"data{len(servers)}"
        settings = sample_engine.settings.model_copy(update={"data_dir": data, "key_rate": 0.0, **overrides})
        app = create_app(settings, sample_engine)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="on", timeout_graceful_shutdown=5))
        thread = threading.Thread(target=server.run, name="kb-test-server", daemon=True)
        thread.start()
        wait_for(lambda: server.started, 30)
        servers.append((server, thread))
        return KbServer(f"http://127.0.0.1:{port}", app, settings)

    yield make
    for server, thread in servers:
        server.should_exit = True
        thread.join(30)
