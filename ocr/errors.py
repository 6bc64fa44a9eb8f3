"""The ocr layer's errors, each with a stable code; `cesja` maps codes to HTTP answers.

OcrError                  code, message
├── UnsupportedType       not a PDF, TIFF, PNG or JPEG by its content
├── CorruptFile           a supported type that cannot be decoded
├── EncryptedFile         a PDF that needs a password
├── TooManyPages          more pages than the configured limit
├── TooComplex            a page that would cost more to decode or draw than a page may
└── ToolMissing           tesseract or its Polish language data is not installed
"""

from __future__ import annotations


class OcrError(Exception):
    code = "ocr_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnsupportedType(OcrError):
    code = "unsupported_type"


class CorruptFile(OcrError):
    code = "corrupt_file"


class EncryptedFile(OcrError):
    code = "encrypted_file"


class TooManyPages(OcrError):
    code = "too_many_pages"


class TooComplex(OcrError):
    code = "too_complex"


class ToolMissing(OcrError):
    code = "tool_missing"
