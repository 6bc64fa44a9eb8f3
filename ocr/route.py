"""Routing a page: find the QR code (zxing-cpp, QR only) and tell ours from foreign ones.

zxing-cpp restricted to QR codes takes about 12 ms on a whole 300 dpi page and 0.2 ms on the
known crop (DESIGN.md). A fax's speckle defeats it until a 3×3 median filter cleans it; a
worn copy's grey bands and broken modules until the page is thresholded another way. A fold
shears a band of the symbol, which zxing's grid cannot follow: `read_code_by_its_patterns`
registers it by the patterns every symbol of ours shares; `read_code_as_printed` onto the one
printed for the case its case number names.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from documents import layout, page_code
from documents.layout import Box
from ocr import qr_patterns
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


def _decode(
    image: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage
) -> list[FoundCode]:
    try:
        results = zxingcpp.read_barcodes(
            image, formats=_QR, try_rotate=True, try_downscale=True, binarizer=binarizer
        )
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
    """Every QR code on the whole page; retried median-filtered (a fax's speckle), thresholded
    otherwise (a worn copy's bands of grey, modules worn pale), its halftone screen taken
    off, and at half the resolution: each as the bench asks whether any reader decodes it."""
    found = _decode(gray)
    if not found:
        found = _decode(cv2.medianBlur(gray, 3))
    for binarizer in (zxingcpp.Binarizer.GlobalHistogram, zxingcpp.Binarizer.FixedThreshold):
        if not found:
            found = _decode(gray, binarizer)
    # A PC fax's halftone dots (its screen taken off: smoothed, then thresholded).
    for smoothed in (gray, cv2.medianBlur(gray, 5), cv2.GaussianBlur(gray, (0, 0), 2.0)):
        if not found:
            _, otsu = cv2.threshold(smoothed, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            found = _decode(otsu)
    if not found:
        half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        found = [FoundCode(f.text, (2 * f.centre[0], 2 * f.centre[1])) for f in _decode(half)]
    return found


def read_code_in_box(gray: np.ndarray, alignment: Alignment) -> list[FoundCode]:
    """Look again where the layout says the QR code is, upright and enlarged.

    A symbol damaged by fax streaks or a pen stroke is often still read from a clean,
    upright, well-scaled crop, with a threshold chosen for just that crop.
    """
    crop = alignment.warp(gray, QR_SEARCH_BOX, px_per_mm=10.0)
    cleaned = cv2.medianBlur(crop, 3)
    _, otsu = cv2.threshold(cleaned, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # A worn copy's band of grey across part of the symbol: each module against its own
    # neighbourhood (three modules square).
    local = cv2.adaptiveThreshold(
        cleaned, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 25, 10
    )
    for image in (crop, cleaned, otsu, local):
        found = _decode(image)
        if found:
            # Report the centre in scan pixels, as `find_codes` does.
            centre = alignment.image_point(*layout.QR_CODE.centre)
            return [FoundCode(f.text, centre) for f in found]
    return []


def read_code_by_its_patterns(gray: np.ndarray, alignment: Alignment) -> list[FoundCode]:
    """The QR symbol near the box, registered by the function patterns every symbol of our
    kind shares and no code's data decides (`qr_patterns`), its modules sampled from the
    page, redrawn clean and decoded.

    Nothing of any code enters the registration: a text read so was read from the page, as
    zxing's own reading is, and counts as the page's code (its MAC checked as any other)."""
    centre = alignment.image_point(*layout.QR_CODE.centre)
    for symbol in qr_patterns.symbols(gray, alignment):
        found = [f for f in _decode(symbol) if page_code.is_ours(f.text)]
        if found:
            return [FoundCode(f.text, centre) for f in found]
    return []


# Registering a folded symbol: how far around the QR box it is looked for (a fold moves a
# band of the page by up to 7 mm), the quiet zone kept around it, and the scale (6.6 px a
# module: Farneback's window of 15 px spans two).
_AS_PRINTED_SEARCH_MM = 10.0
_AS_PRINTED_MARGIN_MM = 4.0
_AS_PRINTED_PX_PER_MM = 8.0
# The registration smoothed over this many pixels (about 1.5 modules) leans less on the
# symbol it registers onto, so that a symbol printed in its place reads as itself.
_AS_PRINTED_SMOOTHING_PX = 10.0
# `another_code_there`: codes differing from the printed one in their MAC only; the share of
# modules a symbol of our kind agrees with them in, on average, at the least (a blank box or a
# blot: about half); and how much better than that average a damaged symbol of the printed
# code itself agrees with it. Over 45 folded and worn genuine pages it led by 0.11 to 0.19;
# another case's code copied onto a folded page (7 pages), by -0.03 to 0.04.
_DECOYS = 8
_OUR_KIND_AGREEMENT = 0.7
_OWN_CODE_LEAD = 0.08


def read_code_as_printed(gray: np.ndarray, alignment: Alignment, printed: str) -> list[FoundCode]:
    """The QR symbol near the box, decoded once registered onto the symbol of `printed`.

    A fold shears a band of the symbol along the crease, by up to half a module per module:
    zxing's grid, fitted to its corners, misses the modules in between. The symbol is found
    near the box as a whole, then followed piece by piece (dense optical flow) onto the one
    `printed` would draw, and read upright.

    The registration leans toward `printed`: it moves the symbol's pieces to fit it, and over
    96 trials with a code one character away it read about half of the modules where the two
    differ as `printed` has them, never the whole code: a symbol decodes, error correction and
    all, only as its own code. Registered onto codes one character away from their own (the
    case id, the version or the MAC changed, as a forger would print one), the symbols of the
    genuine pages of 60 folded and 31 worn-copied cases that no decoder reads as they lie (16
    pages) read as none of them, in 480 trials, and each as its own code. A text equal to
    `printed` is therefore the page's code, read; a different text of ours is read from the
    page itself (nothing leans toward it), as any decoded code is.
    """
    centre = alignment.image_point(*layout.QR_CODE.centre)
    for upright in _registered(gray, alignment, printed).uprights:
        found = _decode(upright)
        if found:
            return [FoundCode(f.text, centre) for f in found]
    return []


def another_code_there(gray: np.ndarray, alignment: Alignment, printed: str) -> bool:
    """Whether the QR symbol near the box is of our kind but another code than `printed`:
    one that cannot be read (`read_code_as_printed`), yet agrees, registered onto `printed`,
    hardly better than with codes that differ from it in their MAC alone.

    The registration leans toward whatever it registers onto, the same for every code: the
    printed code's own symbol, damaged, still agrees with it better than with the others;
    another case's code (a copied QR code) agrees with each alike.
    """
    own = _registered(gray, alignment, printed).agreement
    body = printed.rpartition(":")[0]
    decoys = []
    for index in range(_DECOYS):
        digest = hashlib.sha256(f"decoy {index}|{body}".encode()).digest()
        decoy = f"{body}:{base64.b32encode(digest[: page_code.MAC_BYTES]).decode()}"
        decoys.append(_registered(gray, alignment, decoy).agreement)
    alike = float(np.mean(decoys))
    return alike >= _OUR_KIND_AGREEMENT and own < alike + _OWN_CODE_LEAD


@dataclass(frozen=True)
class _Registration:
    """A symbol near the QR box registered onto a code's symbol: upright, the registration
    smoothed and as found; and the share of the code's modules it agrees with (as found)."""

    uprights: tuple[np.ndarray, np.ndarray]
    agreement: float


def _registered(gray: np.ndarray, alignment: Alignment, printed: str) -> _Registration:
    search = Box(
        layout.QR_CODE.x - _AS_PRINTED_SEARCH_MM,
        layout.QR_CODE.y - _AS_PRINTED_SEARCH_MM,
        layout.QR_CODE.w + 2 * _AS_PRINTED_SEARCH_MM,
        layout.QR_CODE.h + 2 * _AS_PRINTED_SEARCH_MM,
    )
    around = alignment.warp(gray, search, _AS_PRINTED_PX_PER_MM)
    modules = page_code.qr_modules(printed)
    symbol = _drawn_symbol(modules)
    # Where the whole symbol fits best, then its pieces around there.
    fit = cv2.matchTemplate(
        cv2.GaussianBlur(around, (0, 0), 2.0),
        cv2.GaussianBlur(symbol, (0, 0), 2.0),
        cv2.TM_CCOEFF_NORMED,
    )
    _, _, _, (x, y) = cv2.minMaxLoc(fit)
    seen = np.ascontiguousarray(around[y : y + symbol.shape[0], x : x + symbol.shape[1]])
    flow = cv2.calcOpticalFlowFarneback(
        cv2.GaussianBlur(symbol, (0, 0), 1.5),
        cv2.GaussianBlur(seen, (0, 0), 1.5),
        None,  # type: ignore[call-overload]  # no flow to start from: OpenCV allows None
        pyr_scale=0.5,
        levels=3,
        winsize=15,
        iterations=5,
        poly_n=7,
        poly_sigma=1.5,
        flags=0,
    )
    grid_x, grid_y = np.meshgrid(
        np.arange(symbol.shape[1], dtype=np.float32), np.arange(symbol.shape[0], dtype=np.float32)
    )

    def upright(moved: np.ndarray) -> np.ndarray:
        return cv2.remap(
            seen,
            grid_x + moved[..., 0],
            grid_y + moved[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )

    smoothed = upright(cv2.GaussianBlur(flow, (0, 0), _AS_PRINTED_SMOOTHING_PX))
    as_found = upright(flow)
    return _Registration((smoothed, as_found), _agreement(as_found, modules))


def _agreement(upright: np.ndarray, modules: np.ndarray) -> float:
    """The share of `modules` an upright registered symbol shows as they are (dark or light,
    at each module's centre, against a threshold chosen for the symbol)."""
    count = modules.shape[0]
    margin = _AS_PRINTED_MARGIN_MM * _AS_PRINTED_PX_PER_MM
    step = layout.QR_CODE.w * _AS_PRINTED_PX_PER_MM / count
    centres = np.round(margin + (np.arange(count) + 0.5) * step).astype(int)
    seen = cv2.GaussianBlur(upright, (0, 0), 1.0)[np.ix_(centres, centres)]
    threshold, _ = cv2.threshold(seen.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(np.mean((seen < threshold) == modules))


def _drawn_symbol(modules: np.ndarray) -> np.ndarray:
    """A QR symbol's modules as the form prints them, at _AS_PRINTED_PX_PER_MM, in its quiet
    zone."""
    side = round(layout.QR_CODE.w * _AS_PRINTED_PX_PER_MM)
    drawn = cv2.resize(
        np.where(modules, 0, 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST
    )
    margin = round(_AS_PRINTED_MARGIN_MM * _AS_PRINTED_PX_PER_MM)
    return cv2.copyMakeBorder(drawn, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255)
