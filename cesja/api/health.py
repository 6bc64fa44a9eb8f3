"""Liveness: the database and the scan store answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from cesja.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(runtime: RuntimeDep) -> JSONResponse:
    problems = []
    try:
        # A read: on SQLite it takes no write lock, so it answers while writers queue.
        with runtime.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means "not healthy", never a 500
        problems.append(f"database: {type(err).__name__}")
    if not runtime.store.healthy():
        problems.append("scan store: not writable")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
