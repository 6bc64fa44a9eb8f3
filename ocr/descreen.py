"""Taking a halftone screen off a black-and-white page before anything on it is judged.

A PC fax (Ghostscript's `tiffg3`/`tiffg4`, as HylaFAX and CUPS fax queues run them) halftones
every grey it meets: the paper of a scanned page, never quite white, becomes a grid of dots
over the whole page, a pale stamp a denser screen of them, and a fax machine's "photo" mode
dithers grey the same way. Judged dot by dot, the paper itself would be ink everywhere: a
ring or a frame can be found in it, and a signature drowns in it.

The dots of a screen are told by their size (far smaller than a letter's strokes) and by
their number (many within a few millimetres, where a clean fax has a speck now and then).
A page screened that widely is given back the grey its dots stood for, their local density:
its paper comes out light grey, a pale stamp mid grey, letters and a pen's strokes dark.
The party's ink is judged on that page. At a standard fax's 98 lines an inch the printed
values are read from the letters made whole (`whole_letters`): the same density, averaged
over less and cut where the dots cover nearly half the paper, gives them back in black and
white without the holes the screen leaves in them or the paper's dots around them; cut a
little lower, for a value that did not read so, a little bolder.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr import blobs

# A screen's dot, or a dither's, is under a tenth of a square millimetre; the smallest mark of
# the form's lettering (the dot over an i, a Polish diacritic) is larger.
DOT_MAX_MM2 = 0.1
# Screened paper has a dot every millimetre or two: 15 to 40 in a 6 mm square (Ghostscript's
# fax devices). A clean fax's specks, even on a bad line, are fewer than 16 in any.
WINDOW_MM = 6.0
MIN_DOTS_IN_WINDOW = 16
# A page screened over this share of it went through the screen whole (its lighter paper
# has only sparser dots); less is a dithered stamp or picture on clean paper.
MIN_SCREENED_SHARE = 0.04
# Paper scanned white leaves no dots on the paper, but the screen is in the marks: every grey
# line of the form, a pen's strokes, a stamp are chains of dots. Marks under 0.3 mm² hold a
# fifth or more of such a page's ink (18-36 % over the bench's fine PC faxes); on a fax
# machine's page, thresholded or dithered, they are a speck, an accent, an i's dot (under 3 %).
MARK_DOT_MAX_MM2 = 0.3
MIN_DOTTED_INK_SHARE = 0.08
# Dots averaged over about their own spacing give back the grey they stood for: about a line
# and a third of the fax's (0.35 mm at a standard fax's 98 lines an inch). The screen's dots
# lie as close as its lines: averaged over more, a fine fax's pen stroke, a few dots wide, is
# spread into the paper and comes out lighter than ink.
SMOOTHING_LINES = 1.35
# Letters are averaged over less, or their strokes run together, and are ink where the dots
# cover a share of the paper about a stroke's edge: more breaks thin strokes, less fills a 0
# into an 8. Each share loses different characters: a value read as printed at any is read
# as printed. Averaged over 0.25 mm, a bold l's stem, 0.7 mm wide, came out broken where the
# screen left holes in it, and was read as an i ("mebie.net.pi"). Genuine pages of the
# bench's standard PC faxes sent to a person (20 cases each, grey and colour; grey's next 20):
# 18, 17 and 27 of 40 at 0.25 mm cut at 45 and 40 %; 11, 11 and 19 at 0.18 mm cut at 45, 40
# and 30 % (at 0.18 mm and 45 and 40 %: 13 of grey's first 40; at 0.15 mm: 12; at 0.12 mm,
# the letters' dots no longer joined: 27).
LETTER_SMOOTHING_MM = 0.18
LETTER_SHARES = (0.45, 0.40, 0.30)
# At a fine fax's 196 lines a letter's dots are smaller and lie closer: averaged over less and
# cut lower. Over the bench's fine PC faxes, of 20 values tesseract misread on the page as it
# came (an l of a domain read as i or ł, an o as a), 16 read as printed at 0.15 mm and 30 %,
# 15 at 0.2 mm, 14 at 0.125 mm, 12 or fewer cut at 40 or 50 %. Cut at 40 % as well, where
# 30 % did not read as printed: genuine pages sent to a person, 20 cases each, grey, colour
# and grey's next 20, 6, 7 and 11 of 40 at 30 % alone; 4, 4 and 7 at 30 and 40 %.
FINE_LETTER_SMOOTHING_MM = 0.15
FINE_LETTER_SHARES = (0.30, 0.40)
FINE_MIN_DPI = 150.0  # lines an inch: a fine fax has 196, a standard one 98


@dataclass(frozen=True)
class Descreened:
    """The page with its screen taken off, and how much of it was screened: the share of the
    page whose paper is dots, and the share of its ink in dots (the marks' screen)."""

    page: np.ndarray
    screened_share: float  # of the page's area; 0.0 when the paper was not screened
    dots: int
    dotted_ink: float = 0.0  # of the page's ink, in marks under MARK_DOT_MAX_MM2
    found: bool = False  # whether the screen was taken off: False, the page is as it came


def descreen(gray: np.ndarray, dpi: float, coarse_dpi: float) -> Descreened:
    """`gray`, a black-and-white page (0 and 255, square pixels at `dpi`, sent with
    `coarse_dpi` lines an inch: a fax's 98 or 196), with any halftone screen on it replaced
    by the grey it stood for. A page without one comes back as it is."""
    px_per_mm = dpi / 25.4
    ink = (gray < 128).astype(np.uint8)
    if not ink.any():
        return Descreened(gray, 0.0, 0)
    _, _, stats, centroids = blobs.components(ink)
    areas = stats[:, cv2.CC_STAT_AREA]
    small = areas <= max(2.0, DOT_MAX_MM2 * px_per_mm**2)
    small[0] = False
    marks = areas <= MARK_DOT_MAX_MM2 * px_per_mm**2
    marks[0] = False
    dotted_ink = float(areas[marks].sum()) / max(1, int(areas[1:].sum()))
    share = _screened_share(gray.shape, centroids[small], px_per_mm)
    if share < MIN_SCREENED_SHARE and dotted_ink < MIN_DOTTED_INK_SHARE:
        # A pale stamp dithered on clean paper (a fax machine's photo mode): its dots are
        # its ink, and the stamp search reads them as they are.
        return Descreened(gray, 0.0, 0, dotted_ink)
    # Every mark on the page came through the screen: grey text and a pen's grey strokes are
    # dot patterns too, only denser. All of it is given back as grey.
    smoothing = SMOOTHING_LINES * dpi / coarse_dpi
    density = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), smoothing)
    page = np.clip(255.0 * (1.0 - density), 0, 255).astype(np.uint8)
    share = share if share >= MIN_SCREENED_SHARE else 0.0
    return Descreened(page, share, int(np.count_nonzero(small)), dotted_ink, found=True)


def _screened_share(shape: tuple[int, ...], dots: np.ndarray, px_per_mm: float) -> float:
    """The share of the page with MIN_DOTS_IN_WINDOW of `dots` (their centres, x and y)
    within a window of WINDOW_MM about it: where the paper itself is a screen."""
    if len(dots) < MIN_DOTS_IN_WINDOW:
        return 0.0
    # A count of dot centres over a window around each pixel, on a grid of a millimetre
    # (the count, not the page, needs no finer grid).
    cell = max(1, round(px_per_mm))
    rows, cols = -(-shape[0] // cell), -(-shape[1] // cell)
    centres = np.zeros((rows, cols), np.float32)
    cy = np.minimum((dots[:, 1] // cell).astype(int), rows - 1)
    cx = np.minimum((dots[:, 0] // cell).astype(int), cols - 1)
    np.add.at(centres, (cy, cx), 1.0)
    window = max(1, round(WINDOW_MM))
    counts = cv2.boxFilter(centres, -1, (window, window), normalize=False)
    return float((counts >= MIN_DOTS_IN_WINDOW).mean())


def whole_letters(gray: np.ndarray, dpi: float, coarse_dpi: float) -> list[np.ndarray]:
    """`gray`, a screened black-and-white page (square pixels at `dpi`, sent with `coarse_dpi`
    lines an inch), with its letters made whole, once for each share of LETTER_SHARES (or at
    a fine fax's lines, FINE_LETTER_SHARES): black where the dots are dense enough to be a
    letter's stroke, white elsewhere, the paper's scattered dots included."""
    fine = coarse_dpi >= FINE_MIN_DPI
    smoothing = FINE_LETTER_SMOOTHING_MM if fine else LETTER_SMOOTHING_MM
    shares = FINE_LETTER_SHARES if fine else LETTER_SHARES
    ink = (gray < 128).astype(np.float32)
    density = cv2.GaussianBlur(ink, (0, 0), smoothing * dpi / 25.4)
    return [np.where(density > share, 0, 255).astype(np.uint8) for share in shares]
