"""The application's errors; `cesja.api.errors` maps these and the lower layers' to HTTP answers.

CesjaError                       code, message, http_status
├── ConfigurationError           bad settings (refused at start-up)
├── NotFound                     404
├── Conflict                     409, e.g. an illegal transition
└── BadInput                     400/413/415/422 for uploads and bodies
"""

from __future__ import annotations


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
