"""The webhook refuses what Chatwoot did not send (issue 22, point 6): forged, replayed, foreign and oversized
deliveries post nothing; the route has its own rate limit; secrets stay in their 0600 file."""

from __future__ import annotations

import json
import stat
import time
from typing import Any

import httpx
import pytest

from tests.chatwoot.fake import Answer, FakeChatwoot, post
from tests.chatwoot.serving import wait_for

SUGAR = "klopt het dat suiker kanker voedt?? mn schoonmoeder zegt dat ik moet stoppen met fruit"


def _error(response: Answer, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def test_forged_stale_replayed_and_foreign_deliveries_are_refused_and_post_nothing(make_kb: Any,
                                                                                   fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    url, secret = fake.webhook_url, fake.secret
    assert secret
    payload = fake.incoming(4711, SUGAR)
    assert _error(fake.deliver(url, payload, secret="not-the-secret"), 401) == "bad_signature"
    assert _error(fake.deliver(url, payload), 401) == "bad_signature"  # unsigned, though the webhook has a secret
    stale = int(time.time()) - kb.settings.chatwoot_skew - 5
    assert _error(fake.deliver(url, payload, secret=secret, timestamp=stale), 401) == "bad_signature"
    future = int(time.time()) + kb.settings.chatwoot_skew + 5
    assert _error(fake.deliver(url, payload, secret=secret, timestamp=future), 401) == "bad_signature"
    wrong_url = url.rsplit("/", 1)[0] + "/not-a-token"
    assert _error(fake.deliver(wrong_url, payload, secret=secret), 401) == "bad_signature"
    foreign = fake.incoming(4712, SUGAR, account_id=2)
    assert _error(fake.deliver(url, foreign, secret=secret), 403) == "unknown_account"
    tampered_body, headers = fake.signed(payload, secret=secret)
    tampered = tampered_body.replace(b"suiker", b"zouten")
    assert _error(post(url, tampered, headers), 401) == "bad_signature"
    time.sleep(1.0)
    assert fake.notes == []
    # The real one, then the same bytes and headers again: a replay, whatever delivery id it claims.
    body, headers = fake.signed(payload, secret=secret)
    assert post(url, body, headers).status_code == 202
    assert _error(post(url, body, headers), 409) == "replayed_delivery"
    headers["X-Chatwoot-Delivery"] = "a-new-id"
    assert _error(post(url, body, headers), 409) == "replayed_delivery"
    wait_for(lambda: fake.notes)
    time.sleep(1.0)
    assert len(fake.notes) == 1
    from api.inbox import store

    stats = store.stats(kb.db, kb.state.connector.connections.all()[0].key)
    assert stats["refused"] == 8 and stats["accepted"] == 1
    # The OpenAPI document says what each refusal means on this route, and only on this route.
    paths = kb.app.openapi()["paths"]
    documented = paths["/v1/integrations/chatwoot/webhook/{token}"]["post"]["responses"]
    for status, code in (("401", "bad_signature"), ("403", "unknown_account"), ("409", "replayed_delivery")):
        assert code in documented[status]["description"]
    assert "replayed_delivery" not in paths["/v1/index"]["post"]["responses"]["409"]["description"]


def test_the_webhook_has_its_own_body_bound_and_rate_limit(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb(chatwoot_rate=0.01, chatwoot_burst=3)  # refills one delivery per 100 s: none during the test
    kb.connect(fake)
    url = fake.webhook_url
    huge = post(url, b"{" + b" " * (2 * 1024 * 1024) + b"}", {"Content-Type": "application/json"})
    assert _error(huge, 413) == "payload_too_large"
    answers = [fake.deliver(url, fake.incoming(5000 + n, SUGAR), secret=fake.secret) for n in range(5)]
    assert [a.status_code for a in answers[:3]] == [202, 202, 202]
    assert _error(answers[3], 429) == "too_many_requests" and int(answers[3].headers["retry-after"]) >= 1


def test_the_webhook_never_waits_for_a_request_slot(make_kb: Any, fake: FakeChatwoot) -> None:
    """Every suggestion slot taken and the queue full: a delivery is still answered at once."""
    kb = make_kb(max_in_flight=1, max_queued=0)
    kb.connect(fake)
    gate = kb.state.gate
    gate.in_flight = gate.max_in_flight  # as if suggestions held every slot
    try:
        key = kb.db.add_key("agent")[0]
        busy = httpx.post(f"{kb.url}/v1/suggest", json={"message": SUGAR}, headers={"Authorization": f"Bearer {key}"})
        assert busy.status_code == 503
        assert fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret).status_code == 202
        wait_for(lambda: fake.notes)  # the worker does not take a slot either
    finally:
        gate.in_flight = 0


def test_the_token_and_secrets_live_in_a_0600_file_and_are_never_shown(make_kb: Any, fake: FakeChatwoot,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    kb = make_kb()
    connected = kb.connect(fake)
    path = kb.settings.chatwoot_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())["connections"][0]
    secrets = [fake.token, stored["hook_token"], stored["webhook_secret"]]
    fake.faults.statuses = [500]
    fake.deliver(fake.webhook_url, fake.incoming(4711, SUGAR), secret=fake.secret)
    wait_for(lambda: fake.notes)
    # the counters are written after Chatwoot's answer arrives, a moment after the fake recorded the note
    wait_for(lambda: "notes posted 1" in kb.kb("chatwoot", "status").output)
    status = kb.kb("chatwoot", "status")
    as_json = kb.kb("chatwoot", "status", "--json")
    assert status.exit_code == 0 and "notes posted 1" in status.output and "Chatwoot answered 500" in status.output
    shown = connected.output + status.output + as_json.output + caplog.text + repr(kb.state.connector.connections.all())
    assert not [s for s in secrets if s in shown]


def test_a_connections_file_others_can_read_is_refused(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    kb.settings.chatwoot_path.chmod(0o644)
    result = kb.kb("chatwoot", "status")
    assert result.exit_code == 1 and "chmod 600" in result.output
