"""The one place where errors of every layer become HTTP answers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError

from cesja.cases import InvalidCase
from cesja.errors import CesjaError
from workflow import TransitionNotAllowed, needs

log = logging.getLogger("cesja.api")


def _path(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def problem(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _path(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return problem(
            422,
            "invalid_input",
            f"{len(errors)} field(s) are invalid",
            errors=errors,
            detail=[f"{e['field']}: {e['message']}" for e in errors],
        )

    @app.exception_handler(InvalidCase)
    async def _invalid_case(_: Request, exc: InvalidCase) -> JSONResponse:
        errors = [p.model_dump() for p in exc.problems]
        return problem(
            422,
            exc.code,
            exc.message,
            errors=errors,
            detail=[f"{p.field}: {p.message}" for p in exc.problems],
        )

    @app.exception_handler(TransitionNotAllowed)
    async def _transition(_: Request, exc: TransitionNotAllowed) -> JSONResponse:
        # Normally turned into lifecycle.TransitionRefused where it is sent; this is the net.
        state = ", ".join(str(s.id) for s in exc.configuration)
        event = exc.event.id if exc.event is not None else "transition"
        sentence = needs(state, event)
        return problem(
            409, "transition_not_allowed", sentence, state=state, event=event, needs=sentence
        )

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        # Another writer changed the case between this request's read and its write.
        log.info("optimistic lock conflict: %s", exc)
        return problem(409, "case_changed", "the case changed meanwhile, reload and try again")

    @app.exception_handler(CesjaError)
    async def _cesja(_: Request, exc: CesjaError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        response = problem(exc.http_status, exc.code, exc.message, **getattr(exc, "extra", {}))
        if headers:
            response.headers.update(headers)
        return response
