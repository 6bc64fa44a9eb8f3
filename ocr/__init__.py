"""From received scan bytes to page images to `PageReading`s: route, align, read, find ink.

An electronically signed PDF of a case's form is read before any of that, from its bytes and
signatures: `signed` (the page), `esign` (what the file shows and the rules for each party's
checks), `pades` (pyHanko's validation, imported only for a file that carries a signature).

Imports only `documents`; takes its options (secret, tessdata path, trust) as arguments.
"""

from ocr._exec.tesseract import check as check_tesseract
from ocr.errors import (
    CorruptFile,
    EncryptedFile,
    OcrError,
    TooComplex,
    ToolMissing,
    TooManyPages,
    UnsupportedType,
)
from ocr.esign import SignatureReport, SignedForm, TrustOptions, load_trust_roots
from ocr.fields import FieldReading
from ocr.ink import InkFinding
from ocr.pages import FileInfo, PageImage, iter_pages, probe_file, read_page_image, sniff
from ocr.reading import Lookup, Outcome, PageReading, read_page
from ocr.signed import read_signed_page
from ocr.warm import limit_threads, warm_up

__all__ = [
    "CorruptFile",
    "EncryptedFile",
    "FieldReading",
    "FileInfo",
    "InkFinding",
    "Lookup",
    "OcrError",
    "Outcome",
    "PageImage",
    "PageReading",
    "SignatureReport",
    "SignedForm",
    "TooComplex",
    "TooManyPages",
    "ToolMissing",
    "TrustOptions",
    "UnsupportedType",
    "check_tesseract",
    "iter_pages",
    "limit_threads",
    "load_trust_roots",
    "probe_file",
    "read_page",
    "read_page_image",
    "read_signed_page",
    "sniff",
    "warm_up",
]
