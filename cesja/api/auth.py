"""The API's door: a request's key is checked from its headers, and its role as soon as its
route is known, both before a byte of its body is read."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cesja.api.deps import Unauthenticated, allowed, caller_from_header, roles_of
from cesja.api.errors import answer
from cesja.errors import CesjaError

API = "/api/"


class KeysBeforeBodies:
    """Answers 401 (no key, or an unknown one) and 403 (a role the route does not let in)
    without reading the request's body.

    FastAPI reads and parses a body (a multipart upload of up to CESJA_MAX_UPLOAD_MB, or JSON)
    before it runs a route's dependencies: left to them, a caller without a key makes the
    service read 50 MB, or learns from a 422 what a body should hold. The key needs only the
    headers; the role needs the route, which is chosen before the body is read, so it is
    checked when the route first asks for the body. The routes' own `require(...)` stays: it
    states the roles (`roles_of` reads them there), shows them in the OpenAPI document, and
    is the check for a route that reads no body.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.runtime.settings
        try:
            caller = caller_from_header(settings, Headers(scope=scope).get("authorization"))
        except Unauthenticated as refusal:
            await answer(refusal)(scope, receive, send)
            return
        checked = started = refused = False

        async def checked_receive() -> Message:
            nonlocal checked, refused
            if not checked:
                checked = True
                route = scope.get("route")
                roles = roles_of(route) if isinstance(route, APIRoute) else None
                try:
                    if roles is not None:
                        allowed(caller, roles)
                except CesjaError as refusal:
                    # Answered here, then the route is told the client left: an error raised
                    # from here would reach its body parser, which answers 400 for any error.
                    if not started:
                        await answer(refusal)(scope, receive, send)
                    refused = True
            if refused:
                return {"type": "http.disconnect"}
            return await receive()

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 403 has been sent; what the route answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, checked_receive, tracking_send)
