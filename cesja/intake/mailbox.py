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

import httpx

from cesja.config import Settings
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
        if not parts.username:
            raise ConfigurationError("CESJA_IMAP_URL must name the user")
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
            password=unquote(parts.password or ""),
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


class AccessTokens:
    """OAuth2 access tokens for XOAUTH2, from the token endpoint: by the client-credentials
    grant (Microsoft 365's service principals), or by the refresh-token grant when the operator
    gave a refresh token (Gmail, a delegated Microsoft 365 mailbox). A token is reused until a
    minute before it expires; a refresh token the endpoint rotates is kept (in memory)."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        scope: str | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ):
        parts = urlsplit(token_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise ConfigurationError("CESJA_IMAP_OAUTH2_TOKEN_URL must be an https:// URL")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.scope = scope
        self.timeout = timeout
        self._token: str | None = None
        self._expires = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessTokens | None:
        if not settings.imap_oauth2_token_url:
            return None
        return cls(
            token_url=settings.imap_oauth2_token_url,
            client_id=settings.imap_oauth2_client_id or "",
            client_secret=settings.imap_oauth2_client_secret,
            refresh_token=settings.imap_oauth2_refresh_token,
            scope=settings.imap_oauth2_scope,
        )

    def current(self) -> str:
        if self._token is None or time.monotonic() >= self._expires:
            self._fetch()
        assert self._token is not None
        return self._token

    def forget(self) -> None:
        self._token = None

    def _fetch(self) -> None:
        form = {"client_id": self.client_id}
        if self._refresh_token:
            form.update(grant_type="refresh_token", refresh_token=self._refresh_token)
        else:
            form["grant_type"] = "client_credentials"
        if self._client_secret:
            form["client_secret"] = self._client_secret
        if self.scope:
            form["scope"] = self.scope
        try:
            answer = httpx.post(self.token_url, data=form, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise MailboxError(f"could not reach the OAuth2 token endpoint: {err}") from None
        body = _json_object(answer)
        token = body.get("access_token")
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            said = " ".join(str(body.get(k)) for k in ("error", "error_description") if body.get(k))
            raise LoginRefused(
                f"the OAuth2 token endpoint gave no access token (HTTP {answer.status_code}"
                f"{': ' + said[:300] if said else ''})"
            )
        try:
            seconds = float(str(body.get("expires_in", 3600)))
        except ValueError:
            seconds = 3600.0
        self._token = token
        self._expires = time.monotonic() + max(0.0, seconds - 60)
        rotated = body.get("refresh_token")
        if self._refresh_token and isinstance(rotated, str) and rotated:
            self._refresh_token = rotated


class Mailbox:
    """One IMAP connection, logged in (with the password, or XOAUTH2 when `tokens` are
    given), its folder selected; `Processed` and `Refused` made when missing."""

    def __init__(
        self,
        address: ImapAddress,
        *,
        tokens: AccessTokens | None = None,
        timeout: float = TIMEOUT_SECONDS,
    ):
        self.address = address
        self.tokens = tokens
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
        # imaplib speaks IDLE only from Python 3.14: the command is written by hand here.
        imap = self._imap
        imap.untagged_responses.clear()  # what earlier commands left; nobody reads it
        tag = imap._new_tag()  # type: ignore[attr-defined]
        imap.send(tag + b" IDLE\r\n")
        arrived = False
        while not (line := imap.readline()).startswith(b"+"):
            # A message that came since the last look is announced before the go-ahead.
            if not line or line.startswith(tag):
                raise MailboxError(f"the server offers IDLE but refused it: {line!r}"[:300])
            arrived = arrived or line.rstrip().endswith((b"EXISTS", b"RECENT"))
        sock = imap.socket()
        deadline = time.monotonic() + seconds
        while not arrived and not stop() and time.monotonic() < deadline:
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
        if self.tokens is not None:
            self._login_with_token(offered)
            return
        try:
            self._imap.login(self.address.user, self.address.password)
        except imaplib.IMAP4.error as err:
            said = _without(str(err), self.address.password)
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

    def _login_with_token(self, offered: str) -> None:
        """XOAUTH2; a refused token is fetched anew and tried once more (it may have been
        revoked or expired early)."""
        assert self.tokens is not None
        said = ""
        for _ in range(2):
            token = self.tokens.current()
            try:
                self._imap.authenticate("XOAUTH2", _xoauth2(self.address.user, token))
                return
            except imaplib.IMAP4.error as err:
                said = _without(str(err), token)
                self.tokens.forget()
        raise LoginRefused(
            f"the IMAP server refused the OAuth2 token for {self.address.user} ({said}); "
            f"it offers: {offered or 'LOGIN'}"
        )

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
        typ, data = self._imap.create(_quoted(folder))
        # Another taker of the same mailbox (the service's other API process) may have made it
        # since it was listed: the server says so by RFC 5530's response code.
        if typ != "OK" and any(
            isinstance(d, bytes) and d.upper().startswith(b"[ALREADYEXISTS]") for d in data
        ):
            return
        self._ok((typ, data), f"create {folder}")

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
    tokens: AccessTokens | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Take the mailbox's messages until `stop()`: IDLE between looks where offered; a lost
    connection is made again. A refused login ends it (LoginRefused): only the operator can
    mend that."""
    while not stop():
        try:
            mailbox = Mailbox(address, tokens=tokens)
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


def _xoauth2(user: str, token: str) -> Callable[[bytes], bytes]:
    """The XOAUTH2 client response; to the server's error challenge, the empty answer the
    mechanism asks for, after which the server says NO."""
    sent = False

    def respond(_challenge: bytes) -> bytes:
        nonlocal sent
        if sent:
            return b""
        sent = True
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()

    return respond


def _without(said: str, secret: str) -> str:
    """What a server said, the secret taken out should it echo it."""
    return said.replace(secret, "…") if secret else said


def _json_object(answer: httpx.Response) -> dict[str, object]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        time.sleep(min(STOP_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
