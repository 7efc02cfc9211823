"""A real `kb serve` process with Chatwoot connected by the real `kb chatwoot connect`, its log at INFO (uvicorn's
access log included): the access token, the webhook secret and the webhook URL's token never reach the log, the
status command or the connect command's output (issue 22, point 6)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from kb.embedding import copy_cache
from tests.api.conftest import make_keys
from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import free_port, wait_for
from tests.conftest import ARTICLES
from tests.e2e.test_serve import Service

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"


@pytest.fixture()
def served(tmp_path_factory: pytest.TempPathFactory, sample_engine: Any) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("chatwoot-serve")
    shutil.copytree(ARTICLES, base / "articles")
    data = base / "data"
    data.mkdir()
    copy_cache(sample_engine.settings.cache_path, data / "embeddings.sqlite")
    port = free_port()
    env = {**os.environ, "KB_DATA_DIR": str(data), "KB_ARTICLES_DIR": str(base / "articles"), "KB_PORT": str(port),
           "HF_HUB_OFFLINE": "1", "KB_CHATWOOT_RETRY_SECONDS": "10"}
    for name in ("KB_API_KEY", "KB_DATABASE_URL", "KB_QDRANT_URL", "KB_SESSION_SECRET"):
        env.pop(name, None)
    svc = Service(base, port, env, make_keys(data))
    assert svc.kb("index").returncode == 0
    svc.start()
    yield svc
    svc.stop()


def test_secrets_stay_out_of_the_log_and_every_output(served: Service) -> None:
    fake = FakeChatwoot().start()
    try:
        connected = served.kb("chatwoot", "connect", "--url", fake.url, "--account", "1", "--token", fake.token,
                              "--kb-url", served.url)
        assert connected.returncode == 0, connected.stderr
        stored = json.loads((served.base / "data" / "chatwoot.json").read_text())["connections"][0]
        secrets = {"access token": fake.token, "URL token": stored["hook_token"],
                   "webhook secret": stored["webhook_secret"]}
        assert fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret).status_code == 202
        assert fake.deliver(fake.webhook_url, fake.incoming(4712, SUGAR), secret="forged").status_code == 401
        fake.faults.statuses = [500]  # one failed attempt: logged, retried
        fake.deliver(fake.webhook_url, fake.incoming(4713, SUGAR, conversation_id=18), secret=fake.secret)
        wait_for(lambda: len(fake.notes) == 2, timeout=60)
        status = served.kb("chatwoot", "status")
        assert status.returncode == 0 and "notes posted 2" in status.stdout
        served.stop()  # flush the log
        log = "".join(path.read_text() for path in served.log)
        assert "POST /v1/integrations/chatwoot/webhook/… HTTP/1.1\" 202" in log  # the access log, token elided
        assert "answered 500" in log  # the failed attempt is logged
        shown = {"log": log, "connect": connected.stdout + connected.stderr, "status": status.stdout + status.stderr}
        leaks = [(what, where) for what, secret in secrets.items() for where, text in shown.items() if secret in text]
        assert leaks == []
        assert fake.violations == []
    finally:
        fake.stop()
