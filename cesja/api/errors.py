"""The one place where errors of every layer become HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from cesja.cases import InvalidCase
from cesja.errors import CesjaError, DatabaseUnavailable, database_said, database_unavailable
from cesja.schemas import Problem
from workflow import TransitionNotAllowed, needs

log = logging.getLogger("cesja.api")

DATABASE_AWAY = (
    "the database is not answering for the moment (it is restarting, or busy with other "
    "writes): try again in {seconds} seconds"
)
# The back office and the customer's page get a page of their own, not JSON.
DATABASE_AWAY_PAGE = """<!doctype html>
<html lang="pl">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <title>Chwilowa przerwa — Cesja</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <header class="top"><span class="brand">Cesja</span></header>
  <main>
    <h1>Chwilowa przerwa</h1>
    <p>Baza danych chwilowo nie odpowiada (trwa jej ponowne uruchomienie albo jest zajęta).
    Odśwież stronę za kilka sekund.</p>
  </main>
</body>
</html>
"""


def _path(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _words(error: Any) -> str:
    """A validation error's message without pydantic's "Value error, " before our own words."""
    return str(error["msg"]).removeprefix("Value error, ")


def problem(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def answer(exc: CesjaError) -> JSONResponse:
    """The answer to one of the service's errors: its status, code and message, and on a 401
    the scheme to authenticate with."""
    response = problem(exc.http_status, exc.code, exc.message, **getattr(exc, "extra", {}))
    if exc.http_status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def install(app: FastAPI) -> None:
    app.openapi = _documenting_errors(app, app.openapi)  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _path(tuple(e["loc"])), "message": _words(e)} for e in exc.errors()]
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

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug, not an outage: a 500 and its traceback in the log
        log.warning("database unavailable, answered 503: %s", database_said(exc))
        seconds = DatabaseUnavailable.retry_after_seconds
        return _unavailable(request, DatabaseUnavailable(DATABASE_AWAY.format(seconds=seconds)))

    @app.exception_handler(DatabaseUnavailable)
    async def _away(request: Request, exc: DatabaseUnavailable) -> Response:
        return _unavailable(request, exc)

    @app.exception_handler(CesjaError)
    async def _cesja(_: Request, exc: CesjaError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        # FastAPI's and Starlette's own refusals (a body that is not even text, an unknown
        # path): on the API in the shape of every other error answer; elsewhere as they were.
        if not request.url.path.startswith("/api/"):
            return await http_exception_handler(request, exc)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response


def _unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
    """503 with when to come back: the API's problem body, or for people a page saying so."""
    headers = {"Retry-After": str(exc.retry_after_seconds), "Cache-Control": "no-store"}
    if request.url.path.startswith("/api/"):
        response: Response = problem(exc.http_status, exc.code, exc.message)
        response.headers.update(headers)
        return response
    return HTMLResponse(DATABASE_AWAY_PAGE, status_code=exc.http_status, headers=headers)


_HTTP_CODES = {400: "unreadable_body", 404: "not_found", 405: "method_not_allowed"}
_PROBLEM = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def _error_answers(path: str, method: str, operation: dict[str, Any]) -> dict[str, str]:
    """The error answers an /api/v1 operation can give, by status, with when it gives them."""
    answers = {}
    if "requestBody" in operation:
        answers["400"] = "The body could not be read at all (not text in UTF-8, or cut short)."
    if operation.get("security"):
        answers["401"] = "No API key, or a key this service does not know."
        answers["403"] = "The key's role may not do this."
    if "{" in path:
        answers["404"] = "Nothing of that id."
        if method == "post":
            answers["409"] = "Not possible in the state it is in; the answer says what it needs."
    if "422" in operation.get("responses", {}):
        answers["422"] = "Invalid input: each bad field is named, with what is wrong with it."
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        answers["507"] = "The scan store is full: nothing of the file was kept; send it later."
    answers["503"] = "The database is away for a moment; `Retry-After` says when to try again."
    return answers


def _documenting_errors(
    app: FastAPI, generate: Callable[[], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document with the error answers the handlers above give: the `Problem`
    body, where FastAPI would document its own validation error that this service never
    sends, and 400/401/403/404/409/503/507 where they can happen."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem_schema.pop("$defs", {}))
        schemas["Problem"] = problem_schema
        for path, operations in document.get("paths", {}).items():
            if not path.startswith("/api/v1/"):
                continue
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status, description in _error_answers(path, method, operation).items():
                    own = responses.get(status, {}).get("description")
                    if own and own != "Validation Error":  # a route's own words win
                        description = own
                    responses[status] = {"description": description, "content": _PROBLEM}
                    if status == "503":
                        responses[status]["headers"] = _RETRY_AFTER
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = document
        return document

    return openapi
