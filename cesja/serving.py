"""`cesja serve`: the HTTP service in CESJA_API_PROCESSES processes on one listening socket,
and the worker processes beside them.

One process runs the API's Python on one core at a time: its interpreter lock lets one thread
run at once. The first process (the one started as `cesja serve`) migrates the database,
listens, starts the worker processes and serves; it then spawns the others, which serve the
same app from the same socket (the kernel hands each connection to one of them) and ring the
same worker processes' doorbell when they commit work. A signal to the first stops them all.

A process serves its connections' requests on its one core: one holding more connections
than another answers each more slowly. The processes keep each other's counts in shared
memory, and one holding two more than the fewest ends a connection after its answer
(`Connection: close`, as HTTP allows), so that the client's next lands where there is room.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cesja.config import Settings
from cesja.observe import logs, metrics

if TYPE_CHECKING:
    from cesja.workers import Doorbell, WorkerProcesses

log = logging.getLogger("cesja")

# How long an API process lets open connections finish once told to stop; the workers finish
# their page meanwhile (`cesja.workers.STOP_GRACE_SECONDS`), all within 30 s.
GRACEFUL_SHUTDOWN_SECONDS = 5
# Connections the kernel holds for the API processes to accept.
LISTEN_BACKLOG = 2048
# How often another API process checks that the first is still there.
PARENT_CHECK_SECONDS = 0.5


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C; then every process ends its requests and work in hand."""
    from cesja.app import create_app

    listening = _listen(host, port)
    # Migrates the database, once, before any other process opens it.
    application = create_app(settings)
    connections = Connections.shared(settings.api_processes)
    server = _FirstServer(
        _config(application, host, port, connections), settings, listening, connections
    )
    try:
        server.run(sockets=[listening])
    finally:
        server.stop_others()


def _config(app: FastAPI, host: str, port: int, connections: Connections) -> uvicorn.Config:
    return uvicorn.Config(
        connections.balanced(app),
        host=host,
        port=port,
        log_level="info",
        # uvicorn's lines go through the service's own handler, in CESJA_LOG_FORMAT.
        log_config=None,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # asyncio accepts as many waiting connections at one wake-up as its server's backlog:
        # the process that woke first took 39 of the bench's 50 at once and served them at a
        # quarter of the other's pace. One at a time (nginx's default, `multi_accept off`),
        # the process less busy takes the next; the kernel's queue is set back after start.
        backlog=1,
        http=connections.counted(HttpToolsProtocol),
    )


_CLOSE = (b"connection", b"close")
# The count of an API process that has ended.
_ENDED = -1


class Connections:
    """The open connections of each API process, in shared memory: each process counts its
    own place and reads the others'."""

    def __init__(self, counts: Any, mine: int = 0):
        self.counts = counts
        self.mine = mine

    @classmethod
    def shared(cls, processes: int) -> Connections:
        """Counts for `processes` API processes, as the first sees them."""
        return cls(multiprocessing.get_context("spawn").RawArray("i", processes))

    def of_process(self, number: int) -> Connections:
        """The same counts, as API process `number` sees them."""
        return Connections(self.counts, number)

    def crowded(self) -> bool:
        """Whether this process holds two connections more than the one holding fewest."""
        return self.counts[self.mine] >= min(c for c in self.counts if c >= 0) + 2

    def ended(self, number: int) -> None:
        """API process `number` has ended: it holds none and takes none."""
        self.counts[number] = _ENDED

    def counted(self, protocol: type[HttpToolsProtocol]) -> type[HttpToolsProtocol]:
        """`protocol`, counting this process's connections as they open and close."""
        counts, mine = self.counts, self.mine

        class Counted(protocol):  # type: ignore[valid-type,misc]
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                counts[mine] += 1
                super().connection_made(transport)

            def connection_lost(self, exc: Exception | None) -> None:
                counts[mine] -= 1
                super().connection_lost(exc)

        return Counted

    def balanced(self, app: ASGIApp) -> ASGIApp:
        """`app`, ending a connection after its answer while this process is crowded."""
        if len(self.counts) == 1:
            return app

        async def balanced_app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def answer(message: Message) -> None:
                # Judged as the answer starts, not as the request came: requests wait their
                # turn, and a connection let go then would be let go of too many times over.
                if message["type"] == "http.response.start" and self.crowded():
                    message = {**message, "headers": [*message.get("headers", ()), _CLOSE]}
                await send(message)

            await app(scope, receive, answer)

        return balanced_app


class _Server(uvicorn.Server):
    """uvicorn in an API process, which, once its app has started, keeps what it built out of
    the garbage collector's full passes (`keep_what_is_built`)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        from cesja.runtime import keep_what_is_built

        await super().startup(sockets=sockets)
        for listening in sockets or ():
            listening.listen(LISTEN_BACKLOG)
        keep_what_is_built()


class _FirstServer(_Server):
    """uvicorn in the first process: once its app has started (and with it the worker
    processes), it spawns the other API processes; told to stop, it tells them and the
    worker processes at once."""

    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        listening: socket.socket,
        connections: Connections,
    ):
        super().__init__(config)
        self.settings = settings
        self.listening = listening
        self.connections = connections
        self.others: list[SpawnProcess] = []
        self.stopping = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit and self.settings.imap_url:
            self._take_mail()
        if self.should_exit or self.settings.api_processes <= 1:
            return
        workers = self._worker_processes()
        doorbell = workers.wake if workers is not None else None
        context = multiprocessing.get_context("spawn")
        for number in range(1, self.settings.api_processes):
            process = context.Process(
                target=_other_api_process,
                args=(
                    self.settings,
                    self.config.host,
                    self.config.port,
                    self.listening,
                    self.connections.of_process(number),
                    doorbell,
                    os.getpid(),
                    logging.getLogger().getEffectiveLevel(),
                ),
                name=f"cesja-api-{number}",
                # Ended by multiprocessing's exit handler should this one exit without
                # stop_others.
                daemon=True,
            )
            process.start()
            self.others.append(process)
        log.info("serving from %d API processes", len(self.others) + 1)
        threading.Thread(target=self._watch_others, name="cesja-api-watch", daemon=True).start()

    def _watch_others(self) -> None:
        """An API process that ended by itself (killed, crashed) serves nobody: said once, and
        no longer counted among those holding connections."""
        ended: set[int] = set()
        while not self.stopping.wait(PARENT_CHECK_SECONDS):
            for number, process in enumerate(self.others, start=1):
                if number not in ended and not process.is_alive():
                    ended.add(number)
                    self.connections.ended(number)
                    log.error(
                        "API process %s ended (exit code %s): the others serve on",
                        process.pid,
                        process.exitcode,
                    )

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # The workers stop now, finishing their page, while uvicorn lets the open
        # connections finish; none is started again meanwhile.
        super().handle_exit(sig, frame)
        self.stopping.set()
        workers = self._worker_processes()
        if workers is not None:
            workers.begin_stop()
        for process in self.others:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    def stop_others(self) -> None:
        deadline = time.monotonic() + GRACEFUL_SHUTDOWN_SECONDS + 10
        for process in self.others:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.others:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("API process (pid %s) did not stop: killing it", process.pid)
                process.kill()
                process.join()
            if process.pid is not None:
                metrics.process_ended(process.pid)

    def _take_mail(self) -> None:
        """CESJA_IMAP_URL: this process takes the mailbox's e-mail, in a thread of its own,
        until told to stop. A refused login is logged and ends only the mail."""
        from cesja.intake import mailbox

        runtime = self.config.app.state.runtime  # type: ignore[union-attr]
        settings = self.settings

        def take() -> None:
            try:
                address = mailbox.ImapAddress.parse(settings.imap_url or "")
                mailbox.run(
                    runtime,
                    address,
                    poll_seconds=settings.imap_poll_seconds,
                    tokens=mailbox.AccessTokens.from_settings(settings),
                    stop=self.stopping.is_set,
                )
            except Exception:
                log.exception("taking e-mail stopped; the rest of the service runs on")

        threading.Thread(target=take, name="cesja-mail", daemon=True).start()

    def _worker_processes(self) -> WorkerProcesses | None:
        app = self.config.app
        state = getattr(app, "state", None)
        return getattr(state, "worker_processes", None)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(LISTEN_BACKLOG)
    return sock


def _other_api_process(
    settings: Settings,
    host: str,
    port: int,
    listening: socket.socket,
    connections: Connections,
    doorbell: Doorbell | None,
    parent: int,
    level: int,
) -> None:
    """Another API process: the same app on the same socket, without worker processes of its
    own; work it commits rings the first process's."""
    from cesja.app import create_app
    from cesja.db import make_engine
    from cesja.runtime import Runtime
    from cesja.storage import ScanStore

    logs.setup(settings.log_format, level=level, text=logs.PROCESS_TEXT_FORMAT)
    # uvicorn stops on SIGTERM or SIGINT, then raises it again, to these: an ordinary exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="cesja-parent-watch", daemon=True
    ).start()
    # Not `open_runtime`: the first process has migrated the database and warned about
    # development keys.
    settings = settings.model_copy(update={"workers": 0})
    runtime = Runtime(
        settings=settings,
        engine=make_engine(settings.sqlalchemy_url),
        store=ScanStore(settings.scan_store_dir),
    )
    if doorbell is not None:
        runtime.work_ready = doorbell
    server = _Server(_config(create_app(runtime=runtime), host, port, connections))
    server.run(sockets=[listening])


def _exit_when_orphaned(parent: int) -> None:
    """Stop this API process once the first is gone (killed with SIGKILL): nobody would."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.error("the first API process (pid %d) is gone: stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
