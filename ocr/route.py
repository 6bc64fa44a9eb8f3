"""Routing a page: find the QR code (zxing-cpp, QR only) and tell ours from foreign ones.

zxing-cpp restricted to QR codes takes about 12 ms on a whole 300 dpi page and 0.2 ms on the
known crop (DESIGN.md). A fax's speckle defeats it until a 3×3 median filter cleans it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from documents import layout
from documents.layout import Box
from ocr.align import Alignment

log = logging.getLogger("ocr.route")

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
# The QR box with its quiet zone, as the reader crops it once the page is aligned.
_QUIET_MM = 4.0
QR_SEARCH_BOX = Box(
    layout.QR_CODE.x - _QUIET_MM,
    layout.QR_CODE.y - _QUIET_MM,
    layout.QR_CODE.w + 2 * _QUIET_MM,
    layout.QR_CODE.h + 2 * _QUIET_MM,
)


# "CS-ABCD-EFGH  wersja 1  strona 1/2", as OCR may give it back: spaces lost, "CS" misread,
# letters and digits mixed. Each part is looked for on its own.
_CASE_ID = re.compile(r"([0-9A-Z]{4})-([0-9A-Z]{4})")
_VERSION = re.compile(r"WERSJA([0-9OIL]{1,4})")
_PAGE = re.compile(r"STR[O0]NA([12IL])/")
# Case ids are written in digits and the letters CEFHKMNPRVWXY only (cesja.cases): a letter
# outside them, read where an id is printed, is the digit it resembles.
CASE_ID_FOLD = str.maketrans("ODQILJZSBGAT", "000111258647")


@dataclass(frozen=True)
class PrintedNumber:
    """The case, and where readable the form version and page, from the printed case number."""

    case_id: str
    form_version: int | None
    page: int | None


def parse_case_number(text: str) -> PrintedNumber | None:
    """The printed case number in an OCR reading, or None when the case id is not there."""
    folded = "".join(text.upper().split())
    found = _CASE_ID.search(folded)
    if found is None:
        return None
    first, second = (g.translate(CASE_ID_FOLD) for g in found.groups())
    version = _VERSION.search(folded[found.end() :])
    page = _PAGE.search(folded[found.end() :])
    return PrintedNumber(
        f"CS-{first}-{second}",
        int(version.group(1).translate(CASE_ID_FOLD)) if version else None,
        int(page.group(1).translate(CASE_ID_FOLD)) if page else None,
    )


@dataclass(frozen=True)
class FoundCode:
    """A decoded QR symbol and where its centre is on the scan (pixels)."""

    text: str
    centre: tuple[float, float]


def _decode(image: np.ndarray) -> list[FoundCode]:
    try:
        results = zxingcpp.read_barcodes(image, formats=_QR, try_rotate=True, try_downscale=True)
    except Exception:  # zxing must never take a worker down on an odd image (DESIGN.md)
        log.exception("zxing-cpp failed on an image of shape %s", image.shape)
        return []
    found = []
    for r in results:
        p = r.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
        found.append(FoundCode(r.text, (sum(xs) / 4, sum(ys) / 4)))
    return found


def find_codes(gray: np.ndarray) -> list[FoundCode]:
    """Every QR code on the whole page; a median-filtered retry for fax speckle."""
    found = _decode(gray)
    if not found:
        found = _decode(cv2.medianBlur(gray, 3))
    return found


def read_code_in_box(gray: np.ndarray, alignment: Alignment) -> list[FoundCode]:
    """Look again where the layout says the QR code is, upright and enlarged.

    A symbol damaged by fax streaks or a pen stroke is often still read from a clean,
    upright, well-scaled crop, with a threshold chosen for just that crop.
    """
    crop = alignment.warp(gray, QR_SEARCH_BOX, px_per_mm=10.0)
    cleaned = cv2.medianBlur(crop, 3)
    _, otsu = cv2.threshold(cleaned, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for image in (crop, cleaned, otsu):
        found = _decode(image)
        if found:
            # Report the centre in scan pixels, as `find_codes` does.
            centre = alignment.image_point(*layout.QR_CODE.centre)
            return [FoundCode(f.text, centre) for f in found]
    return []
