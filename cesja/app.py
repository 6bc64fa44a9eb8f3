"""The FastAPI application: routes, error mapping, and the runtime it serves from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from cesja import workers
from cesja.api import actions, cases, errors, health, messages, scans, webhooks
from cesja.api import metrics as metrics_api
from cesja.api.auth import KeysBeforeBodies
from cesja.api.limits import UploadLimit
from cesja.api.observe import ObserveRequests
from cesja.api.turns import RequestsInTurn
from cesja.config import Settings
from cesja.db import API_THREADS
from cesja.observe import metrics
from cesja.runtime import Runtime, open_runtime
from cesja.web import back_office, customer


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or open_runtime(settings or Settings())
    # Under `cesja serve`, into the directory its processes share; otherwise in this process.
    metrics.start_in_this_process()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool; it has as many threads as the database pool
        # keeps connections (cesja.db), so a running route never waits for a connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = API_THREADS
        # `cesja serve` needs no second command: CESJA_WORKERS worker processes start beside
        # the API (none in tests, which run jobs themselves), each with the scheduler of
        # periodic jobs, and wake up when the API commits work.
        if runtime.settings.workers <= 0:
            yield
            return
        processes = workers.start_processes(runtime, runtime.settings.workers)
        # `cesja serve` tells them to stop the moment a signal arrives, not only once uvicorn
        # has waited for open connections.
        app.state.worker_processes = processes
        try:
            yield
        finally:
            processes.stop()

    app = FastAPI(
        title="Cesja",
        version="1",
        summary="Changing a domain's subscriber on paper: forms out, scans in, verified.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    app.include_router(health.router)
    app.include_router(metrics_api.router)
    app.include_router(cases.router)
    app.include_router(actions.router)
    app.include_router(webhooks.router)
    app.include_router(scans.router)
    app.include_router(messages.router)
    app.include_router(customer.router)
    back_office.install(app)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(UploadLimit, max_bytes=runtime.settings.max_upload_bytes)
    app.add_middleware(KeysBeforeBodies)  # before the others: no key, no reading
    # A small body is read before the turn, so outside the door, whose role check waits for
    # the route's first read of the body: uploads pass the line, and the door, unread.
    app.add_middleware(RequestsInTurn, at_once=runtime.settings.api_concurrency)
    # Outermost: a request refused for its key or its size is timed and counted too.
    app.add_middleware(ObserveRequests)
    return app
