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
# Dots averaged over about their own spacing give back the grey they stood for.
SMOOTHING_MM = 0.35
# Letters are averaged over less, or their strokes run together (over the bench's
# standard-resolution PC faxes, 13 genuine pages of 32 read as printed at 0.25 mm, 5 at
# 0.3), and are ink where the dots cover a share of the paper about a stroke's edge: more
# breaks thin strokes, less fills a 0 into an 8. Each share loses different characters: a
# value read as printed at either is read as printed (18 pages of 32 at both, 13 at 45 %
# alone, 12 at 40 % alone).
LETTER_SMOOTHING_MM = 0.25
LETTER_SHARES = (0.45, 0.40)


@dataclass(frozen=True)
class Descreened:
    """The page with its screen taken off, and how much of it was screened."""

    page: np.ndarray
    screened_share: float  # of the page's area; 0.0 when the page was left as it was
    dots: int

    @property
    def found(self) -> bool:
        return self.screened_share > 0


def descreen(gray: np.ndarray, dpi: float) -> Descreened:
    """`gray`, a black-and-white page (0 and 255, square pixels at `dpi`), with any halftone
    screen on it replaced by the grey it stood for. A page without one comes back as it is."""
    px_per_mm = dpi / 25.4
    ink = (gray < 128).astype(np.uint8)
    if not ink.any():
        return Descreened(gray, 0.0, 0)
    _, _, stats, centroids = blobs.components(ink)
    areas = stats[:, cv2.CC_STAT_AREA]
    small = areas <= max(2.0, DOT_MAX_MM2 * px_per_mm**2)
    small[0] = False
    if int(small.sum()) < MIN_DOTS_IN_WINDOW:
        return Descreened(gray, 0.0, 0)
    # Where the dots are many: a count of dot centres over a window around each pixel, on a
    # grid of a millimetre (the count, not the page, needs no finer grid).
    cell = max(1, round(px_per_mm))
    rows, cols = -(-gray.shape[0] // cell), -(-gray.shape[1] // cell)
    centres = np.zeros((rows, cols), np.float32)
    cy = np.minimum((centroids[small, 1] // cell).astype(int), rows - 1)
    cx = np.minimum((centroids[small, 0] // cell).astype(int), cols - 1)
    np.add.at(centres, (cy, cx), 1.0)
    window = max(1, round(WINDOW_MM))
    counts = cv2.boxFilter(centres, -1, (window, window), normalize=False)
    screened_cells = (counts >= MIN_DOTS_IN_WINDOW).astype(np.uint8)
    share = float(screened_cells.mean())
    if share < MIN_SCREENED_SHARE:
        # A pale stamp dithered on clean paper (a fax machine's photo mode): its dots are
        # its ink, and the stamp search reads them as they are.
        return Descreened(gray, 0.0, 0)
    # Every mark on the page came through the screen: grey text and a pen's grey strokes are
    # dot patterns too, only denser. All of it is given back as grey.
    density = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), SMOOTHING_MM * px_per_mm)
    page = np.clip(255.0 * (1.0 - density), 0, 255).astype(np.uint8)
    return Descreened(page, share, int(np.count_nonzero(small)))


def whole_letters(gray: np.ndarray, dpi: float) -> list[np.ndarray]:
    """`gray`, a screened black-and-white page (square pixels at `dpi`), with its letters
    made whole, once for each of LETTER_SHARES: black where the dots are dense enough to be
    a letter's stroke, white elsewhere, the paper's scattered dots included."""
    ink = (gray < 128).astype(np.float32)
    density = cv2.GaussianBlur(ink, (0, 0), LETTER_SMOOTHING_MM * dpi / 25.4)
    return [np.where(density > share, 0, 255).astype(np.uint8) for share in LETTER_SHARES]
