"""The form's own lines a fold moved, told from the party's ink in the signing area.

A sheet folded and unfolded shifts a band of the page along its crease, by up to about 7 mm
(augraphy's folds: 1–2 % of the page over a band of 5–10 %), the shift growing to the crease
and falling after it. Where the band crosses a box the form printed, the box's edge comes out
bent away from where it was printed: a line the form explains nowhere, with a kink at the
crease, which no straight-rule test takes for a frame's edge. Judged as ink, it reads as a
signature's stroke or as a tick.

A printed line is followed in short pieces. A piece whose printed place holds no ink, while a
line of its length lies parallel to it within the fold's reach (straight or slanted as a
shear draws it), has been moved: the strip between where it was printed and where it lies is
taken off the ink (a thin strip, so that ink elsewhere in the box is still judged), and the
reading's note says where. A piece found in place, or found nowhere (ink worn away), is left
as it is: nothing there is mistaken for the party's ink. A pen's stroke is not a line of a
piece's length parallel to a printed edge, so it is not taken off; where it lies in a strip
taken off with a moved edge, the box's share under the strips says how much could not be
judged, and past `LOST_SHARE` the box cannot be said signed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from documents.layout import Box
from ocr import blobs

# How far a fold moves a line, at most (mm).
MOVE_MAX_MM = 7.5
# A printed line is followed in pieces this long (mm); a piece is moved when its printed place
# holds ink over less than IN_PLACE of its length and a parallel line within MOVE_MAX_MM covers
# at least FOUND of it. A move smaller than MOVE_MIN_MM is the scan's blur or the zone's own
# registration, not a fold. (Held stricter, 0.3 and 1 mm, two frauds of twenty-one under the
# bench's folds passed.)
PIECE_MM = 3.0
IN_PLACE = 0.5
FOUND = 0.7
MOVE_MIN_MM = 0.7
# A shear slants a line by up to half its run; the slopes tried.
_SLOPES = (-0.5, -0.25, 0.0, 0.25, 0.5)
# The strip taken off: the piece's ends and its two places widened by this (mm).
STRIP_MARGIN_MM = 0.8
# The form's long lines: at least this long (mm).
LONG_MM = 8.0
# The area's registration as a whole is looked for this far (mm), as `ocr.ink` does a zone's.
REGISTER_MM = 1.5
# Past this share of a box under strips taken off, what is in the box cannot be told.
LOST_SHARE = 0.35
# How the reading's note begins (the back office words it in Polish).
NOTE_START = "lines of the form a fold moved in the signing area, left aside at "
NOTE_END = " mm (across × down, from the page's top left corner)"
# The same among the values, on a page read where a fold moved it (`ocr.unfold`).
VALUES_NOTE_START = "lines of the form a fold moved among the values, left aside at "


@dataclass(frozen=True)
class MovedLines:
    """The strips taken off (uint8 over the page aligned at `px_per_mm`) and where they are."""

    mask: np.ndarray
    places: list[Box]  # mm on the page, one per run of moved pieces
    px_per_mm: float

    @classmethod
    def nothing(cls, shape: tuple[int, ...], px_per_mm: float) -> MovedLines:
        """No strips taken off a page aligned as `shape` at `px_per_mm`."""
        return cls(np.zeros(shape, np.uint8), [], px_per_mm)

    def joined(self, other: MovedLines) -> MovedLines:
        """Both's strips and places."""
        return MovedLines(self.mask | other.mask, self.places + other.places, self.px_per_mm)

    @property
    def found(self) -> bool:
        return bool(self.places)

    def share_of(self, box: Box) -> float:
        """The share of `box` under strips taken off."""
        x0, y0, x1, y1 = (round(v * self.px_per_mm) for v in (box.x, box.y, box.right, box.bottom))
        crop = self.mask[max(0, y0) : y1, max(0, x0) : x1]
        return float(crop.mean()) if crop.size else 0.0

    def describe(self, start: str = NOTE_START) -> str:
        """Where the strips lie, for the reading's note: `start` says in which part."""
        named = ", ".join(
            f"{b.x:.0f}–{b.right:.0f} × {b.y:.0f}–{b.bottom:.0f}" for b in self.places
        )
        return start + named + NOTE_END


def moved_lines(
    observed: np.ndarray,
    printed: np.ndarray,
    grown: np.ndarray,
    area: Box,
    px_per_mm: float,
    *,
    long_mm: float = LONG_MM,
    piece_mm: float = PIECE_MM,
    move_min_mm: float = MOVE_MIN_MM,
    in_place_share: float = IN_PLACE,
) -> MovedLines:
    """The form's long lines in `area` a fold moved, on a page aligned to the layout:
    `observed` its ink, `printed` the form's ink and `grown` that ink widened for blur (all
    uint8 masks over the page)."""
    reach = round(MOVE_MAX_MM * px_per_mm)
    x0 = max(0, round(area.x * px_per_mm) - reach)
    y0 = max(0, round(area.y * px_per_mm) - reach)
    x1 = min(observed.shape[1], round(area.right * px_per_mm) + reach)
    y1 = min(observed.shape[0], round(area.bottom * px_per_mm) + reach)
    # The area as a whole where the printing best matches it (the page's registration there,
    # as `ocr.ink` finds it for each zone): a piece is moved only against that.
    sx, sy = _shift(observed, printed, (x0, y0, x1, y1), round(REGISTER_MM * px_per_mm))
    seen = _window(observed, x0 + sx, y0 + sy, x1 - x0, y1 - y0)
    unexplained = seen & (1 - grown[y0:y1, x0:x1])
    lines = printed[y0:y1, x0:x1]
    long_px = round(long_mm * px_per_mm)
    inner = (
        round((area.x * px_per_mm) - x0),
        round((area.y * px_per_mm) - y0),
        round((area.right * px_per_mm) - x0),
        round((area.bottom * px_per_mm) - y0),
    )
    strips = np.zeros(seen.shape, np.uint8)
    for vertical, lines_found in zip((False, True), _long_lines(lines, long_px), strict=True):
        found = _moved_pieces(
            np.ascontiguousarray(seen.T if vertical else seen),
            np.ascontiguousarray(unexplained.T if vertical else unexplained),
            lines_found,
            (inner[1], inner[0], inner[3], inner[2]) if vertical else inner,
            px_per_mm,
            (piece_mm, move_min_mm, in_place_share),
        )
        strips |= found.T if vertical else found
    # The strips lie where the area's ink is, on the page as it came.
    mask = np.zeros(observed.shape, np.uint8)
    x, y = x0 + sx, y0 + sy
    height, width = observed.shape[:2]
    top, left = max(0, y), max(0, x)
    bottom, right = min(height, y + y1 - y0), min(width, x + x1 - x0)
    mask[top:bottom, left:right] = strips[top - y : bottom - y, left - x : right - x]
    return MovedLines(mask, _places(strips, x, y, px_per_mm), px_per_mm)


_Lines = tuple[int, np.ndarray]  # count + 1, and each line's statistics (`ocr.blobs`)


def _long_lines(printed: np.ndarray, long_px: int) -> tuple[_Lines, _Lines]:
    """The form's lines at least `long_px` long in `printed` (a crop of the form's ink): the
    level ones, then the upright ones as level lines of the crop turned (as `_moved_pieces`
    follows them), each as `ocr.blobs.components` counts them and gives their statistics.

    The same crop comes back page after page (the signing area prints no value of the case):
    the answers are kept for the latest few crops, by the ink they hold (about 4 ms a page)."""
    key = (
        hashlib.blake2b(np.packbits(printed).tobytes(), digest_size=16).digest(),
        printed.shape,
        long_px,
    )
    with _lines_lock:
        if key in _lines_kept:
            _lines_kept.move_to_end(key)
            return _lines_kept[key]
    found: list[_Lines] = []
    for vertical in (False, True):
        kernel = np.ones((long_px, 1) if vertical else (1, long_px), np.uint8)
        level = cv2.morphologyEx(printed, cv2.MORPH_OPEN, kernel)
        count, _, stats, _ = blobs.components(np.ascontiguousarray(level.T if vertical else level))
        stats.setflags(write=False)  # kept, and shared by the pages that come after
        found.append((count, stats))
    lines = (found[0], found[1])
    with _lines_lock:
        _lines_kept[key] = lines
        while len(_lines_kept) > _LINES_KEPT:
            _lines_kept.popitem(last=False)
    return lines


_lines_kept: OrderedDict[tuple[bytes, tuple[int, ...], int], tuple[_Lines, _Lines]] = OrderedDict()
_lines_lock = threading.Lock()
_LINES_KEPT = 8


def _shift(
    observed: np.ndarray, printed: np.ndarray, box: tuple[int, int, int, int], search: int
) -> tuple[int, int]:
    """Where (dx, dy, pixels, within `search`) the printing in `box` best matches `observed`:
    matched at half the scale (a sixteenth of the work), to within a pixel, which the pieces'
    own tolerance takes up."""
    x0, y0, x1, y1 = box
    want = printed[y0:y1, x0:x1]
    seen = _window(observed, x0 - search, y0 - search, x1 - x0 + 2 * search, y1 - y0 + 2 * search)
    if not want.any() or not seen.any():
        return 0, 0

    def half(mask: np.ndarray) -> np.ndarray:
        size = (mask.shape[1] // 2, mask.shape[0] // 2)
        return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)

    score = cv2.matchTemplate(half(seen), half(want), cv2.TM_CCOEFF_NORMED)
    _, _, _, (dx, dy) = cv2.minMaxLoc(score)
    return 2 * dx - search, 2 * dy - search


def _window(image: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """`image[y : y + height, x : x + width]`, zeros where that lies off the image."""
    out = np.zeros((height, width), image.dtype)
    top, left = max(0, y), max(0, x)
    bottom, right = min(image.shape[0], y + height), min(image.shape[1], x + width)
    if bottom > top and right > left:
        out[top - y : bottom - y, left - x : right - x] = image[top:bottom, left:right]
    return out


def _moved_pieces(
    seen: np.ndarray,
    unexplained: np.ndarray,
    lines: _Lines,  # the level lines
    inner: tuple[int, int, int, int],
    px_per_mm: float,
    piece: tuple[float, float, float],  # its length, the least move (mm), the share in place
) -> np.ndarray:
    """The strips of the level (row-wise) `lines` that moved: see `moved_lines`."""
    strips = np.zeros(seen.shape, np.uint8)
    count, stats = lines
    if count <= 1:
        return strips
    height, width = seen.shape
    reach = round(MOVE_MAX_MM * px_per_mm)
    piece_mm, move_min_mm, in_place_share = piece
    piece_px = max(4, round(piece_mm * px_per_mm))
    margin = round(STRIP_MARGIN_MM * px_per_mm)
    least = max(2, round(move_min_mm * px_per_mm))
    offsets = np.arange(-reach, reach + 1)
    slant = int(np.ceil(max(abs(s) for s in _SLOPES) * piece_px / 2)) + 1
    left, top, right, bottom = inner
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if y + h <= top or y >= bottom or x + w <= left or x >= right:
            continue  # a line outside the area, seen only for the reach around it
        # Ink from two pixels above the line's top row to two below its bottom one: the
        # scan's blur and the zone's residual misregistration.
        thick = max(1, h)
        in_place = np.asarray(seen[max(0, y - 2) : y + thick + 2, x : x + w].any(axis=0))
        near: np.ndarray | None = None  # the same, around each row the line may have moved to
        low = y - reach - slant
        for start in range(x, x + w - piece_px // 2, piece_px):
            end = min(x + w, start + piece_px)
            if float(in_place[start - x : end - x].mean()) >= in_place_share:
                continue
            if near is None:
                window = np.zeros((2 * (reach + slant) + thick + 5, w), np.uint8)
                rows_from, rows_to = max(0, low - 2), min(height, low + window.shape[0] - 2)
                window[rows_from - low + 2 : rows_to - low + 2] = unexplained[
                    rows_from:rows_to, x : x + w
                ]
                band = np.ones((thick + 4, 1), np.uint8)
                near = cv2.dilate(window, band, anchor=(0, 2))[2:]
            columns = np.arange(start, end)
            middle = (start + end - 1) / 2
            best, best_offset, best_slope = 0.0, 0, 0.0
            for slope in _SLOPES:
                rows = (y - low) + offsets[:, None] + np.round(slope * (columns - middle))
                hits = near[rows.astype(int), (columns - x)[None, :]]
                cover = hits.mean(axis=1)
                cover[np.abs(offsets) < least] = 0
                k = int(np.argmax(cover))
                if cover[k] > best:
                    best, best_offset, best_slope = float(cover[k]), int(offsets[k]), slope
            if best < FOUND:
                continue
            run = abs(best_slope) * (end - start) / 2
            r0 = round(y + min(0, best_offset) - run) - margin
            r1 = round(y + thick + max(0, best_offset) + run) + margin
            strips[max(0, r0) : max(0, r1), max(0, start - margin) : min(width, end + margin)] = 1
    return strips


def _places(strips: np.ndarray, x0: int, y0: int, px_per_mm: float) -> list[Box]:
    """The strips as boxes on the page (mm), one per connected run."""
    if not strips.any():
        return []
    count, _, stats, _ = blobs.components(strips)
    places = []
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        places.append(Box((x0 + x) / px_per_mm, (y0 + y) / px_per_mm, w / px_per_mm, h / px_per_mm))
    return sorted(places, key=lambda b: (b.y, b.x))
