"""Log lines, as text or as JSON (`CESJA_LOG_FORMAT`), each naming the case, scan and job it
concerns when they are known.

Whoever handles a job or a request says so once (`about`); every line logged meanwhile, by
any module, carries those ids. A request's case and scan come from its route's path
parameters, read when a line is written (routing happens after the request starts). A
customer's link is a key to the case: the access log never shows one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A worker process's lines carry its pid: the `leased_by` of the jobs it runs.
PROCESS_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
# The ids a line may carry, in the order a JSON line lists them.
IDS = ("case_id", "scan_id", "job_id", "job_kind")
# Path parameters that name what a request concerns; no other parameter is ever logged (the
# customer's token is one).
REQUEST_IDS = ("case_id", "scan_id")
# A customer's link (`/c/<token>…`) as the access log shows it.
_CUSTOMER_LINK = re.compile(r"^/c/[^/?#]+")


@dataclass(frozen=True)
class LogContext:
    case_id: str | None = None
    scan_id: str | None = None
    job_id: int | None = None
    job_kind: str | None = None
    # The ASGI scope of the request being handled: its path parameters once routed.
    request: MutableMapping[str, Any] | None = None


_NOTHING_KNOWN = LogContext()
_context: contextvars.ContextVar[LogContext | None] = contextvars.ContextVar(
    "cesja_log_context", default=None
)


@contextmanager
def about(**ids: Any) -> Iterator[None]:
    """Lines logged inside carry these ids (and those already known); afterwards, as before."""
    token = _context.set(replace(_context.get() or _NOTHING_KNOWN, **ids))
    try:
        yield
    finally:
        _context.reset(token)


def note(**ids: Any) -> None:
    """Ids learnt half-way (the case a page turned out to belong to), until the enclosing
    `about` ends."""
    _context.set(replace(_context.get() or _NOTHING_KNOWN, **ids))


def current_ids() -> dict[str, Any]:
    """The ids known here and now."""
    context = _context.get() or _NOTHING_KNOWN
    found: dict[str, Any] = {}
    params = (context.request or {}).get("path_params") or {}
    for name in REQUEST_IDS:
        if isinstance(params.get(name), str):
            found[name] = params[name]
    for name in IDS:
        value = getattr(context, name)
        if value is not None:
            found[name] = value
    return found


class _WithIds(logging.Filter):
    """Puts the ids known where a line is logged on the record, and keeps customers' links
    out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.cesja_ids = current_ids()
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            args = list(record.args)
            if len(args) >= 3 and isinstance(args[2], str):
                args[2] = _CUSTOMER_LINK.sub("/c/…", args[2])
                record.args = tuple(args)
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the process, and the ids known."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        line.update(getattr(record, "cesja_ids", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(log_format: LogFormat, *, level: int = logging.INFO, text: str = TEXT_FORMAT) -> None:
    """Send every logger's lines (uvicorn's too) to standard error, in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_WithIds())
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(text))
    logging.basicConfig(level=level, handlers=[handler], force=True)
