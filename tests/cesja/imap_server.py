"""A real IMAP server for the mailbox tests: Debian's Dovecot, started unprivileged by the
test session from a configuration in a temporary directory, on a free port of 127.0.0.1.

Any user name logs in with PASSWORD (a static passdb), and each has its own empty maildir: a
test takes a user of its own and so a mailbox of its own.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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
auth_mechanisms = plain login
auth_failure_delay = 0
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
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/mail/%u
}}
"""


class DovecotMissing(RuntimeError):
    pass


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
def dovecot() -> Iterator[ImapServer]:
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
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
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
