"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a temporary dir, a
free port on 127.0.0.1, trust authentication, and nothing left behind.

    with private_cluster() as cluster:      # initdb, then the server started
        cluster.url                         # postgresql://postgres@127.0.0.1:<port>/postgres
        cluster.restart(down_seconds=1.5)   # the database away for a moment
    # stopped and its directory removed, even when the block raised

Postgres refuses to run as root: under root the cluster belongs to an unprivileged user
(`postgres` when Debian's package made it, else `nobody`) and the server runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

POSTGRES_BIN = Path("/usr/lib/postgresql")
INSTALL_HINT = "install Debian's `postgresql` package (`make test` does)"


class ClusterError(RuntimeError):
    """The private cluster could not be made or started; the message says why."""


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin dir (the one with `initdb`), if any."""
    found = sorted(
        POSTGRES_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    return found[0].parent if found else None


def answers(url: str, timeout: int = 3) -> bool:
    """Whether a PostgreSQL server accepts a connection at `url` (a libpq URL)."""
    try:
        with psycopg.connect(url, connect_timeout=timeout):
            return True
    except psycopg.OperationalError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One private cluster: its directory, port and server process. Built by `private_cluster`."""

    def __init__(self, root: Path, bin_dir: Path, user: str | None):
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.bin_dir = bin_dir
        self.user = user  # None: run as the current user
        self.port = free_port()
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The admin URL (libpq form; the tests add `+psycopg` for SQLAlchemy)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    def init(self) -> None:
        self.sockets.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        done = subprocess.run(
            [
                *self._as_owner(),
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            said = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
            raise ClusterError(f"initdb failed (exit {done.returncode}):\n{said}")

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it takes connections."""
        if self.running:
            return
        with self.log.open("ab") as out:
            self._server = subprocess.Popen(
                [
                    *self._as_owner(pdeathsig=True),
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.sockets),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    # Throwaway data: nothing need survive a crash of the machine.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while not answers(self.url, timeout=1):
            if self._server.poll() is not None:
                raise ClusterError(f"postgres exited with {self._server.returncode}:\n{self.said}")
            if time.monotonic() > deadline:
                self.stop(fast=False)
                raise ClusterError(f"postgres did not answer within {timeout:.0f} s:\n{self.said}")
            time.sleep(0.05)

    def stop(self, *, fast: bool = True, timeout: float = 30.0) -> None:
        """Stop the server: `fast` ends every session at once (a restart by an operator);
        otherwise immediately, without a checkpoint (a crash)."""
        server, self._server = self._server, None
        if server is None or server.poll() is not None:
            return
        server.send_signal(signal.SIGINT if fast else signal.SIGQUIT)
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    def restart(self, *, down_seconds: float = 1.5, fast: bool = True) -> None:
        """The database away for a moment: stopped, `down_seconds` with nothing listening on
        its port, then started again on the same port with the same data."""
        self.stop(fast=fast)
        time.sleep(down_seconds)
        self.start()

    @property
    def said(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def _as_owner(self, *, pdeathsig: bool = False) -> list[str]:
        """The prefix that runs a program as the cluster's owner; with `pdeathsig`, one that
        also has it stopped fast when the thread that started it ends (a killed test run)."""
        setpriv = shutil.which("setpriv")
        prefix: list[str] = []
        if self.user is not None:
            if setpriv is None:
                return ["runuser", "-u", self.user, "--"]
            prefix = [setpriv, "--reuid", self.user, "--regid", self.user, "--init-groups"]
        if pdeathsig and setpriv is not None:
            prefix = prefix or [setpriv]
            prefix += ["--pdeathsig", "INT"]
        return [*prefix, "--"] if prefix else []


def _owner() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise ClusterError("running as root and no unprivileged user (postgres, nobody) to run it")


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A new cluster, started; stopped and removed when the block ends, however it ends.

    The pdeathsig set on the server stops it with the thread that called this: start and
    restart it from the same (the main) thread.
    """
    bin_dir = server_binaries()
    if bin_dir is None:
        raise ClusterError(f"no initdb under {POSTGRES_BIN}/*/bin: {INSTALL_HINT}")
    # Not under pytest's tmp dir: its parents are private to root, and postgres runs as
    # another user that must reach its data dir and socket dir.
    root = Path(tempfile.mkdtemp(prefix="cesja-pg-"))
    cluster = Cluster(root, bin_dir, _owner())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
