"""A fake Chatwoot account on a free port, held to Chatwoot's own contract (tests/contracts/chatwoot/, commit
f66b551c):

- it **answers** the calls Kennisbank makes (profile, webhooks, dashboard apps, messages) the way Chatwoot's Rails
  views do, after checking the `api_access_token` header (401 otherwise);
- it **validates every request** against the pinned OpenAPI documents with openapi-core; a request that does not
  match (an unknown path, a wrong body, a missing parameter) is answered 400 and recorded in `violations`, which
  the tests' fixture asserts empty;
- it **sends deliveries** like `Webhooks::Trigger`: the pinned webhook payloads with their ids and texts filled in,
  signed or not, repeated, out of order; and keeps the conversation's messages (notes included) for
  `GET …/messages`.

    fake = FakeChatwoot().start()
    fake.deliver(url, fake.incoming(4711, "klopt het dat suiker kanker voedt?"), secret=secret)
    fake.notes       # [{"id": …, "conversation_id": "17", "content": "**Kennisbank** · …"}]
    fake.stop()
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import http.client
import itertools
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "chatwoot"
PINNED_COMMIT = "f66b551c7d6778b7984041832cbba70bc833cde3"
DELIVERY_TIMEOUT = 5.0  # Webhooks::Trigger#webhook_timeout without WEBHOOK_TIMEOUT


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((CONTRACT / name).read_text(encoding="utf-8")))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Faults:
    """What the fake does wrong on purpose: answer the next note posts with these statuses, or be slow."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering a note post (after storing it: a timeout that still posted)


class FakeChatwoot:
    def __init__(self, *, account_id: int = 1, token: str | None = None, role: str = "administrator",
                 signs: bool = True) -> None:
        self.account_id, self.role, self.signs = account_id, role, signs
        self.token = token or "cw_" + secrets.token_urlsafe(18)
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.webhooks: list[dict[str, Any]] = []
        self.dashboard_apps: list[dict[str, Any]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}  # conversation id -> its messages, oldest first
        self.faults = Faults()
        self._ids = itertools.count(9000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._specs = [self._spec("openapi.json"), self._spec("dashboard_apps.openapi.json")]

    # --- running ---------------------------------------------------------------------------------------------------

    def start(self) -> FakeChatwoot:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-chatwoot", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spec(self, name: str) -> OpenAPI:
        spec = fixture(name)
        spec["servers"] = [{"url": "/"}]  # deployment, not contract: the fake's own address
        return OpenAPI.from_dict(spec)

    # --- what Kennisbank sent ----------------------------------------------------------------------------------

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [m for ms in self.messages.values() for m in ms if m["private"]]

    def calls(self, method: str, fragment: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and fragment in r.path]

    # --- deliveries, as Webhooks::Trigger sends them -------------------------------------------------------------

    def incoming(self, message_id: int, content: str, *, conversation_id: int = 17, inbox_id: int = 3,
                 channel: str = "Channel::FacebookPage", name: str = "Ria de Vries", account_id: int | None = None,
                 sent_at: dt.datetime | None = None, event: str = "message_created") -> dict[str, Any]:
        """A customer's message (message_created.incoming.json with its ids, text and time filled in); also
        stored as a message of the conversation, as Chatwoot would have it."""
        payload = self._fill(fixture("message_created.incoming.json"), message_id, content, conversation_id,
                             inbox_id, channel, account_id, sent_at)
        payload["sender"]["name"] = name
        payload["event"] = event
        self._store(conversation_id, {"id": message_id, "content": content, "message_type": 0, "private": False})
        return payload

    def reply(self, message_id: int, content: str, *, conversation_id: int = 17, agent_id: int = 7,
              agent_name: str = "Anna de Vries", sent_at: dt.datetime | None = None,
              sender_type: str = "user") -> dict[str, Any]:
        """An agent's public reply (message_created.outgoing_reply.json)."""
        payload = self._fill(fixture("message_created.outgoing_reply.json"), message_id, content, conversation_id,
                             3, "Channel::FacebookPage", None, sent_at)
        payload["sender"].update({"id": agent_id, "name": agent_name, "type": sender_type})
        self._store(conversation_id, {"id": message_id, "content": content, "message_type": 1, "private": False})
        return payload

    def echo_of(self, note: dict[str, Any]) -> dict[str, Any]:
        """The delivery Chatwoot sends for a private note Kennisbank posted (message_created.private_note.json)."""
        return self._fill(fixture("message_created.private_note.json"), int(note["id"]), note["content"],
                          int(note["conversation_id"]), 3, "Channel::FacebookPage", None, None)

    def _fill(self, payload: dict[str, Any], message_id: int, content: str, conversation_id: int, inbox_id: int,
              channel: str, account_id: int | None, sent_at: dt.datetime | None) -> dict[str, Any]:
        payload = copy.deepcopy(payload)
        when = (sent_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        account = {"id": self.account_id if account_id is None else account_id, "name": payload["account"]["name"]}
        payload.update(id=message_id, content=content, created_at=when.isoformat(timespec="milliseconds")
                       .replace("+00:00", "Z"), account=account)
        payload["inbox"]["id"] = inbox_id
        conversation = payload["conversation"]
        conversation.update(id=conversation_id, inbox_id=inbox_id, channel=channel, account=account)
        for message in conversation["messages"]:
            message.update(conversation_id=conversation_id, inbox_id=inbox_id, account_id=account["id"])
        return payload

    def _store(self, conversation_id: int | str, message: dict[str, Any]) -> None:
        with self._lock:
            listed = self.messages.setdefault(str(conversation_id), [])
            if not any(m["id"] == message["id"] for m in listed):
                listed.append({"conversation_id": str(conversation_id), "created_at": int(time.time()), **message})
                listed.sort(key=lambda m: int(m["id"]))

    def deliver(self, url: str, payload: dict[str, Any], *, secret: str | None = None,
                delivery_id: str | None = None, timestamp: int | None = None) -> Answer:
        """POST one delivery as Webhooks::Trigger#perform_request does (Ruby's compact JSON, its headers, its 5 s
        timeout). Sent with the standard library, like any other program, not through the test's own client."""
        body, headers = self.signed(payload, secret=secret, delivery_id=delivery_id, timestamp=timestamp)
        return post(url, body, headers)

    def signed(self, payload: dict[str, Any], *, secret: str | None = None, delivery_id: str | None = None,
               timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4())}
        if secret is not None:
            stamp = str(int(time.time()) if timestamp is None else timestamp)
            headers["X-Chatwoot-Timestamp"] = stamp
            headers["X-Chatwoot-Signature"] = "sha256=" + hmac.new(
                secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return body, headers

    @property
    def secret(self) -> str | None:
        """The secret of the registered webhook (what Chatwoot signs with)."""
        return self.webhooks[0].get("secret") if self.webhooks else None

    @property
    def webhook_url(self) -> str:
        assert self.webhooks, "no webhook registered"
        return str(self.webhooks[0]["url"])

    # --- the dashboard: a conversation with the sidebar app, as Frame.vue shows it ----------------------------

    def app_context(self, conversation_id: int = 17, *, channel: str = "Channel::FacebookPage") -> dict[str, Any]:
        """What Frame.vue posts to the app (app_context.json), with this conversation's messages as the dashboard's
        store holds them (`message_type` an integer)."""
        context = fixture("app_context.json")["data"]
        conversation = context["conversation"]
        conversation.update(id=conversation_id, channel=channel)
        template = conversation["messages"][0]
        conversation["messages"] = [{**template, "id": m["id"], "content": m["content"],
                                     "message_type": m["message_type"], "private": m["private"],
                                     "conversation_id": conversation_id, "created_at": m["created_at"]}
                                    for m in self.messages.get(str(conversation_id), [])]
        return dict(context)

    def dashboard(self, conversation_id: int, app_url: str) -> str:
        """A page standing in for Chatwoot's conversation view: the conversation, and the dashboard app in a 400 px
        frame that gets the context exactly as Frame.vue sends it (on load, and on `fetch-info`)."""
        context = json.dumps(self.app_context(conversation_id)).replace("</", "<\\/")
        return f"""<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Chatwoot</title><style>
body {{ margin: 0; display: flex; height: 100vh; font: 14px system-ui, sans-serif; background: #f7f8fa; }}
.conversation {{ flex: 1; padding: 1rem 1.5rem; overflow: auto; }}
.bubble {{ background: #fff; border: 1px solid #e1e5ea; border-radius: 10px; padding: .5rem .8rem; margin: .5rem 0;
  max-width: 34rem; }}
.bubble.private {{ background: #fff8e1; }}
iframe {{ width: 400px; height: 100%; border: 0; border-left: 1px solid #dde1e6; background: #fff; }}
</style></head><body>
<div class="conversation"><h2>Gesprek #{conversation_id}</h2><div id="bubbles"></div></div>
<iframe id="dashboard-app--frame-0-0" src="{app_url}"></iframe>
<script>
let context = {context};
const frame = document.getElementById("dashboard-app--frame-0-0");
function bubbles() {{
  const box = document.getElementById("bubbles"); box.textContent = "";
  for (const m of context.conversation.messages) {{
    const div = document.createElement("div"); div.className = "bubble" + (m.private ? " private" : "");
    div.textContent = m.content.slice(0, 300); box.appendChild(div);
  }}
}}
function onIframeLoad() {{
  frame.contentWindow.postMessage(JSON.stringify({{ event: "appContext", data: context }}), "*");
}}
frame.addEventListener("load", onIframeLoad);
window.addEventListener("message", (event) => {{
  if (event.data === "chatwoot-dashboard-app:fetch-info") onIframeLoad();
}});
window.switchTo = (next) => {{ context = next; bubbles(); onIframeLoad(); }};
bubbles();
</script></body></html>"""

    # --- answering the API, as Chatwoot's views do ---------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               raw: bytes) -> tuple[int, Any]:
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append(Recorded(method, path, query, headers, body))
        problem = self._violation(method, path, query, headers, raw)
        if problem:
            with self._lock:
                self.violations.append(f"{method} {path}: {problem}")
            return 400, {"error": problem}
        if headers.get("api_access_token") != self.token:
            return 401, {"errors": ["Invalid Access Token"]}
        account = f"/api/v1/accounts/{self.account_id}"
        if method == "GET" and path == "/api/v1/profile":
            return 200, {"id": 9, "name": "Kennisbank", "available_name": "Kennisbank", "email": "kb@hoop.example",
                         "accounts": [{"id": self.account_id, "name": "Stichting Hoop & Gezondheid",
                                       "role": self.role}]}
        if not path.startswith(account + "/"):
            return 404, {"error": "Resource could not be found"}
        rest = path[len(account):]
        return self._account(method, rest, query, body)

    def _account(self, method: str, rest: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if rest == "/webhooks":
            if method == "GET":
                return 200, {"payload": {"webhooks": self.webhooks}}  # _webhook.json.jbuilder under payload
            if self.role != "administrator":
                return 401, {"error": "You are not authorized to do this action"}
            if any(w["url"] == body["url"] for w in self.webhooks):
                return 422, {"message": "Url has already been taken"}
            hook = {"id": next(self._ids), "name": body.get("name"), "url": body["url"], "account_id": self.account_id,
                    "subscriptions": body.get("subscriptions"), "secret": secrets.token_urlsafe(18) if self.signs
                    else None}
            self.webhooks.append(hook)
            return 200, {"payload": {"webhook": hook}}
        if rest.startswith("/webhooks/") and method == "PATCH":
            hook = next((w for w in self.webhooks if str(w["id"]) == rest.rsplit("/", 1)[1]), None)
            if hook is None:
                return 404, {"error": "Resource could not be found"}
            hook.update({k: v for k, v in body.items() if k in ("url", "name", "subscriptions")})
            return 200, {"payload": {"webhook": hook}}
        if rest == "/dashboard_apps":
            if method == "GET":
                return 200, self.dashboard_apps
            app = {"id": next(self._ids), "title": body["title"], "content": body["content"],
                   "created_at": dt.datetime.now(dt.UTC).isoformat()}
            self.dashboard_apps.append(app)
            return 200, app
        if rest.startswith("/dashboard_apps/") and method == "PATCH":
            app = next((a for a in self.dashboard_apps if str(a["id"]) == rest.rsplit("/", 1)[1]), None)
            if app is None:
                return 404, {"error": "Resource could not be found"}
            app.update({k: v for k, v in body.items() if k in ("title", "content")})
            return 200, app
        if rest.startswith("/conversations/") and rest.endswith("/messages"):
            conversation = rest.split("/")[2]
            if method == "GET":
                after = int(query.get("after", 0))
                listed = [m for m in self.messages.get(conversation, []) if int(m["id"]) > after][:100]
                return 200, {"meta": {"labels": []}, "payload": [_message_view(m) for m in listed]}
            return self._note(conversation, body)
        return 404, {"error": "Resource could not be found"}

    def _note(self, conversation: str, body: dict[str, Any]) -> tuple[int, Any]:
        if self.faults.statuses:
            return self.faults.statuses.pop(0), {"error": "injected"}
        message = {"id": next(self._ids), "content": body["content"], "private": bool(body.get("private")),
                   "message_type": 1 if body.get("message_type", "outgoing") == "outgoing" else 0}
        self._store(conversation, message)
        if self.faults.delay:
            time.sleep(self.faults.delay)
        return 200, _message_view({"conversation_id": conversation, "created_at": int(time.time()), **message})

    def _violation(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                   raw: bytes) -> str | None:
        """Why this request breaks the pinned contract, or None. The dashboard-app paths are checked against the
        document written from the Rails source, everything else against Chatwoot's own."""
        spec = self._specs[1] if "/dashboard_apps" in path else self._specs[0]
        request = MockRequest("http://127.0.0.1", method, path, args=query, headers=headers, data=raw or None,
                              content_type=headers.get("content-type", "").split(";")[0] or "application/json")
        try:
            spec.validate_request(request)
        except Exception as e:  # openapi-core's errors name what and where
            cause = f" ({e.__cause__})" if e.__cause__ else ""
            return f"{type(e).__name__}: {e}{cause}"
        if method != "GET" and headers.get("content-type", "").split(";")[0] != "application/json":
            return "Chatwoot's JSON endpoints take application/json"
        return None


@dataclass(frozen=True)
class Answer:
    """What Kennisbank answered a delivery."""

    status_code: int
    text: str
    headers: dict[str, str]
    seconds: float

    def json(self) -> Any:
        return json.loads(self.text)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = DELIVERY_TIMEOUT) -> Answer:
    parts = urlsplit(url)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        # A body refused on its Content-Length (413) is answered, and the connection closed, before it is all
        # sent: the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.request("POST", parts.path + (f"?{parts.query}" if parts.query else ""), body=body,
                         headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        return Answer(response.status, text, {k.lower(): v for k, v in response.getheaders()},
                      time.perf_counter() - started)
    finally:
        conn.close()


def _message_view(m: dict[str, Any]) -> dict[str, Any]:
    """app/views/api/v1/models/_message.json.jbuilder (message_type an integer)."""
    return {"id": m["id"], "content": m["content"], "inbox_id": 3, "conversation_id": int(m["conversation_id"]),
            "message_type": m["message_type"], "content_type": "text", "status": "sent", "content_attributes": {},
            "created_at": m["created_at"], "private": m["private"], "source_id": None}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeChatwoot
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        dashboard = self.command == "GET" and parts.path.startswith("/app/")
        if not parts.path.startswith("/api/") and not dashboard:  # the browser asking for an icon, say
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.command == "GET" and parts.path.startswith("/app/"):  # the dashboard, not the API
            query = dict(parse_qsl(parts.query))
            registered = self.fake.dashboard_apps[0]["content"][0]["url"] if self.fake.dashboard_apps else ""
            conversation = int(parts.path.rstrip("/").rsplit("/", 1)[1])
            html = self.fake.dashboard(conversation, query.get("app") or registered).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)
            return
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body = self.fake.answer(self.command, parts.path, dict(parse_qsl(parts.query)), headers, raw)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
