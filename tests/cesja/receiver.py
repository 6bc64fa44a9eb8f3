"""The registrar's webhook endpoint, played by a local HTTP server that checks each signature
with the Standard Webhooks reference library and answers from a script."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"the registrar's webhook secret!!").decode()


@dataclass(frozen=True)
class Received:
    webhook_id: str
    verified: bool
    payload: Any
    answered: int


@dataclass
class Receiver:
    """Answers the n-th POST with `script[n]` (a status, or "hang" to outlast the timeout),
    and 204 once the script is used up."""

    url: str
    script: list[int | str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hang_seconds: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} POSTs expected, got {len(self.received)}")
            time.sleep(0.02)


@contextmanager
def receiver(script: list[int | str] | None = None) -> Iterator[Receiver]:
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k: v for k, v in self.headers.items()}
            try:
                payload = Webhook(SECRET).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                payload, verified = json.loads(body), False
            with state.lock:
                n = len(state.received)
                answer = state.script[n] if n < len(state.script) else 204
                if not verified:
                    answer = 400
                state.received.append(
                    Received(
                        self.headers.get("webhook-id", ""),
                        verified,
                        payload,
                        answer if isinstance(answer, int) else 0,
                    )
                )
            if answer == "hang":
                time.sleep(state.hang_seconds)
                answer = 204
            self.send_response(int(answer))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/cesja")
    state.script = list(script or [])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
