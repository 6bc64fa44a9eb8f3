"""`cesja mail`: a mailbox on a real IMAP server (Dovecot) as intake. Each message is taken
through the same intake as POST /api/v1/messages and only then moved to Processed (or
Refused); a message taken before a crash is taken again and kept once."""

from __future__ import annotations

import imaplib
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from cesja.cli import app as cli
from cesja.db.models import MessageRow
from cesja.intake import mailbox
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.imap_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    REFRESH_TOKEN,
    DovecotMissing,
    ImapServer,
    TokenService,
    dovecot,
    token_service,
)
from tests.cesja.processes import free_port, start, wait_until
from tests.cesja.sent_mail import OUR_HOST, form_pdf, message, send
from tests.conftest import STAFF


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenService]:
    with token_service() as service:
        yield service


@pytest.fixture(scope="module")
def imap(tokens: TokenService) -> Iterator[ImapServer]:
    try:
        with dovecot(tokens) as server:
            yield server
    except DovecotMissing as err:
        pytest.fail(f"{err} (make test installs it)")


@pytest.fixture
def client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAIL_AUTHSERV_ID", OUR_HOST)
    with TestClient(create_app()) as c:
        yield c


def mail_once(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> tuple[int, str]:
    monkeypatch.setenv("CESJA_IMAP_URL", url)
    for name, value in env.items():
        monkeypatch.setenv(f"CESJA_{name}", value)
    result = CliRunner().invoke(cli, ["mail", "--once"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def messages_stored(client: TestClient) -> int:
    with Session(runtime_of(client).engine) as session:
        return session.exec(select(func.count()).select_from(MessageRow)).one()


def test_each_message_is_taken_then_moved_and_what_cannot_be_taken_is_refused(
    client: TestClient, imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a mailbox holding a party's signed page by e-mail and a message no one can read
    (parts nested thousands deep)
    WHEN `cesja mail --once` runs
    THEN the first is a message of the service with its scan, moved to Processed; the other is
    moved to Refused; the inbox is empty."""
    user = "intake-moved"
    case = create_case(client)
    page = form_pdf(client, case["id"], pages=(0,))
    imap.deliver(user, message(files=(("cesja.pdf", page, "application/pdf"),)).as_bytes())
    nested = b"From: biuro@example.pl\r\nMIME-Version: 1.0\r\n"
    for depth in range(3000):
        nested += (
            f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n'.encode()
        )
    imap.deliver(user, nested + b"Content-Type: text/plain\r\n\r\nx\r\n")

    code, output = mail_once(monkeypatch, imap.url(user))
    assert code == 0, output
    assert "1 message(s) taken, 1 refused, 0 left for later" in output
    assert (imap.count(user, "INBOX"), imap.count(user, "Processed")) == (0, 1)
    assert imap.count(user, "Refused") == 1
    with Session(runtime_of(client).engine) as session:
        taken = session.exec(select(MessageRow)).one()
    shown = client.get(f"/api/v1/messages/{taken.id}", headers=STAFF).json()
    assert shown["sender"] == {"address": "biuro@example.pl", "verified": True, "how": "dmarc"}
    assert len(shown["scans"]) == 1


def test_a_message_taken_before_a_crash_is_taken_again_and_kept_once(
    client: TestClient, imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a message whose intake committed, but the process died before moving it (it is
    still in the inbox) WHEN `cesja mail --once` runs again THEN it is moved to Processed and
    the service holds it once."""
    user = "intake-crashed"
    raw = message(files=(("cesja.pdf", b"%PDF-1.4 not really", "application/pdf"),)).as_bytes()
    imap.deliver(user, raw)
    assert send(client, raw).status_code == 202  # the intake that committed before the crash

    code, output = mail_once(monkeypatch, imap.url(user))
    assert code == 0, output
    assert (imap.count(user, "INBOX"), imap.count(user, "Processed")) == (0, 1)
    assert messages_stored(client) == 1


def test_a_message_arriving_while_it_waits_is_taken_at_once_by_idle(
    client: TestClient, imap: ImapServer
) -> None:
    """GIVEN `cesja mail` waiting on an empty inbox with 60 s between looks
    WHEN a message is delivered THEN it is taken within a few seconds: IDLE woke it."""
    user = "intake-idle"
    address = mailbox.ImapAddress.parse(imap.url(user))
    stop = threading.Event()
    runner = threading.Thread(
        target=mailbox.run,
        args=(runtime_of(client), address),
        kwargs={"poll_seconds": 60, "stop": stop.is_set},
    )
    imap.count(user, "INBOX")  # the user's mailbox exists before the watcher looks
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while "Refused" not in imap.folders(user) and time.monotonic() < deadline:
            time.sleep(0.05)  # not yet logged in: it makes its folders first
        time.sleep(0.3)  # its first look done, waiting in IDLE
        imap.deliver(user, message().as_bytes())
        deadline = time.monotonic() + 10
        while imap.count(user, "Processed") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert imap.count(user, "Processed") == 1
        assert messages_stored(client) == 1
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()


OAUTH2 = {"IMAP_OAUTH2_CLIENT_ID": CLIENT_ID}


def test_with_oauth2_it_logs_in_by_xoauth2_with_a_client_credentials_token(
    client: TestClient, imap: ImapServer, tokens: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a mailbox that takes XOAUTH2, and the service given a token endpoint, a client id
    and secret and a scope (Microsoft 365's client credentials), no password
    WHEN `cesja mail --once` runs THEN it gets a token by the client-credentials grant, logs
    in with it, and takes the message."""
    user = tokens.user = "intake-oauth-cc"
    imap.deliver(user, message().as_bytes())
    url = imap.url(user).replace(f":{PASSWORD}@", "@")
    code, output = mail_once(
        monkeypatch,
        url,
        IMAP_OAUTH2_TOKEN_URL=tokens.token_url,
        IMAP_OAUTH2_CLIENT_SECRET=CLIENT_SECRET,
        IMAP_OAUTH2_SCOPE="https://outlook.office365.com/.default",
        **OAUTH2,
    )
    assert code == 0, output
    assert "1 message(s) taken" in output
    assert imap.count(user, "Processed") == 1
    assert tokens.grants[-1]["grant_type"] == "client_credentials"
    assert tokens.grants[-1]["scope"] == "https://outlook.office365.com/.default"


def test_with_a_refresh_token_it_logs_in_by_the_token_it_refreshes(
    client: TestClient, imap: ImapServer, tokens: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the operator's refresh token (Gmail, a delegated mailbox) THEN the access token
    comes by the refresh-token grant and logs in."""
    user = tokens.user = "intake-oauth-refresh"
    url = imap.url(user).replace(f":{PASSWORD}@", "@")
    code, output = mail_once(
        monkeypatch,
        url,
        IMAP_OAUTH2_TOKEN_URL=tokens.token_url,
        IMAP_OAUTH2_REFRESH_TOKEN=REFRESH_TOKEN,
        **OAUTH2,
    )
    assert code == 0, output
    assert "0 message(s) taken" in output
    assert tokens.grants[-1]["grant_type"] == "refresh_token"


def test_a_token_endpoint_that_refuses_the_client_ends_it_saying_so(
    data_dir: Path, imap: ImapServer, tokens: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong client secret: exit code 1 with what the endpoint said, never the secret."""
    code, output = mail_once(
        monkeypatch,
        imap.url("intake-oauth-refused").replace(f":{PASSWORD}@", "@"),
        IMAP_OAUTH2_TOKEN_URL=tokens.token_url,
        IMAP_OAUTH2_CLIENT_SECRET="zly-sekret-3",
        **OAUTH2,
    )
    assert code == 1
    assert "gave no access token (HTTP 401: invalid_client unknown client)" in output
    assert "zly-sekret-3" not in output


def test_cesja_serve_takes_the_mailbox_when_it_is_configured_and_stops_cleanly(
    imap: ImapServer, tmp_path: Path, data_dir: Path
) -> None:
    """GIVEN `cesja serve` started with CESJA_IMAP_URL (no worker processes)
    WHEN a message is delivered THEN the service takes it (it is in Processed and the API
    knows it); SIGTERM ends the service, mail thread included, with exit code 0."""
    user = "intake-serve"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CESJA_")}
    environment.update(
        CESJA_DATA_DIR=str(tmp_path / "serve-var"),
        CESJA_IMAP_URL=imap.url(user),
        CESJA_MAIL_AUTHSERV_ID=OUR_HOST,
    )
    port, log = free_port(), tmp_path / "serve.log"
    imap.deliver(user, message().as_bytes())
    process = start(["serve", "--port", str(port)], log, workers=0, env=environment)
    try:
        wait_until(lambda: imap.count(user, "Processed") == 1, log, timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            taken = re.search(r"message (MS-[0-9A-F]+) received", log.read_text())
            assert taken is not None, log.read_text()
            answer = http.get(f"/api/v1/messages/{taken.group(1)}", headers=STAFF)
            assert answer.status_code == 200, answer.text
            assert answer.json()["sender"]["verified"] is True
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# Last: the server answers a failed login more slowly for a while after it.
def test_a_folder_another_taker_made_meanwhile_is_taken_as_made(
    imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a mailbox without Processed, and another taker of it (the service's other API
    process) making Processed after this one looked for it and before it makes it
    WHEN this one opens the mailbox
    THEN it opens: the server's "already exists" is the folder there (it had refused, and
    `cesja serve` tried again a minute later)."""
    user = "intake-race"
    create = imaplib.IMAP4.create
    raced: list[str] = []

    def another_taker_first(connection: imaplib.IMAP4, folder: str) -> tuple[str, list[object]]:
        if folder.strip('"') == mailbox.PROCESSED and not raced:
            raced.append(folder)  # the other taker's own CREATE comes through here too
            imap.create(user, mailbox.PROCESSED)
        return create(connection, folder)

    monkeypatch.setattr(imaplib.IMAP4, "create", another_taker_first)
    opened = mailbox.Mailbox(mailbox.ImapAddress.parse(imap.url(user)))
    opened.close()
    assert raced
    assert {mailbox.PROCESSED, mailbox.REFUSED} <= imap.folders(user)


def test_a_refused_login_says_what_the_server_offers(
    imap: ImapServer, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    """A wrong password ends `cesja mail` with exit code 1 naming the user and the ways in
    the server offers, and never the password."""
    code, output = mail_once(monkeypatch, imap.url("intake-refused", password="zle-haslo-99"))
    assert code == 1
    assert "refused the login of intake-refused" in output
    assert "it offers: LOGIN OAUTHBEARER PLAIN XOAUTH2" in output
    assert "Microsoft 365 and Gmail take no password for IMAP" in output
    assert "zle-haslo-99" not in output
