"""A local HTTP receiver standing in for a Slack or Teams incoming webhook: it records every POST and answers
with the statuses it is told to (then 200), or holds its answer until released.

    with Receiver(answers=[503, 503]) as hook:   # two failures, then success
        Webhook(hook.url).post("hoi")
        hook.bodies   # [{'text': 'hoi'}, {'text': 'hoi'}, {'text': 'hoi'}]
    with Receiver(drip="body") as hook: ...      # headers, then a byte every 0.2 s, forever
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class Receiver:
    def __init__(self, answers: list[int] | None = None, *, retry_after: str | None = None,
                 hold: threading.Event | None = None, drip: str | None = None, every: float = 0.2) -> None:
        self.answers = list(answers or [])
        self.retry_after, self.hold = retry_after, hold
        self.drip, self.every = drip, every  # "headers" or "body": one byte every `every` seconds, never done
        self.closed = threading.Event()
        self.bodies: list[Any] = []
        self.content_types: list[str] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                length = int(self.headers.get("content-length", "0"))
                receiver.content_types.append(self.headers.get("content-type", ""))
                receiver.bodies.append(json.loads(self.rfile.read(length) or b"null"))
                receiver.arrived.set()
                if receiver.drip is not None:
                    self._drip()
                    return
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if receiver.retry_after and status == 429:
                    self.send_header("Retry-After", receiver.retry_after)
                body = b"ok" if status == 200 else b"no"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drip(self) -> None:
                """Headers first, or the status line and then one header byte at a time; until the client leaves."""
                if receiver.drip == "body":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                else:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                try:
                    while not receiver.closed.wait(receiver.every):
                        self.wfile.write(b"a")
                        self.wfile.flush()
                except OSError:
                    pass  # the client closed the connection: what a deadline does

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.hold is not None:
            self.hold.set()
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
