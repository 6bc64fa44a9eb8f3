"""`cesja serve`: the HTTP service in CESJA_API_PROCESSES processes on one listening socket,
and the worker processes beside them.

One process runs the API on one core: its interpreter lock lets one thread run Python at a
time. The first process (the one started as `cesja serve`) migrates the database, listens,
serves, and starts the worker processes; it spawns the others, which serve from the same
socket (the kernel hands each connection to one of them) and wake the same worker
processes when they commit work. A signal to the first stops them all.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.synchronize import Event as ProcessEvent
from types import FrameType

import uvicorn
from fastapi import FastAPI

from cesja.config import Settings

log = logging.getLogger("cesja")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
# How often an API process checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.5
# How long the other API processes may take to answer what they hold once told to stop.
STOP_GRACE_SECONDS = 30


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C; then every process ends its requests and work in hand."""
    from cesja.app import create_app
    from cesja.runtime import open_runtime

    context = multiprocessing.get_context("spawn")
    wake = context.Event()
    # Migrated here, once, before any other process opens the database.
    runtime = open_runtime(settings)
    listening = _listen(host, port)
    others = [
        _spawn(context, settings, listening, wake, number)
        for number in range(1, settings.api_processes)
    ]
    if others:
        log.info("serving from %d API processes", len(others) + 1)
    server = _Server(_config(create_app(settings, runtime=runtime, wake=wake)))
    server.others = others
    try:
        server.run(sockets=[listening])
    finally:
        _stop(others)


def _config(app: FastAPI) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=STOP_GRACE_SECONDS)


class _Server(uvicorn.Server):
    """uvicorn, telling the other API processes to stop the moment it is told to."""

    others: list[SpawnProcess]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        for process in self.others:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        super().handle_exit(sig, frame)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _spawn(
    context: SpawnContext,
    settings: Settings,
    listening: socket.socket,
    wake: ProcessEvent,
    number: int,
) -> SpawnProcess:
    process = context.Process(
        target=_api_process,
        args=(settings, listening, wake, os.getpid(), logging.getLogger().getEffectiveLevel()),
        name=f"cesja-api-{number}",
        # Ended by multiprocessing's exit handler should the first process exit without _stop.
        daemon=True,
    )
    process.start()
    return process


def _stop(others: list[SpawnProcess]) -> None:
    deadline = time.monotonic() + STOP_GRACE_SECONDS + 5
    for process in others:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process in others:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log.warning("API process (pid %s) did not stop: killing it", process.pid)
            process.kill()
            process.join()


def _api_process(
    settings: Settings, listening: socket.socket, wake: ProcessEvent, parent: int, level: int
) -> None:
    """Another API process: the same app on the same socket, without worker processes of its
    own; work it commits wakes the first process's."""
    from cesja.app import create_app
    from cesja.runtime import open_runtime

    logging.basicConfig(level=level, format=LOG_FORMAT)
    # uvicorn ends on SIGTERM, then raises it again, to this handler: an ordinary exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="cesja-parent-watch", daemon=True
    ).start()
    runtime = open_runtime(settings.model_copy(update={"workers": 0}), run_migrations=False)
    runtime.work_ready = wake
    server = uvicorn.Server(_config(create_app(runtime=runtime)))
    server.run(sockets=[listening])


def _exit_when_orphaned(parent: int) -> None:
    """Stop this API process once the first is gone (killed with SIGKILL): nobody would."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.error("the first API process (pid %d) is gone: stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
