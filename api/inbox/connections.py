"""The inbox accounts Kennisbank is connected to, and their secrets: one JSON file, readable by its owner only.

`kb chatwoot connect` writes it (`KB_CHATWOOT_FILE`, default `KB_DATA_DIR/chatwoot.json`, mode 0600, replaced
atomically); `kb serve` reads it at start-up and again whenever it changes, so connecting needs no restart. A file
that group or others may read is refused (like ssh refuses such a key): the API token in it acts as a Chatwoot
administrator. Several processes behind one address each read the same file (a shared secret mount).

Secrets are `SecretStr`: printing a `Connection`, logging it or showing it in `kb chatwoot status` never shows
the API token, the webhook secret or the URL token.

    >>> store = ConnectionFile(Path("/tmp/kb-demo/chatwoot.json"))  # doctest: +SKIP
    >>> made = Connection.new("https://chat.example.org", 1, "tok", kb_url="https://kb.example.org")
    >>> store.put(made)  # doctest: +SKIP
    >>> store.by_token(token).account_id  # doctest: +SKIP
    1
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from kb.errors import ConfigError

VERSION = 1


def origin(url: str) -> str:
    """scheme://host[:port] of `url`, lower-case: what a browser compares for frame-ancestors and postMessage.

        >>> origin("https://Chat.Example.org/app/accounts/1/")
        'https://chat.example.org'
    """
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class Connection:
    """One inbox account: where it is, how to call it, and how its deliveries prove they come from it."""

    kind: str  # "chatwoot"
    url: str  # the inbox's base URL, without a trailing slash
    account_id: int
    kb_url: str  # where the inbox reaches this Kennisbank (the webhook and the sidebar are under it)
    api_token: SecretStr = field(repr=False)
    hook_token: SecretStr = field(repr=False)  # in the webhook URL path: names the connection, proves the sender
    webhook_secret: SecretStr | None = field(default=None, repr=False)  # signs deliveries (newer Chatwoot)
    webhook_id: int | None = None
    dashboard_app_id: int | None = None
    connected: str = ""

    @classmethod
    def new(cls, url: str, account_id: int, api_token: str, *, kb_url: str, kind: str = "chatwoot") -> Connection:
        return cls(kind, url.rstrip("/"), account_id, kb_url.rstrip("/"), SecretStr(api_token),
                   SecretStr(secrets.token_urlsafe(24)),
                   connected=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def key(self) -> str:
        """How the shared tables and the logs name this connection (no secret in it): `chatwoot:host/1`."""
        return f"{self.kind}:{urlsplit(self.url).netloc.lower()}/{self.account_id}"

    @property
    def origin(self) -> str:
        return origin(self.url)

    @property
    def webhook_url(self) -> str:
        return f"{self.kb_url}/v1/integrations/{self.kind}/webhook/{self.hook_token.get_secret_value()}"

    @property
    def sidebar_url(self) -> str:
        return f"{self.kb_url}/integrations/{self.kind}/sidebar?account={self.account_id}"

    def _json(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "account_id": self.account_id, "kb_url": self.kb_url,
                "api_token": self.api_token.get_secret_value(), "hook_token": self.hook_token.get_secret_value(),
                "webhook_secret": self.webhook_secret.get_secret_value() if self.webhook_secret else None,
                "webhook_id": self.webhook_id, "dashboard_app_id": self.dashboard_app_id,
                "connected": self.connected}

    @classmethod
    def _of(cls, data: dict[str, Any]) -> Connection:
        secret = data.get("webhook_secret")
        return cls(str(data["kind"]), str(data["url"]), int(data["account_id"]), str(data["kb_url"]),
                   SecretStr(str(data["api_token"])), SecretStr(str(data["hook_token"])),
                   SecretStr(secret) if secret else None, data.get("webhook_id"), data.get("dashboard_app_id"),
                   str(data.get("connected", "")))

    def updated(self, **changes: Any) -> Connection:
        return replace(self, **changes)


class ConnectionFile:
    """The connections in one file, re-read when the file changes (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of what is loaded
        self._connections: tuple[Connection, ...] = ()

    def all(self) -> tuple[Connection, ...]:
        with self._lock:
            self._refresh()
            return self._connections

    def by_token(self, token: str) -> Connection | None:
        """The connection whose URL token is `token` (compared in constant time), or None."""
        found = None
        for connection in self.all():
            if hmac.compare_digest(connection.hook_token.get_secret_value().encode(), token.encode()):
                found = connection
        return found

    def find(self, kind: str, account_id: int, url: str | None = None) -> Connection | None:
        for connection in self.all():
            if connection.kind == kind and connection.account_id == account_id and \
                    (url is None or origin(connection.url) == origin(url)):
                return connection
        return None

    def put(self, connection: Connection) -> None:
        """Add or replace (same kind, inbox URL and account) and write the file atomically, mode 0600."""
        with self._lock:
            self._refresh()
            kept = [c for c in self._connections if c.key != connection.key]
            data = {"version": VERSION, "connections": [c._json() for c in (*kept, connection)]}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)  # whatever the umask made of it
            os.replace(temporary, self.path)
            self._seen = None
            self._refresh()

    def _refresh(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._seen, self._connections = None, ()
            return
        if self._seen == (info.st_mtime_ns, info.st_size):
            return
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise ConfigError(f"{self.path}: readable by others (mode {stat.S_IMODE(info.st_mode):o}); it holds "
                              f"inbox API tokens: run `chmod 600 {self.path}`")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            connections = tuple(Connection._of(c) for c in data.get("connections", []))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{self.path}: not a connections file Kennisbank wrote ({type(e).__name__}: {e}); "
                              "run `kb chatwoot connect` again") from None
        self._seen, self._connections = (info.st_mtime_ns, info.st_size), connections
