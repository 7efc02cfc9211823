"""Set-up in one command (issue 22, point 4): `kb chatwoot connect` registers the webhook and the sidebar through
Chatwoot's API (checked against its pinned contract by the fake), idempotently; `kb chatwoot status` reports."""

from __future__ import annotations

import json
import stat
import time
from typing import Any

from tests.chatwoot.fake import FakeChatwoot
from tests.chatwoot.serving import wait_for


def _posts(fake: FakeChatwoot) -> int:
    return len(fake.calls("POST", "/webhooks")) + len(fake.calls("POST", "/dashboard_apps"))


def test_connect_registers_once_and_running_it_again_changes_nothing(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    first = kb.connect(fake).output
    assert "webhook: registered" in first and "sidebar: registered" in first and "signed" in first
    assert stat.S_IMODE(kb.settings.chatwoot_path.stat().st_mode) == 0o600
    [hook] = fake.webhooks
    [app] = fake.dashboard_apps
    assert hook["subscriptions"] == ["message_created"]
    assert hook["url"].startswith(f"{kb.url}/v1/integrations/chatwoot/webhook/")
    assert app["content"] == [{"type": "frame", "url": f"{kb.url}/integrations/chatwoot/sidebar?account=1"}]
    posts = _posts(fake)

    again = kb.connect(fake).output
    assert "webhook: already registered" in again and "sidebar: already registered" in again
    assert _posts(fake) == posts and len(fake.webhooks) == 1 and len(fake.dashboard_apps) == 1
    assert fake.webhooks[0]["url"] == hook["url"]  # the same URL, token and all

    renamed = kb.connect(fake, "--title", "Kennisbank (suggesties)").output
    assert "sidebar: updated" in renamed and fake.dashboard_apps[0]["title"] == "Kennisbank (suggesties)"

    # The connections file lost: connecting again takes over the registrations it finds, without duplicates.
    kb.settings.chatwoot_path.unlink()
    rebuilt = kb.connect(fake).output
    assert "webhook: updated" in rebuilt and len(fake.webhooks) == 1 and len(fake.dashboard_apps) == 1
    stored = json.loads(kb.settings.chatwoot_path.read_text())["connections"]
    assert len(stored) == 1 and fake.webhooks[0]["url"].endswith(stored[0]["hook_token"])
    answer = fake.deliver(fake.webhook_url, fake.incoming(4711, "klopt het dat suiker kanker voedt??"),
                          secret=fake.secret)
    assert answer.status_code == 202  # the new URL and the secret read back from Chatwoot work at once
    wait_for(lambda: fake.notes)


def test_connect_says_what_is_wrong_with_a_token(make_kb: Any) -> None:
    kb = make_kb()
    agent = FakeChatwoot(role="agent").start()
    try:
        wrong = kb.kb("chatwoot", "connect", "--url", agent.url, "--account", "1", "--token", "nope",
                      "--kb-url", kb.url)
        assert wrong.exit_code == 1 and "401" in wrong.output and "access token was refused" in wrong.output
        not_admin = kb.kb("chatwoot", "connect", "--url", agent.url, "--account", "1", "--kb-url", kb.url,
                          "--token", "-", stdin=agent.token + "\n")  # `-`: from stdin, kept out of the shell history
        assert not_admin.exit_code == 1 and "needs an administrator's access token" in not_admin.output
        elsewhere = kb.kb("chatwoot", "connect", "--url", agent.url, "--account", "7", "--token", agent.token,
                          "--kb-url", kb.url)
        assert elsewhere.exit_code == 1 and "not a member of Chatwoot account 7" in elsewhere.output
        assert agent.webhooks == [] and not kb.settings.chatwoot_path.exists()
        assert agent.violations == []
    finally:
        agent.stop()
    nothing = kb.kb("chatwoot", "status")
    assert nothing.exit_code == 1 and "kb chatwoot connect" in nothing.output


def test_status_counts_what_happened(make_kb: Any, fake: FakeChatwoot) -> None:
    kb = make_kb()
    kb.connect(fake)
    payload, now = fake.incoming(4711, "klopt het dat suiker kanker voedt??"), int(time.time())
    fake.deliver(fake.webhook_url, payload, secret=fake.secret, timestamp=now - 1)
    fake.deliver(fake.webhook_url, payload, secret=fake.secret, delivery_id="again", timestamp=now)  # sent again
    fake.deliver(fake.webhook_url, fake.incoming(4712, "x"), secret="forged")
    wait_for(lambda: fake.notes)
    wait_for(lambda: json.loads(kb.kb("chatwoot", "status", "--json").output)[0]["notes_posted"] == 1)
    [report] = json.loads(kb.kb("chatwoot", "status", "--json").output)
    assert (report["received"], report["accepted"], report["duplicates"], report["refused"]) == (3, 1, 1, 1)
    assert report["signed"] is True and report["last_error"].startswith("refused: X-Chatwoot-Signature")
    text = kb.kb("chatwoot", "status").output
    assert "deliveries 3: accepted 1, duplicate 1, ignored 0, refused 1" in text and "notes posted 1" in text
