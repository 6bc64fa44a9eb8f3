"""A real IMAP server for the mailbox tests: Debian's Dovecot, started unprivileged by the
test session from a configuration in a temporary directory, on a free port of 127.0.0.1.

Any user name logs in with PASSWORD (a static passdb), and each has its own empty maildir: a
test takes a user of its own and so a mailbox of its own. XOAUTH2 works too, with a token from
`TokenService`, an OAuth2 token endpoint on another port whose tokens Dovecot checks there.
"""

from __future__ import annotations

import imaplib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DOVECOT = Path("/usr/sbin/dovecot")
PASSWORD = "haslo-testowe-42"
_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
# No penalty delay for this machine after a failed login: the tests fail some on purpose.
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:{root}/mail/%u
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = static
  mechanisms = plain login
  args = password={password}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
"""

_OAUTH2 = """\
tokeninfo_url = {tokeninfo}
username_attribute = username
active_attribute = active
active_value = true
"""
CLIENT_ID = "cesja-mail"
CLIENT_SECRET = "sekret-klienta-7"
REFRESH_TOKEN = "odswiezenie-1"


class DovecotMissing(RuntimeError):
    pass


@dataclass
class TokenService:
    """An OAuth2 token endpoint (`/token`: client credentials or a refresh token) and the
    token check Dovecot asks (`/tokeninfo`). Tokens are for the mailbox `user` at the time."""

    port: int = 0
    user: str = ""
    grants: list[dict[str, str]] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)  # token → user

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def tokeninfo_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tokeninfo?access_token="

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        self.grants.append(form)
        known = form.get("client_id") == CLIENT_ID and (
            (
                form.get("grant_type") == "client_credentials"
                and form.get("client_secret") == CLIENT_SECRET
            )
            or (
                form.get("grant_type") == "refresh_token"
                and form.get("refresh_token") == REFRESH_TOKEN
            )
        )
        if not known:
            return 401, {"error": "invalid_client", "error_description": "unknown client"}
        token = f"token-{len(self.issued) + 1}"
        self.issued[token] = self.user
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def check(self, token: str) -> tuple[int, dict[str, object]]:
        if token not in self.issued:
            return 401, {"error": "invalid_token"}
        return 200, {"username": self.issued[token], "active": "true"}


@contextmanager
def token_service() -> Iterator[TokenService]:
    service = TokenService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._answer(*service.grant(form))

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._answer(*service.check(query.get("access_token", [""])[0]))

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int

    def url(self, user: str, password: str = PASSWORD) -> str:
        # On this machine's loopback: no TLS, which CESJA_IMAP_URL allows only here.
        return f"imap://{user}:{password}@{self.host}:{self.port}/INBOX?starttls=false"

    def deliver(self, user: str, raw: bytes) -> None:
        """Put a message in the user's INBOX, as the mail host's delivery does."""
        with self._session(user) as imap:
            typ, _ = imap.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK"

    def folders(self, user: str) -> set[str]:
        with self._session(user) as imap:
            _, listed = imap.list()
        return {line.decode().rpartition(" ")[2].strip('"') for line in listed if line}

    def create(self, user: str, folder: str) -> None:
        """Make a folder in the user's mailbox, as another taker of it would."""
        with self._session(user) as imap:
            typ, _ = imap.create(f'"{folder}"')
            assert typ == "OK"

    def count(self, user: str, folder: str) -> int:
        """How many messages the folder holds (0 when it does not exist)."""
        with self._session(user) as imap:
            typ, data = imap.select(f'"{folder}"', readonly=True)
            return int(data[0] or 0) if typ == "OK" else 0

    @contextmanager
    def _session(self, user: str) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            imap.login(user, PASSWORD)
            yield imap
        finally:
            imap.logout()


@contextmanager
def dovecot(tokens: TokenService) -> Iterator[ImapServer]:
    """A Dovecot of its own, running as an unprivileged user (`nobody` when the tests run as
    root), its files in a temporary directory removed afterwards."""
    if not DOVECOT.exists():
        raise DovecotMissing("Dovecot is not installed: apt-get install dovecot-imapd")
    as_root = os.geteuid() == 0
    account = pwd.getpwnam("nobody") if as_root else pwd.getpwuid(os.geteuid())
    group = _group_name(account.pw_gid)
    # Not under pytest's tmp_path: its parent is private to root, and the server's user must
    # reach its own files.
    root = Path(tempfile.mkdtemp(prefix="cesja-dovecot-"))
    root.chmod(0o755)
    server = None
    try:
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir()
        port = _free_port()
        (root / "oauth2.conf").write_text(_OAUTH2.format(tokeninfo=tokens.tokeninfo_url))
        config = root / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                root=root, port=port, user=account.pw_name, group=group, password=PASSWORD
            )
        )
        if as_root:
            for path in (root, *root.rglob("*")):
                os.chown(path, account.pw_uid, account.pw_gid)
        command = [str(DOVECOT), "-F", "-c", str(config)]
        if as_root:
            command = [
                "setpriv",
                f"--reuid={account.pw_uid}",
                f"--regid={account.pw_gid}",
                "--clear-groups",
                *command,
            ]
        server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        _wait_for(port, server, root)
        yield ImapServer("127.0.0.1", port)
    finally:
        if server is not None:
            # Its whole process group at once: a test server's mail needs no orderly goodbye,
            # and an orderly one takes a second.
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for(port: int, server: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            error = server.stderr.read().decode() if server.stderr else ""
            raise DovecotMissing(f"Dovecot did not start: {error}{log}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise DovecotMissing("Dovecot did not answer within 15 s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
