"""Kennisbank served for the Chatwoot tests: the real app under uvicorn on a free port, in this process (so a test
reads its database and state), on the sample index and the real model. Used by tests/chatwoot and the sidebar's
browser test.

    kb = serve_kb(sample_engine, tmp_path / "data")
    kb.connect(fake)           # `kb chatwoot connect` against the fake, as an administrator would run it
    kb.stop()
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kb.config import Settings
from tests.chatwoot.fake import FakeChatwoot
from tests.infra.processes import free_port, wait_for


@dataclass(frozen=True)
class Ran:
    exit_code: int
    output: str  # stdout and stderr, as a terminal shows them


@dataclass
class KbServer:
    url: str
    app: Any
    settings: Settings
    server: Any = None
    thread: threading.Thread | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(30)

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

        env: dict[str, str | None] = {"KB_DATA_DIR": str(self.settings.data_dir),
                                      "KB_ARTICLES_DIR": str(self.settings.articles_dir),
                                      "KB_CHATWOOT_FILE": str(self.settings.chatwoot_path), "KB_DATABASE_URL": None}
        if self.settings.database_url is not None:
            env["KB_DATABASE_URL"] = self.settings.database_url.get_secret_value()
        with CliRunner().isolation(input=stdin, env=env) as (_, _, output):
            code = main(list(args))
            return Ran(code, output.getvalue().decode())

    def connect(self, fake: FakeChatwoot, *extra: str) -> Ran:
        result = self.kb("chatwoot", "connect", "--url", fake.url, "--account", str(fake.account_id),
                         "--token", fake.token, "--kb-url", self.url, *extra)
        assert result.exit_code == 0, result.output
        return result


def serve_kb(engine: Any, data_dir: Path, *, host: str = "127.0.0.1", **overrides: Any) -> KbServer:
    """The app on `engine`'s index with its own data dir, served by uvicorn in a thread; `host` is the name the
    URL uses (the server listens on 127.0.0.1)."""
    import uvicorn

    from api.app import create_app

    settings = engine.settings.model_copy(update={"data_dir": data_dir, "key_rate": 0.0, **overrides})
    app = create_app(settings, engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, name="kb-test-server", daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), 60)
    assert server.started, "the app did not start (its error is logged above)"
    return KbServer(f"http://{host}:{port}", app, settings, server, thread)
