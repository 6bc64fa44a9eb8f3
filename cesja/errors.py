"""The application's errors; `cesja.api.errors` maps these and the lower layers' to HTTP answers.

CesjaError                       code, message, http_status
├── ConfigurationError           bad settings (refused at start-up; `cesja` exits 2)
├── Unauthenticated, Forbidden   401, 403 (cesja.api.deps)
├── NotFound                     404
│   ├── UnknownCheck             a check the case does not have (cesja.casework.lifecycle)
│   └── DeliveryNotFound         (cesja.casework.webhooks)
├── Conflict                     409
│   ├── TransitionRefused        an event the case's state does not allow, with what it needs
│   ├── CaseClosed               a decision on a closed case (cesja.casework.lifecycle)
│   ├── NotResendable            a notice that is neither dead nor gone (cesja.casework.webhooks)
│   └── KeyRetired               a form whose page-code key was retired (cesja.casework.forms)
├── BadInput                     400/413/415/422 for uploads and bodies
│   ├── InvalidCase              every bad field by its path (cesja.casework.cases)
│   └── TooLarge                 413 (cesja.storage)
├── StoreFull                    507: no room in the scan store, nothing kept (cesja.storage)
└── DatabaseUnavailable          503 with Retry-After: the database is away for a moment

The lower layers' own errors (documents.DocumentsError, ocr.OcrError, workflow's) are mapped
where they are met: intake turns an unreadable file into BadInput with 415 or 422. Words
that came from a library or the system pass `without_paths` before they leave the server.
SQLAlchemy's errors that `database_unavailable` recognises (a connection refused or lost, a
lock not granted in time, no pooled connection free) are answered as DatabaseUnavailable; any
other database error is a bug, answered 500.
"""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy import exc as sa

# A file's path in a library's or the system's words: quoted, as Python shows one (relative
# or absolute), or an absolute one standing alone.
_PATH = re.compile(r"""'[^'\n]*/[^'\n]*'|"[^"\n]*/[^"\n]*"|(?<![\w.:/~-])/[^\s'",;)]+""")


def without_paths(text: str) -> str:
    """`text` fit to leave the server: every file path in it (a decoder or the system naming
    the file it was given, in the scan store) shown as "…"."""
    return _PATH.sub("…", text)


class CesjaError(Exception):
    code = "error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status


class ConfigurationError(CesjaError, ValueError):
    code = "configuration"
    http_status = 500


class NotFound(CesjaError):
    code = "not_found"
    http_status = 404


class Conflict(CesjaError):
    code = "conflict"
    http_status = 409


class BadInput(CesjaError):
    code = "bad_input"
    http_status = 422


class DatabaseUnavailable(CesjaError):
    """The database did not answer: restarting, unreachable, or locked by another writer."""

    code = "database_unavailable"
    http_status = 503
    # A PostgreSQL restart or fail-over, or a writer ahead in SQLite's queue, takes seconds.
    retry_after_seconds = 5


def database_unavailable(err: BaseException) -> bool:
    """Whether `err` says the database is away for now, not that what was asked is wrong: the
    same request a few seconds later may well go through."""
    if isinstance(err, sa.TimeoutError):  # every pooled connection busy for the pool's timeout
        return True
    if not isinstance(err, sa.DBAPIError):
        return False
    if err.connection_invalidated:  # SQLAlchemy saw the connection drop
        return True
    if isinstance(err.orig, sqlite3.OperationalError):
        # SQLite says OperationalError for a missing table or bad SQL too: only a lock waits.
        return "locked" in str(err.orig)
    # On PostgreSQL: refused, shut down, starting up, too many connections, deadlock.
    return isinstance(err, sa.OperationalError)


def database_said(err: BaseException) -> str:
    """The first line of the driver's message, for the log: SQLAlchemy's own message repeats
    the statement's parameters, personal data among them."""
    said = str(getattr(err, "orig", None) or err).strip().splitlines()
    return said[0] if said else type(err).__name__
