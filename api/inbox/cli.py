"""`kb chatwoot connect` and `kb chatwoot status`: set up the Chatwoot integration in one command, and see how it
runs. Registered on `kb` through the `kb.commands` entry point.

    $ kb chatwoot connect --url https://chat.example.org --account 1 --token "$TOKEN" --kb-url https://kb.example.org
    $ kb chatwoot status
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from pydantic import SecretStr

from api.db import open_database
from api.errors import InboxUnavailable
from api.inbox import store
from api.inbox.chatwoot import EVENTS, ChatwootApi
from api.inbox.connections import Connection, ConnectionFile
from kb.cli import EXIT_OK, settings_from
from kb.errors import ConfigError

WEBHOOK_NAME = "Kennisbank"


def _hidden(url: str) -> str:
    """A webhook URL as it may be shown: without its secret token."""
    head, _, _ = url.rpartition("/")
    return f"{head}/…"


@click.group("chatwoot")
def chatwoot() -> None:
    """Kennisbank inside Chatwoot: drafts as private notes, a sidebar app, feedback from what agents send."""


def _admin_of(profile: dict[str, Any], account_id: int) -> str:
    """Who the token belongs to; ConfigError when they are not an administrator of the account."""
    accounts = profile.get("accounts")
    name = str(profile.get("available_name") or profile.get("name") or "?")
    if isinstance(accounts, list):
        mine = [a for a in accounts if str(a.get("id")) == str(account_id)]
        if not mine:
            raise ConfigError(f"the token's user ({name}) is not a member of Chatwoot account {account_id}: check "
                              "--account, or use a token of one of its administrators")
        if mine[0].get("role") != "administrator":
            raise ConfigError(f"the token's user ({name}) is an {mine[0].get('role')} of account {account_id}; "
                              "registering a webhook needs an administrator's access token")
    return name


def _ours(items: list[dict[str, Any]], url: str, prefix: str, url_of: Any) -> dict[str, Any] | None:
    """The registration pointing at `url`, else one pointing at this Kennisbank from an earlier connect."""
    exact = [i for i in items if url_of(i) == url]
    earlier = [i for i in items if str(url_of(i) or "").startswith(prefix)]
    return (exact or earlier)[0] if exact or earlier else None


@chatwoot.command("connect")
@click.option("--url", required=True, help="Chatwoot's address, e.g. https://chat.example.org")
@click.option("--account", "account_id", type=int, required=True, help="The Chatwoot account id (in its URLs).")
@click.option("--token", required=True, envvar="CHATWOOT_TOKEN", show_envvar=True,
              help="An administrator's access token (Chatwoot: Profile settings); `-` reads it from stdin.")
@click.option("--kb-url", help="Where Chatwoot reaches this Kennisbank (default http://KB_HOST:KB_PORT).")
@click.option("--title", default="Kennisbank", show_default=True, help="The sidebar tab's title in Chatwoot.")
@click.option("--no-sidebar", is_flag=True, help="Register the webhook only, no dashboard app.")
def connect(url: str, account_id: int, token: str, kb_url: str | None, title: str, no_sidebar: bool) -> int:
    """Register Kennisbank's webhook and sidebar app with a Chatwoot account, and store what it needs.

    Safe to run again: what is registered already is kept (or brought up to date), never added twice. The
    token, the webhook secret and the webhook URL's token are stored in KB_CHATWOOT_FILE (mode 600) and never
    printed.

        kb chatwoot connect --url https://chat.example.org --account 1 --token "$TOKEN" \\
                            --kb-url https://kb.example.org
    """
    settings = settings_from()
    if token == "-":
        token = sys.stdin.readline().strip()
    if not url.startswith(("https://", "http://")):
        raise click.UsageError("--url: Chatwoot's address starts with https:// (or http://)")
    kb_url = (kb_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if not kb_url.startswith(("https://", "http://")):
        raise click.UsageError("--kb-url: this Kennisbank's address starts with https:// (or http://)")
    file = ConnectionFile(settings.chatwoot_path)
    known = file.find("chatwoot", account_id, url)
    connection = Connection.new(url, account_id, token, kb_url=kb_url)
    if known is not None:  # the same webhook URL as before: Chatwoot's registration stays valid
        connection = connection.updated(hook_token=known.hook_token, webhook_secret=known.webhook_secret,
                                        webhook_id=known.webhook_id, dashboard_app_id=known.dashboard_app_id)
    api = ChatwootApi(url, account_id, token)
    try:
        who = _admin_of(api.profile(), account_id)
        click.echo(f"Chatwoot {connection.url}, account {account_id}, as {who}")
        hooks = api.webhooks()
        hook = _ours(hooks, connection.webhook_url, f"{kb_url}/v1/integrations/chatwoot/webhook/",
                     lambda h: h.get("url"))
        if hook is None:
            hook, did = api.create_webhook(connection.webhook_url, WEBHOOK_NAME), "registered"
        elif hook.get("url") != connection.webhook_url or set(EVENTS) - set(hook.get("subscriptions") or []):
            hook, did = api.update_webhook(int(hook["id"]), connection.webhook_url, WEBHOOK_NAME), "updated"
        else:
            did = "already registered"
        secret = hook.get("secret")
        connection = connection.updated(webhook_id=hook.get("id"), webhook_secret=None)
        if secret:
            connection = connection.updated(webhook_secret=SecretStr(str(secret)))
        signed = "signed (X-Chatwoot-Signature)" if secret else "unsigned: this Chatwoot version does not sign " \
            "deliveries, the URL's token alone proves them"
        click.echo(f"webhook: {did} (id {hook.get('id')}) -> {_hidden(connection.webhook_url)}  "
                   f"[{', '.join(EVENTS)}; {signed}]")
        if not no_sidebar:
            apps = api.dashboard_apps()
            app = _ours(apps, connection.sidebar_url, f"{kb_url}/integrations/chatwoot/sidebar",
                        lambda a: ((a.get("content") or [{}])[0] or {}).get("url"))
            if app is None:
                app, did = api.create_dashboard_app(title, connection.sidebar_url), "registered"
            elif app.get("title") != title or (app.get("content") or [{}])[0].get("url") != connection.sidebar_url:
                app, did = api.update_dashboard_app(int(app["id"]), title, connection.sidebar_url), "updated"
            else:
                did = "already registered"
            connection = connection.updated(dashboard_app_id=app.get("id"))
            click.echo(f"sidebar: {did} as dashboard app '{title}' (id {app.get('id')}) -> {connection.sidebar_url}")
    except InboxUnavailable as e:
        raise ConfigError(e.message) from None
    finally:
        api.close()
    file.put(connection)
    click.echo(f"saved to {file.path} (mode 600); `kb serve` picks it up without a restart")
    if not kb_url.startswith("https://"):
        click.echo("note: over http the sidebar signs in per browser tab; serve Kennisbank over https for a "
                   "sign-in that lasts the shift", err=True)
    return EXIT_OK


@chatwoot.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable.")
def status(as_json: bool) -> int:
    """Each connected Chatwoot account: deliveries received, notes posted, failures and the last error.

        kb chatwoot status
    """
    settings = settings_from()
    connections = ConnectionFile(settings.chatwoot_path).all()
    if not connections:
        raise ConfigError(f"no Chatwoot account connected ({settings.chatwoot_path}): run `kb chatwoot connect`")
    db = open_database(settings)
    try:
        report = [{"connection": c.key, "chatwoot": c.url, "account": c.account_id, "kennisbank": c.kb_url,
                   "webhook_id": c.webhook_id, "signed": c.webhook_secret is not None,
                   "dashboard_app_id": c.dashboard_app_id, "connected": c.connected, **store.stats(db, c.key)}
                  for c in connections]
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(report, indent=1, default=str))
        return EXIT_OK
    for r in report:
        click.echo(f"{r['chatwoot']}  account {r['account']}  (connected {r['connected']})")
        click.echo(f"  webhook {r['webhook_id']} ({'signed' if r['signed'] else 'unsigned'}), sidebar app "
                   f"{r['dashboard_app_id'] or '-'}, Kennisbank at {r['kennisbank']}")
        click.echo(f"  deliveries {r['received']}: accepted {r['accepted']}, duplicate {r['duplicates']}, "
                   f"ignored {r['ignored']}, refused {r['refused']}; last {r['last_delivery'] or '-'}")
        click.echo(f"  notes posted {r['notes_posted']} (no article: {r['no_match']}), failed {r['notes_failed']}, "
                   f"waiting {r['waiting']}; last {r['last_note'] or '-'}")
        click.echo(f"  feedback from replies {r['feedback']}")
        click.echo(f"  last error: {r['last_error'] or '-'}" + (f" ({r['last_error_at']})" if r["last_error"] else ""))
    return EXIT_OK
