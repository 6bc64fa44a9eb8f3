"""Requests served in the order they came: a few at a time in each API process.

Left alone, every request that arrives starts at once, and all of them share one core's worth
of Python by turns (the GIL): a form that takes 9 ms of CPU took as long as 50 reads that
came in beside it, and a write holding SQLite's lock waited for the GIL behind them all
(bench/load.py, 50 clients: reads p99 140 ms, forms p99 900 ms). Let in a few at a time, in
the order they came, each request runs nearly alone and ends soon after its turn begins; the
others wait in line, not on the CPU, and every kind of request waits about as long.

A request that waits for SQLite's write turn gives its turn back (`give_turn_back`); a write
to PostgreSQL keeps it, its wait for the disk too short to be worth a fourth request beside it
(`cesja.api.deps`). A request holds no turn while its body comes in: a small body (a case's
JSON) is received before the turn begins, and a large one (an upload) takes no turn at all,
its time goes to the network. A sender who never sends the body it announced holds no turn,
nor does a client slow to read its answer: the turn ends when the answer starts.

On SQLite, whoever holds the database's one write lock holds up every writer of every API
process: the process's committer writes in the event loop's own thread (`cesja.api.deps`), so
no request of the process runs while it holds the lock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A body up to this size (a case's JSON, a decision) comes in one read; larger ones (scans,
# messages) are uploads and take no turn.
SMALL_BODY_BYTES = 64 * 1024


class _Line:
    """Requests waiting for a turn, in the order they came; `at_once` of them run at a time."""

    def __init__(self, at_once: int):
        self.at_once = at_once
        self.running = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        if not self.waiting and self._open():
            self.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give()  # given a turn as the client left: the next one's
            elif turn in self.waiting:
                self.waiting.remove(turn)
            raise

    def give(self) -> None:
        self.running -= 1
        self._next()

    def _open(self) -> bool:
        return self.running < self.at_once

    def _next(self) -> None:
        while self.waiting and self._open():
            turn = self.waiting.popleft()
            if not turn.done():
                self.running += 1
                turn.set_result(None)


class _Turn:
    def __init__(self, line: _Line):
        self.line = line
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self.line.give()


_turn: ContextVar[_Turn | None] = ContextVar("cesja_request_turn", default=None)


def give_turn_back() -> None:
    """The request is about to wait on something other than the CPU: the next one in line
    starts. It finishes without a turn (what is left is answering, a fraction of the work)."""
    turn = _turn.get()
    if turn is not None:
        turn.give_back()


class RequestsInTurn:
    """At most `at_once` requests of this process run at a time; the others wait in line."""

    def __init__(self, app: ASGIApp, *, at_once: int):
        self.app = app
        self.at_once = at_once
        self._line: _Line | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _uploads(scope):
            await self.app(scope, receive, send)
            return
        received = await _whole_body(receive) if _has_body(scope) else []

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        if self._line is None:
            self._line = _Line(self.at_once)
        await self._line.take()
        turn = _Turn(self._line)
        token = _turn.set(turn)

        async def answer(message: Message) -> None:
            # What is left is sending: a client slow to read its answer holds no turn.
            if message["type"] == "http.response.start":
                turn.give_back()
            await send(message)

        try:
            await self.app(scope, replay, answer)
        finally:
            turn.give_back()
            _turn.reset(token)


def _has_body(scope: Scope) -> bool:
    return scope["method"] in ("POST", "PUT", "PATCH")


async def _whole_body(receive: Receive) -> list[Message]:
    """A small body's messages, up to its end (or the client's leaving)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _uploads(scope: Scope) -> bool:
    """Whether the request sends a body larger than a small one, or of a length not given."""
    if not _has_body(scope):
        return False
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length", b"")
    return not length.isdigit() or int(length) > SMALL_BODY_BYTES
