"""Everything Kennisbank knows about Chatwoot, in one module: its webhook payloads and signature, its REST API, and
how a note of drafts looks there. The facts are Chatwoot's own, read at commit f66b551c (tests/contracts/chatwoot/
README.md names each file); tests/chatwoot/ runs this module against a fake that checks every call against the
pinned OpenAPI document.

- A delivery is proven by the connection's URL token and, when Chatwoot signs (it has a webhook secret),
  `X-Chatwoot-Signature: sha256=HMAC(secret, "{X-Chatwoot-Timestamp}.{body}")` within `KB_CHATWOOT_SKEW` seconds.
- `message_created` for a public `incoming` message is a customer's message (a note); for a public `outgoing`
  message sent by a `user` it is an agent's reply (feedback). Everything else (private notes, ours included;
  bots; templates; `message_updated`; other events) is ignored: the connector never answers its own notes.
- Notes are Markdown (Chatwoot renders it in the conversation), Dutch, in one fixed layout (`ChatwootInbox.note`).

    >>> channel_of({"channel": "Channel::TwitterProfile"})
    <Channel.X: 'x'>
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from api.errors import BadSignature, InboxUnavailable, UnknownAccount
from api.inbox.connections import Connection
from api.inbox.events import Delivery, Draft, Ignored, KindAdvice, MessageEvent, NoteFailed
from api.pages.labels import label
from kb.channels import Channel
from kb.config import Settings
from kb.drafting import clean_name
from kb.errors import InvalidInput
from kb.masking import mask

log = logging.getLogger("kb.inbox.chatwoot")

#: Chatwoot's inbox channel types (app/models/channel/) and the channel whose length and tone fits their replies.
CHANNELS = {"Channel::TwitterProfile": Channel.X, "Channel::FacebookPage": Channel.FACEBOOK,
            "Channel::Instagram": Channel.INSTAGRAM, "Channel::Whatsapp": Channel.WHATSAPP,
            "Channel::TwilioSms": Channel.WHATSAPP, "Channel::Sms": Channel.WHATSAPP,
            "Channel::Telegram": Channel.WHATSAPP, "Channel::Line": Channel.WHATSAPP, "Channel::Email": Channel.EMAIL}
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
EVENTS = ("message_created",)  # what the webhook subscribes to
DELIVERY_ID_MAX = 200


def channel_of(conversation: Mapping[str, Any]) -> Channel:
    """The reply channel for a conversation's inbox type; web chat, API and others read like Facebook."""
    return CHANNELS.get(str(conversation.get("channel") or ""), Channel.FACEBOOK)


# --- deliveries --------------------------------------------------------------------------------------------------


def verify(connection: Connection, headers: Mapping[str, str], body: bytes, *, now: float, skew: int) -> str | None:
    """A digest of the signature when the connection has a webhook secret and the delivery is signed with it within
    `skew` seconds; None for a connection whose Chatwoot does not sign. Raises BadSignature otherwise."""
    if connection.webhook_secret is None:
        return None
    stamp, signature = headers.get("x-chatwoot-timestamp", ""), headers.get("x-chatwoot-signature", "")
    if not stamp or not signature:
        raise BadSignature("unsigned delivery: this connection's webhook has a secret, so Chatwoot signs every "
                           "delivery (X-Chatwoot-Signature, X-Chatwoot-Timestamp)")
    if not stamp.isdigit() or abs(now - int(stamp)) > skew:
        raise BadSignature(f"X-Chatwoot-Timestamp is more than {skew} s from this server's clock: a stale or "
                           "replayed delivery, or a clock to set right (NTP)")
    secret = connection.webhook_secret.get_secret_value().encode()
    expected = "sha256=" + hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise BadSignature("X-Chatwoot-Signature does not match this connection's webhook secret")
    return hashlib.sha256(signature.strip().encode()).hexdigest()


def delivery(connection: Connection, headers: Mapping[str, str], body: bytes, settings: Settings, *,
             now: float) -> Delivery:
    """The proven delivery: signature checked, account checked, event read (BadSignature, UnknownAccount and
    InvalidInput refuse it)."""
    signature = verify(connection, headers, body, now=now, skew=settings.chatwoot_skew)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("body: not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("body: not a JSON object")
    account = _obj(payload.get("account"))
    if str(account.get("id", "")) != str(connection.account_id):
        raise UnknownAccount(f"account {account.get('id')!r}: this webhook URL is for Chatwoot account "
                             f"{connection.account_id}")
    given = headers.get("x-chatwoot-delivery", "").strip()
    delivery_id = given[:DELIVERY_ID_MAX] if given.isprintable() and given else \
        "body:" + hashlib.sha256(body).hexdigest()
    return Delivery(delivery_id, signature, event_of(payload, settings))


def _sent_at(value: object) -> str:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        when = dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _name(person: object, *, first: bool = False) -> str | None:
    """A person's name fit for a draft: one line, no links, and not a phone number or e-mail address (contacts
    from WhatsApp or e-mail are often named by them); `first`: the first name alone, as webcare greets.

        >>> _name({"name": "Ria de Vries"}, first=True), _name({"name": "+31 6 12345678"}), _name({"name": "Anna"})
        ('Ria', None, 'Anna')
    """
    if not isinstance(person, dict):
        return None
    name = clean_name(str(person.get("available_name") or person.get("name") or ""))
    if not name or mask(name) != name:
        return None
    return name.split()[0] if first else name


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def event_of(payload: Mapping[str, Any], settings: Settings) -> MessageEvent | Ignored:
    """Kennisbank's event for one webhook payload (`Message#webhook_data` plus `event`), or why it is ignored."""
    event = payload.get("event")
    if event not in EVENTS:
        return Ignored(f"event {event!r} is not used")
    if payload.get("private"):
        return Ignored("a private note (Kennisbank's own included)")
    kind = payload.get("message_type")
    if kind not in ("incoming", "outgoing"):
        return Ignored(f"message_type {kind!r}")
    conversation, inbox, sender = _obj(payload.get("conversation")), _obj(payload.get("inbox")), \
        _obj(payload.get("sender"))
    for field, value in (("id", payload.get("id")), ("conversation.id", conversation.get("id"))):
        if value is None or str(value).strip() == "":
            raise InvalidInput(f"{field}: missing in a message_created delivery")
    inbox_id = str(inbox.get("id") or conversation.get("inbox_id") or "") or None
    if settings.chatwoot_inbox_set and inbox_id not in settings.chatwoot_inbox_set:
        return Ignored(f"inbox {inbox_id} is not in KB_CHATWOOT_INBOXES")
    text = str(payload.get("content") or "").strip()
    if not text:
        return Ignored("no text (an attachment alone)")
    message_id, conversation_id = str(payload["id"]), str(conversation["id"])
    sent_at, channel = _sent_at(payload.get("created_at")), channel_of(conversation)
    if kind == "incoming":
        assignee = _obj(conversation.get("meta")).get("assignee")
        return MessageEvent(message_id, conversation_id, inbox_id, "incoming", text, sent_at, channel=channel,
                            customer_name=_name(sender, first=True), agent_name=_name(assignee))
    if sender.get("type") != "user":
        return Ignored(f"outgoing message not sent by an agent (sender type {sender.get('type')!r})")
    return MessageEvent(message_id, conversation_id, inbox_id, "outgoing", text, sent_at, channel=channel,
                        agent_name=_name(sender), agent_id=str(sender.get("id", "")) or None)


# --- Chatwoot's REST API ---------------------------------------------------------------------------------------


def _payload(data: Any, *keys: str) -> Any:
    """`data["payload"][key]` as the Rails views answer (webhooks), or `data` itself as the OpenAPI document says."""
    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
        for key in keys:
            if key in data["payload"]:
                return data["payload"][key]
    return data


class ChatwootApi:
    """Chatwoot's application API for one account, with the connection's access token.

    Methods raise InboxUnavailable with Chatwoot's status and what to do; the token is never in a message."""

    def __init__(self, url: str, account_id: int, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.account_id = account_id
        self.client = httpx.Client(base_url=url.rstrip("/"), timeout=TIMEOUT, transport=transport,
                                   headers={"api_access_token": token, "Accept": "application/json"},
                                   follow_redirects=False)

    @classmethod
    def of(cls, connection: Connection) -> ChatwootApi:
        return cls(connection.url, connection.account_id, connection.api_token.get_secret_value())

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TimeoutException as e:
            raise InboxUnavailable(f"Chatwoot at {self.client.base_url} did not answer in time ({type(e).__name__})",
                                   status=0, sent=method != "GET") from None
        except httpx.HTTPError as e:
            raise InboxUnavailable(f"Chatwoot at {self.client.base_url} cannot be reached: {type(e).__name__}",
                                   status=0, sent=False) from None
        if response.is_success:
            return response.json() if response.content else None
        hint = {401: "the access token was refused: use an administrator's token (Chatwoot: Profile settings, "
                     "Access Token)",
                403: "the token's user may not do this: webhooks need an administrator of the account",
                404: f"not found: check the Chatwoot URL and account {self.account_id}"}.get(response.status_code, "")
        raise InboxUnavailable(f"Chatwoot answered {response.status_code} to {method} {path}"
                               + (f": {hint}" if hint else ""), status=response.status_code, sent=False)

    def _account(self, path: str) -> str:
        return f"/api/v1/accounts/{self.account_id}{path}"

    def profile(self) -> dict[str, Any]:
        return dict(self._call("GET", "/api/v1/profile"))

    def webhooks(self) -> list[dict[str, Any]]:
        return list(_payload(self._call("GET", self._account("/webhooks")), "webhooks") or [])

    def create_webhook(self, url: str, name: str) -> dict[str, Any]:
        body = {"url": url, "name": name, "subscriptions": list(EVENTS)}
        return dict(_payload(self._call("POST", self._account("/webhooks"), json=body), "webhook"))

    def update_webhook(self, webhook_id: int, url: str, name: str) -> dict[str, Any]:
        body = {"url": url, "name": name, "subscriptions": list(EVENTS)}
        return dict(_payload(self._call("PATCH", self._account(f"/webhooks/{webhook_id}"), json=body), "webhook"))

    def dashboard_apps(self) -> list[dict[str, Any]]:
        return list(self._call("GET", self._account("/dashboard_apps")) or [])

    def create_dashboard_app(self, title: str, url: str) -> dict[str, Any]:
        body = {"title": title, "content": [{"type": "frame", "url": url}]}
        return dict(self._call("POST", self._account("/dashboard_apps"), json=body))

    def update_dashboard_app(self, app_id: int, title: str, url: str) -> dict[str, Any]:
        body = {"title": title, "content": [{"type": "frame", "url": url}]}
        return dict(self._call("PATCH", self._account(f"/dashboard_apps/{app_id}"), json=body))

    def create_note(self, conversation_id: str, text: str) -> dict[str, Any]:
        body = {"content": text, "message_type": "outgoing", "private": True}
        return dict(self._call("POST", self._account(f"/conversations/{conversation_id}/messages"), json=body))

    def messages_after(self, conversation_id: str, message_id: str) -> list[dict[str, Any]]:
        """Up to 100 messages after `message_id` (Chatwoot's MessageFinder), each as its `_message` view."""
        data = self._call("GET", self._account(f"/conversations/{conversation_id}/messages"),
                          params={"after": message_id})
        listed = data.get("payload") if isinstance(data, dict) else data  # {meta, payload: [...]} (index.json)
        return [m for m in listed or [] if isinstance(m, dict)]

    def message(self, conversation_id: str, message_id: str) -> dict[str, Any] | None:
        """One message of the conversation, read from Chatwoot itself (the sidebar's verified text)."""
        if not (message_id.isdigit() and conversation_id.isdigit()):
            return None
        for message in self.messages_after(conversation_id, str(int(message_id) - 1)):
            if str(message.get("id")) == message_id:
                return message
        return None


# --- notes ---------------------------------------------------------------------------------------------------------

NOTE_FOOTER = "_Privénotitie van Kennisbank: de klant ziet dit niet. Controleer het concept voor je het verstuurt._"
#: A note with a moderation guideline and no draft (abuse, spam): there is nothing to check before sending.
MODERATION_FOOTER = "_Privénotitie van Kennisbank: de klant ziet dit niet._"


class ChatwootInbox:
    """The connector's view of one Chatwoot account (api/inbox/events.py, `Inbox`)."""

    def __init__(self, api: ChatwootApi) -> None:
        self.api = api

    def close(self) -> None:
        self.api.close()

    def note(self, drafts: list[Draft], event: MessageEvent, *, marker: str, kind: KindAdvice | None = None) -> str:
        """The fixed layout: a heading; the message's kind with its guideline (moderation instead of a draft for
        abuse and spam) and the kind's own reply, offered first, unless it is a plain question; then per draft its
        title, tier, article id, warnings, the draft quoted, and its sources; a footer that says who wrote it and
        carries `marker`.

            **Kennisbank** · 2 concepten voor X (Twitter)

            Soort bericht: **klacht** (0,91) · Vraag om een privébericht ...

            **Eerst de reactie op het bericht** (klacht)
            > Hoi Ria, wat vervelend, sorry ...

            **1. Voedt suiker kanker?** · hoog · `suiker-voedt-kanker`
            > Hoi Ria! Nee, suiker voedt kanker niet ... ^AV

            Bronnen: [KWF Kankerbestrijding](https://www.kwf.nl/)
        """
        offered = len(drafts) + (1 if kind and kind.reply else 0)
        count = "1 concept" if offered == 1 else f"{offered} concepten"
        if kind and kind.moderation and not offered:
            count = "niet beantwoorden"
        parts = [f"**Kennisbank** · {count} voor {label(event.channel, 'channel')}", *_kind_parts(kind)]
        for rank, d in enumerate(drafts, 1):
            # The tier in words and why it is capped, as the agent page and the sidebar say it: no raw score
            # beside it to contradict it ("middel · 1,00"), and the capping warning not repeated below.
            tier = label(d.confidence, "confidence") + (f" — {label(d.capped_by, 'capped')}" if d.capped_by else "")
            lines = [f"**{rank}. {_md(d.title)}** · {tier} · `{d.article_id}`"]
            lines += [f"⚠️ {label(w, 'warning')}" for w in d.warnings if w != d.capped_by]
            lines.append(_quoted(d.text))
            if d.sources:
                lines.append("Bronnen: " + " · ".join(f"[{_md(t)}]({u})" for t, u in d.sources))
            parts.append("\n".join(lines))
        parts.append(f"{NOTE_FOOTER if offered else MODERATION_FOOTER} `{marker}`")
        return "\n\n".join(parts)

    def no_match_note(self, event: MessageEvent, *, marker: str, kind: KindAdvice | None = None) -> str:
        """No article fits (KB_CHATWOOT_NO_MATCH_NOTE): say so, with the kind's guideline and reply where the
        message has one (off-topic: the editors' invitation to ask about the organisation's own subjects)."""
        head = ("**Kennisbank** · geen passend artikel gevonden voor dit bericht. Beantwoord het zelf; de redactie "
                "ziet het bij “Te schrijven” als je het op de Kennisbank-pagina meldt.")
        about = _kind_parts(kind)
        if not about:
            return f"{head} `{marker}`"
        footer = NOTE_FOOTER if kind and kind.reply else MODERATION_FOOTER
        return "\n\n".join([head, *about, f"{footer} `{marker}`"])

    def post_note(self, conversation_id: str, text: str) -> str:
        try:
            return str(self.api.create_note(conversation_id, text)["id"])
        except InboxUnavailable as e:
            raise _note_failed(e) from None

    def find_note(self, conversation_id: str, after_message_id: str, marker: str) -> str | None:
        try:
            messages = self.api.messages_after(conversation_id, after_message_id)
        except InboxUnavailable as e:
            raise _note_failed(e) from None
        for message in messages:
            if message.get("private") and marker in str(message.get("content") or ""):
                return str(message["id"])
        return None


    def context_channel(self, conversation: Mapping[str, Any]) -> Channel:
        return channel_of(conversation)

    def message_text(self, conversation_id: str, message_id: str) -> str | None:
        message = self.api.message(conversation_id, message_id)
        if message is None or message.get("private") or message.get("message_type") != 0:  # 0: incoming
            return None
        return str(message.get("content") or "").strip() or None


def _kind_parts(kind: KindAdvice | None) -> list[str]:
    """What a note says about a message that is not a plain question: its kind with the editors' guideline (and
    the moderation for abuse and spam), and the kind's own reply, offered first."""
    if kind is None or kind.kind == "question":
        return []
    sure = f" ({kind.probability:.2f})".replace(".", ",") if kind.probability is not None else ""
    line = f"Soort bericht: **{label(kind.kind, 'kind')}**{sure}"
    if kind.moderation:
        line += f" · ⚠️ Modereren: {label(kind.moderation, 'moderation')}, geen concept"
    parts = [line + (f"\n{kind.guideline.strip()}" if kind.guideline else "")]
    if kind.reply:
        parts.append(f"**Eerst de reactie op het bericht** ({label(kind.kind, 'kind')})\n" + _quoted(kind.reply))
    return parts


def _note_failed(e: InboxUnavailable) -> NoteFailed:
    """Chatwoot down, a timeout, 408, 429, 5xx and the token's 401/403 (an administrator may fix it) are retried;
    400, 404 (the conversation is gone), 422 are not."""
    given = e.details.get("status")
    status = given if isinstance(given, int) else 0
    return NoteFailed(e.message, retry=status not in (400, 404, 410, 422),
                      maybe_sent=bool(e.details.get("sent")) and status == 0)


def _quoted(text: str) -> str:
    """A draft as a Markdown quote, its blank lines kept inside the quote."""
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def _md(text: str) -> str:
    """Text that Markdown shows as written (a title with * or [ would otherwise format or link)."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)
