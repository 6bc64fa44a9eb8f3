"""An SMTP server for the notice tests (aiosmtpd, on a free port of 127.0.0.1): it keeps each
message it accepts, and refuses the first `refuse` deliveries (or the first `refuse_to[address]`
deliveries to an address) with a 451 as a busy server does, noting the Message-ID each refused
delivery carried."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    to: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return part.get_content()  # type: ignore[no-any-return]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return part.get_content()  # type: ignore[no-any-return]


@dataclass
class SmtpServer:
    port: int = 0
    refuse: int = 0
    refuse_to: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused_ids: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        busy = [a for a in envelope.rcpt_tos if self.refuse_to.get(a, 0) > 0]
        for address in busy:
            self.refuse_to[address] -= 1
        if self.refuse > 0 or busy:
            self.refuse = max(0, self.refuse - 1) if not busy else self.refuse
            self.refused_ids.append(str(message_from_bytes(raw)["Message-ID"]))
            return "451 4.3.2 Please try again later"
        self.received.append(Received(list(envelope.rcpt_tos), raw))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(*, login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """The server; with `login`, it takes mail only from a client that logs in as that user
    with that password (AUTH PLAIN or LOGIN, here without TLS: the test's own loopback)."""
    server = SmtpServer(port=_free_port())
    options: dict[str, Any] = {}
    if login is not None:
        expected = LoginPassword(login[0].encode(), login[1].encode())

        def authenticator(*args: Any) -> AuthResult:
            # handled=False: the server itself answers (235, or 535 to a wrong password).
            return AuthResult(success=args[-1] == expected, handled=False)

        options = {"auth_required": True, "auth_require_tls": False, "authenticator": authenticator}
    controller = Controller(server, hostname="127.0.0.1", port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
