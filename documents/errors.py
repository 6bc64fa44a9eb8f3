"""The documents layer's errors, each with a stable code; `cesja` maps them to answers.

DocumentsError            code, message
├── DoesNotFit            a value too long, or in letters the font lacks, to print readably
├── InvalidCode           a QR payload that is not ours or whose MAC is wrong
└── ToolMissing           an external program (pdftoppm) or font is not installed
"""

from __future__ import annotations


class DocumentsError(Exception):
    code = "documents_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DoesNotFit(DocumentsError):
    """`field` cannot be printed at the smallest readable size in the lines its box has."""

    code = "does_not_fit"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class InvalidCode(DocumentsError):
    """A page code that fails: `foreign` when it is not a Cesja code at all."""

    code = "invalid_code"

    def __init__(self, message: str, *, foreign: bool = False):
        super().__init__(message)
        self.foreign = foreign


class ToolMissing(DocumentsError):
    code = "tool_missing"
