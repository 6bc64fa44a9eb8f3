"""Liveness and readiness: `/healthz`, the database and the scan store answer; `/readyz`, and
some worker process, here or on another machine, is alive to read what comes in."""

from __future__ import annotations

import socket

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from cesja import heartbeats, jobs
from cesja.api.deps import RuntimeDep
from cesja.runtime import Runtime

router = APIRouter(tags=["health"])


def _problems(runtime: Runtime) -> list[str]:
    problems = []
    try:
        # A read: on SQLite it takes no write lock, so it answers while writers queue.
        with runtime.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means "not healthy", never a 500
        problems.append(f"database: {type(err).__name__}")
    if not runtime.store.healthy():
        problems.append("scan store: not writable")
    return problems


@router.get(
    "/healthz",
    responses={503: {"description": "the database or the scan store does not answer"}},
)
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """The database and the scan store answer."""
    problems = _problems(runtime)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    responses={
        503: {"description": "the database, the scan store or every worker process is missing"}
    },
)
def readyz(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Whether the service can do its work: the database and the scan store answer, and at
    least one worker process is alive to read scans and send notices (this service's own,
    known at once, or one on any machine that sent a heartbeat lately)."""
    problems = _problems(runtime)
    own = getattr(request.app.state, "worker_processes", None)
    here = set(own.taking_jobs()) if own is not None else set()
    elsewhere: set[str] = set()
    if not problems:
        try:
            elsewhere = {w for w in heartbeats.recent(runtime.engine) if not _ended_here(w)}
        except Exception as err:
            problems.append(f"database: {type(err).__name__}")
    alive = here | elsewhere
    workers = {
        "alive": len(alive),
        "this_service": {"alive": len(here), "started": own.count if own is not None else 0},
    }
    if not problems and not alive:
        problems.append(
            "workers: no worker process is alive: none of this service's is warm, and none "
            f"anywhere reported in the last {heartbeats.RECENT.total_seconds():.0f} s (start "
            "`cesja worker`, or `cesja serve` with CESJA_WORKERS above 0)"
        )
    if problems:
        return JSONResponse(
            {"status": "not_ready", "problems": problems, "workers": workers}, status_code=503
        )
    return JSONResponse({"status": "ready", "workers": workers})


def _ended_here(worker: str) -> bool:
    """A worker of this machine whose process has ended: its last heartbeat is not yet old."""
    host, _, pid = worker.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not jobs.process_alive(int(pid))
