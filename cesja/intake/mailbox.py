"""A mailbox as intake (`cesja mail`): each message in an IMAP folder taken through
`receive_message`, then moved to `Processed`, or to `Refused` when it cannot be taken at all.

A message is moved only after its intake has committed: a crash in between leaves it in the
folder, it is taken again, and the message's dedup keeps it once. Waits with IMAP IDLE where
the server offers it, else polls. The password is never logged (`ImapAddress` hides it).
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import logging
import re
import select
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from cesja.errors import BadInput, CesjaError, ConfigurationError
from cesja.intake.messages import receive_message
from cesja.runtime import Runtime
from cesja.storage import StoreFull

log = logging.getLogger("cesja.mail")

PROCESSED = "Processed"
REFUSED = "Refused"
# RFC 2177: a client re-issues IDLE at least every 29 minutes; a wait never lasts that long.
LONGEST_IDLE_SECONDS = 29 * 60
# How often a wait looks whether it was told to stop.
STOP_POLL_SECONDS = 0.5
TIMEOUT_SECONDS = 30.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(CesjaError):
    code = "mailbox_error"
    http_status = 502


class LoginRefused(MailboxError):
    """The server refused the login; its message says which way in it offers."""

    code = "imap_login_refused"


@dataclass(frozen=True)
class ImapAddress:
    """`imaps://user:password@host[:port]/FOLDER`, or `imap://…` which must upgrade with
    STARTTLS unless the host is this machine (`?starttls=false` is refused elsewhere)."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str
    tls: bool  # imaps: TLS from the first byte
    starttls: bool

    @classmethod
    def parse(cls, url: str) -> ImapAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ConfigurationError(
                "CESJA_IMAP_URL must look like imaps://user:password@host/INBOX"
            )
        if not parts.username or parts.password is None:
            raise ConfigurationError("CESJA_IMAP_URL must name the user and the password")
        query = parse_qs(parts.query)
        tls = parts.scheme == "imaps"
        starttls = not tls and query.get("starttls", ["true"])[0].lower() != "false"
        if not tls and not starttls and not _loopback(parts.hostname):
            raise ConfigurationError(
                "CESJA_IMAP_URL: the password would cross the network in clear; use imaps:// "
                "or imap:// with STARTTLS"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            starttls=starttls,
        )


@dataclass
class MailRound:
    """What one look at the folder did."""

    processed: list[str] = field(default_factory=list)  # message ids
    refused: int = 0
    left: int = 0  # could not be taken now (store full, database away): tried again later


class Mailbox:
    """One IMAP connection, logged in, its folder selected; `Processed` and `Refused` made
    when missing."""

    def __init__(self, address: ImapAddress, *, timeout: float = TIMEOUT_SECONDS):
        self.address = address
        self.timeout = timeout
        self._imap = self._connect()
        try:
            self._login()
            self.capabilities = self._capabilities()
            for folder in (PROCESSED, REFUSED):
                self._create(folder)
            self._ok(self._imap.select(_quoted(address.folder)), f"select {address.folder}")
        except BaseException:
            self.close()
            raise

    def uids(self) -> list[str]:
        typ, data = self._imap.uid("SEARCH", "ALL")
        self._ok((typ, data), "search")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        return found.decode("ascii").split()

    def size(self, uid: str) -> int | None:
        typ, data = self._imap.uid("FETCH", uid, "(RFC822.SIZE)")
        self._ok((typ, data), "fetch the size")
        for item in data:
            line = item[0] if isinstance(item, tuple) else item
            if isinstance(line, bytes) and (found := _SIZE.search(line)):
                return int(found.group(1))
        return None

    def fetch(self, uid: str) -> bytes | None:
        """The message as received, without marking it read; None when it has gone."""
        typ, data = self._imap.uid("FETCH", uid, "(BODY.PEEK[])")
        self._ok((typ, data), "fetch")
        for item in data:
            if isinstance(item, tuple) and isinstance(item[1], bytes):
                return item[1]
        return None

    def move(self, uid: str, folder: str) -> None:
        if "MOVE" in self.capabilities:
            self._ok(self._imap.uid("MOVE", uid, _quoted(folder)), f"move to {folder}")
            return
        self._ok(self._imap.uid("COPY", uid, _quoted(folder)), f"copy to {folder}")
        self._ok(self._imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "flag")
        if "UIDPLUS" in self.capabilities:
            self._ok(self._imap.uid("EXPUNGE", uid), "expunge")
        else:
            self._ok(self._imap.expunge(), "expunge")

    def wait(self, seconds: float, stop: Callable[[], bool]) -> None:
        """Until something arrives (IDLE), `seconds` pass, or `stop()` says so."""
        seconds = min(seconds, LONGEST_IDLE_SECONDS)
        if "IDLE" not in self.capabilities:
            _sleep(seconds, stop)
            self._ok(self._imap.noop(), "noop")
            return
        imap = self._imap
        tag = imap._new_tag()  # type: ignore[attr-defined]
        imap.send(tag + b" IDLE\r\n")
        if not imap.readline().startswith(b"+"):
            raise MailboxError("the server offers IDLE but refused it")
        sock = imap.socket()
        deadline = time.monotonic() + seconds
        while not stop() and time.monotonic() < deadline:
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            readable = pending or select.select([sock], [], [], STOP_POLL_SECONDS)[0]
            if not readable:
                continue
            line = imap.readline()
            if not line:
                raise MailboxError("the server closed the connection")
            if line.rstrip().endswith((b"EXISTS", b"RECENT")):
                break
        imap.send(b"DONE\r\n")
        while not (line := imap.readline()).startswith(tag):
            if not line:
                raise MailboxError("the server closed the connection")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._imap.logout()

    def _connect(self) -> imaplib.IMAP4:
        context = ssl.create_default_context()
        address = self.address
        try:
            if address.tls:
                return imaplib.IMAP4_SSL(
                    address.host, address.port, ssl_context=context, timeout=self.timeout
                )
            imap = imaplib.IMAP4(address.host, address.port, timeout=self.timeout)
            if address.starttls:
                imap.starttls(ssl_context=context)
            return imap
        except (OSError, imaplib.IMAP4.error) as err:
            raise MailboxError(
                f"could not reach the IMAP server {address.host}:{address.port}: {err}"
            ) from None

    def _login(self) -> None:
        offered = " ".join(
            sorted(
                c.removeprefix("AUTH=") for c in self._imap.capabilities if c.startswith("AUTH=")
            )
        )
        try:
            self._imap.login(self.address.user, self.address.password)
        except imaplib.IMAP4.error as err:
            said = str(err).replace(self.address.password, "…")
            wants = ""
            if "XOAUTH2" in offered or "OAUTHBEARER" in offered:
                wants = (
                    "; it offers OAuth2 (XOAUTH2/OAUTHBEARER): Microsoft 365 and Gmail take "
                    "no password for IMAP, only an OAuth2 access token"
                )
            raise LoginRefused(
                f"the IMAP server refused the login of {self.address.user} ({said}); "
                f"it offers: {offered or 'LOGIN'}{wants}"
            ) from None

    def _capabilities(self) -> frozenset[str]:
        typ, data = self._imap.capability()
        self._ok((typ, data), "capability")
        return (
            frozenset(data[0].decode("ascii", "replace").upper().split()) if data else frozenset()
        )

    def _create(self, folder: str) -> None:
        typ, data = self._imap.list('""', _quoted(folder))
        if typ == "OK" and any(isinstance(d, bytes) for d in data):
            return
        self._ok(self._imap.create(_quoted(folder)), f"create {folder}")

    @staticmethod
    def _ok(answer: tuple[str, Sequence[object]], what: str) -> None:
        typ, data = answer
        if typ != "OK":
            raise MailboxError(f"the IMAP server refused to {what}: {data!r}"[:500])


def take_new(runtime: Runtime, mailbox: Mailbox) -> MailRound:
    """Take every message in the folder; each moved once its intake has committed."""
    done = MailRound()
    limit = runtime.settings.max_upload_bytes
    for uid in mailbox.uids():
        size = mailbox.size(uid)
        if size is not None and size > limit:
            log.warning("message uid %s refused: %d bytes, over the limit", uid, size)
            mailbox.move(uid, REFUSED)
            done.refused += 1
            continue
        raw = mailbox.fetch(uid)
        if raw is None:
            continue  # taken away by someone else meanwhile
        try:
            taken = receive_message(runtime, raw)
        except StoreFull:
            log.warning("message uid %s left in the mailbox: the scan store is full", uid)
            done.left += 1
            break
        except BadInput as refusal:
            log.warning("message uid %s refused: %s", uid, refusal.message)
            mailbox.move(uid, REFUSED)
            done.refused += 1
            continue
        except Exception:
            # The database or the store failed, not the message: it stays for the next look.
            log.exception("message uid %s left in the mailbox for the next try", uid)
            done.left += 1
            continue
        mailbox.move(uid, PROCESSED)
        done.processed.append(taken.message.id)
    return done


def run(
    runtime: Runtime,
    address: ImapAddress,
    *,
    poll_seconds: float,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Take the mailbox's messages until `stop()`: IDLE between looks where offered; a lost
    connection is made again. A refused login ends it (LoginRefused): only the operator can
    mend that."""
    while not stop():
        try:
            mailbox = Mailbox(address)
        except LoginRefused:
            raise
        except MailboxError as err:
            log.warning("%s; trying again in %.0f s", err.message, poll_seconds)
            _sleep(poll_seconds, stop)
            continue
        log.info("taking e-mail from %s@%s/%s", address.user, address.host, address.folder)
        try:
            while not stop():
                took = take_new(runtime, mailbox)
                if took.processed or took.refused:
                    log.info(
                        "mailbox: %d message(s) taken, %d refused, %d left for later",
                        len(took.processed),
                        took.refused,
                        took.left,
                    )
                mailbox.wait(poll_seconds, stop)
        except (OSError, imaplib.IMAP4.error, MailboxError) as err:
            log.warning("the IMAP connection failed (%s); connecting again", err)
            _sleep(min(poll_seconds, 5.0), stop)
        finally:
            mailbox.close()


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(STOP_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
