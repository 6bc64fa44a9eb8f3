"""Each HTTP request timed by its route's template and its status, for `/metrics`, and the
lines logged while it is handled naming the case or scan its path names."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cesja import logs, metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route of a request no route matched: one label, whatever the path was.
UNMATCHED = "unmatched"


class ObserveRequests:
    """Pure ASGI: it neither reads nor buffers the body, and sees the answer's status as it
    goes out. The route's template is known once the router has matched the request."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when nothing was sent before an error

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with logs.about(request=scope):
                await self.app(scope, receive, observed_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in METHODS else "other"
            metrics.request_answered(method, route, status, time.perf_counter() - started)
