"""Ink the blank form does not have: signatures, stamps, ticks and handwritten alterations.

The expected page (our own PDF, rendered) is compared with the aligned scan zone by zone.
Each zone is first re-registered locally (a photo's alignment may be off by a millimetre at
the edges), the expected ink is widened a little for blur, and what remains is the party's
ink. Specks and fax streaks are removed; nothing here depends on colour.
What is a stamp and what a signature is told by shape (`ocr.stamps`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from documents import layout
from documents.layout import Box
from ocr import blobs
from ocr.folds import LOST_SHARE, MovedLines, moved_lines
from ocr.stamps import Stamp, find_faint_stamps, find_stamps, footprint_of, pen_strokes
from ocr.streaks import stroke_contrast

INK_DPI = 150.0
PX_PER_MM = INK_DPI / 25.4
MM2_PER_PX = 1 / PX_PER_MM**2
# On an illumination-flattened page (paper = 255, sensor noise σ ≤ 8): light enough to keep a
# pale red stamp as ink, dark enough that noise never is.
INK_LEVEL = 205
_SPECK_MM2 = 0.35
_SEARCH_MM = 1.5
_EXPECTED_GROWTH_PX = 2
# Legitimate vertical lines on the form are at most 32 mm long (the signature box's sides);
# a fax streak runs the length of the page.
STREAK_MIN_MM = 60.0


@dataclass(frozen=True)
class InkFinding:
    """Ink found in one zone beyond what the form printed there."""

    present: bool
    ink_mm2: float
    width_mm: float
    height_mm: float
    detail: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InkFinding:
        """A finding as `to_dict` stored it."""
        return cls(
            present=bool(data["present"]),
            ink_mm2=float(data.get("ink_mm2", 0.0)),
            width_mm=float(data.get("width_mm", 0.0)),
            height_mm=float(data.get("height_mm", 0.0)),
            detail=data.get("detail") or "",
        )

    def to_dict(self) -> dict[str, object]:
        # Plain Python values: numpy's bool and float64 are not JSON.
        return {
            "present": bool(self.present),
            "ink_mm2": round(float(self.ink_mm2), 1),
            "width_mm": round(float(self.width_mm), 1),
            "height_mm": round(float(self.height_mm), 1),
            "detail": self.detail,
        }


def remove_streaks(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, int]:
    """The scan with vertical streaks (dirt on a fax's scanner glass) taken out.

    Found in the scan's own pixel grid, where a streak is exactly vertical, on rows averaged
    in fours: a streak stays dark, and the search costs a quarter. Each streak is filled from
    the columns either side of it, ink only where both sides have ink, so a letter it
    crossed keeps its strokes. Returns the cleaned image and the number of streak columns.
    """
    rows = 4
    length = int(STREAK_MIN_MM / 25.4 * dpi / rows)
    if gray.shape[0] // rows <= length:
        return gray, 0
    squeezed = cv2.resize(
        gray, (gray.shape[1], gray.shape[0] // rows), interpolation=cv2.INTER_AREA
    )
    ink = (squeezed < 128).astype(np.uint8)
    # The opening keeps each column's runs of `length` or more (at the top or bottom edge,
    # of half that): a column with less ink than that keeps none and is left out.
    tall = np.flatnonzero(np.count_nonzero(ink, axis=0) >= length // 2)
    opened = np.zeros_like(ink)
    if len(tall):
        kernel = np.ones((length, 1), np.uint8)
        opened[:, tall] = cv2.morphologyEx(ink[:, tall], cv2.MORPH_OPEN, kernel)
    columns = int(np.count_nonzero(opened.any(axis=0)))
    if columns == 0:
        return gray, 0
    streaks = cv2.dilate(opened, np.ones((3, 3), np.uint8))
    # Back to full height only between the first and the last streak: columns map to
    # themselves, so this is that part of the whole mask.
    near = np.flatnonzero(streaks.any(axis=0))
    x0, x1 = int(near[0]), int(near[-1]) + 1
    mask = cv2.resize(streaks[:, x0:x1], (x1 - x0, gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    cleaned = gray.copy()
    width = gray.shape[1]
    hit = np.flatnonzero(mask.any(axis=0)) + x0
    for run in np.split(hit, np.flatnonzero(np.diff(hit) > 1) + 1):
        start, end = int(run[0]), int(run[-1])
        left, right = gray[:, max(0, start - 1)], gray[:, min(width - 1, end + 1)]
        streak_rows = np.asarray(mask[:, start - x0 : end + 1 - x0].any(axis=1))
        cleaned[streak_rows, start : end + 1] = np.maximum(left, right)[streak_rows][:, None]
    return cleaned, columns


# A fax loses scan lines in transmission, a few at a time (received blank); more in a row than
# this, and what was printed there is not ours to draw back.
LOST_LINES_MOST = 6
# Rows either side of lost lines through printing are nearly the same ink (the strokes run on
# through them): at least this share of the ink of both is in both, in this many columns.
LOST_LINES_SAME = 0.25
LOST_LINES_COLUMNS = 8


def fill_lost_lines(gray: np.ndarray, lines_per_inch: float, dpi: float) -> tuple[np.ndarray, int]:
    """A fax page with the scan lines it lost in transmission through its printing filled in.

    A lost line comes blank across the whole page. Through a line of text it cuts every
    letter in two, and where it cuts a stem or a bar the rows either side hold the same ink:
    a run of at most LOST_LINES_MOST lost lines whose two sides are nearly the same ink is
    filled, ink only in the columns where both sides have it (the lighter of the two), as a
    streak is (`remove_streaks`). A gap the printing has (between two lines of text, or a rule
    and the letters under it) has different ink either side and is left. Returns the page and
    the number of rows filled.
    """
    ink = gray < 128
    blank = np.flatnonzero(~ink.any(axis=1))
    if len(blank) == 0:
        return gray, 0
    most = int(np.ceil(LOST_LINES_MOST * dpi / lines_per_inch))
    filled = gray
    rows = 0
    for run in np.split(blank, np.flatnonzero(np.diff(blank) > 1) + 1):
        start, end = int(run[0]), int(run[-1])
        if end - start + 1 > most or start == 0 or end == gray.shape[0] - 1:
            continue
        above, below = ink[start - 1], ink[end + 1]
        both = above & below
        count = int(np.count_nonzero(both))
        if count < LOST_LINES_COLUMNS or count < LOST_LINES_SAME * np.count_nonzero(above | below):
            continue
        if filled is gray:
            filled = gray.copy()
        lighter = np.maximum(gray[start - 1], gray[end + 1])
        filled[start : end + 1, both] = lighter[both]
        rows += end - start + 1
    return filled, rows


def ink_mask(page: np.ndarray) -> np.ndarray:
    return (page < INK_LEVEL).astype(np.uint8)


# A pale stamp's letters come out of a copier, a shadow or a screened fax between INK_LEVEL
# and this grey; the paper, flattened, lies above it.
FAINT_LEVEL = 228


def faint_mask(
    page: np.ndarray, observed: np.ndarray, *, taken: np.ndarray | None = None
) -> np.ndarray:
    """The page's ink at FAINT_LEVEL: `observed` (its ink mask, cleaned) with what is only a
    little lighter than ink. `taken`: marks taken off `observed` (streaks' marks, a copier's
    specks), whose paler rims are taken off too."""
    pale: np.ndarray = ((page >= INK_LEVEL) & (page < FAINT_LEVEL)).astype(np.uint8)
    if taken is not None and taken.any():
        pale &= 1 - cv2.dilate(taken, np.ones((3, 3), np.uint8), iterations=2)
    return observed | pale


def _crop(image: np.ndarray, box: Box, pad_mm: float = 0.0) -> np.ndarray:
    padded = Box(box.x - pad_mm, box.y - pad_mm, box.w + 2 * pad_mm, box.h + 2 * pad_mm)
    x0, y0, x1, y1 = padded.pixels(INK_DPI)
    return image[max(0, y0) : y1, max(0, x0) : x1]


@dataclass(frozen=True)
class ExpectedInk:
    """The page as printed, at INK_DPI: its ink, that ink widened for a scan's blur, and the
    bands along its long lines. Made once per case, form version and party."""

    mask: np.ndarray
    grown: np.ndarray
    bands: np.ndarray

    @classmethod
    def of(cls, rendered: np.ndarray) -> ExpectedInk:
        mask = ink_mask(rendered)
        return cls(mask, _grown(mask), _line_bands(mask))

    def with_values(self, rendered: np.ndarray) -> ExpectedInk:
        """This blank page (see `documents.render.render_blank_page`) with a case's values
        printed on it (`rendered`, the same size). The bands stay the blank page's: every
        long line of the form is on it, and a value is a line of letters."""
        values = ink_mask(rendered)
        return ExpectedInk(self.mask | values, self.grown | _grown(values), self.bands)

    def cropped(self, height: int, width: int) -> ExpectedInk:
        return ExpectedInk(
            self.mask[:height, :width], self.grown[:height, :width], self.bands[:height, :width]
        )


def _grown(mask: np.ndarray) -> np.ndarray:
    """Printed ink widened for a scan's blur."""
    return cv2.dilate(mask, np.ones((2 * _EXPECTED_GROWTH_PX + 1,) * 2, np.uint8))


def extra_ink(observed: np.ndarray, expected: ExpectedInk, box: Box) -> np.ndarray:
    """The party's ink in `box`: observed ink not explained by the expected page nearby.

    `observed` is the ink mask of the whole aligned page at INK_DPI. The expected zone is
    shifted by up to 1.5 mm to where it best matches the scan before it is subtracted.
    """
    return _without_specks(extra_ink_and_blind_spots(observed, expected, box)[0])


def extra_ink_and_blind_spots(
    observed: np.ndarray,
    expected: ExpectedInk,
    box: Box,
    shift: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`extra_ink` with its specks still in (a faxed stamp's ring may be only dots), and
    where ink could not be told: the bands along the form's own lines. `shift`: the zone's
    registration (`registration`), when already known."""
    zone = _registered(observed, expected, box, shift)
    height, width = zone.shape
    grown = _crop(expected.grown, box)[:height, :width]
    bands = _crop(expected.bands, box)[:height, :width]
    return _unexplained(zone, grown, bands), bands


def _unexplained(seen: np.ndarray, grown: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """The ink of `seen` that neither the form's printing (`grown` for the capture's blur) nor
    the bands along its own lines explain: all three the same shape."""
    return seen & (1 - grown) & (1 - bands)


def _registered(
    observed: np.ndarray,
    expected: ExpectedInk,
    box: Box,
    shift: tuple[int, int] | None = None,
) -> np.ndarray:
    """The observed ink under `box`, from where the expected zone best matches it within
    1.5 mm (the expected zone's size, or less at the page's edge); or from `shift`."""
    seen = _crop(observed, box, _SEARCH_MM)
    want = _crop(expected.mask, box)
    dy, dx = registration(observed, expected, box) if shift is None else shift
    return seen[dy : dy + want.shape[0], dx : dx + want.shape[1]]


def registration(observed: np.ndarray, expected: ExpectedInk, box: Box) -> tuple[int, int]:
    """Where in `box` widened by 1.5 mm the expected zone best matches the observed ink:
    its top left corner (dy, dx), in pixels of the widened crop."""
    search = round(_SEARCH_MM * PX_PER_MM)
    seen = _crop(observed, box, _SEARCH_MM)
    want = _crop(expected.mask, box)
    if want.any() and seen.shape[0] >= want.shape[0] and seen.shape[1] >= want.shape[1]:
        score = cv2.matchTemplate(
            seen.astype(np.float32), want.astype(np.float32), cv2.TM_CCOEFF_NORMED
        )
        _, _, _, (dx, dy) = cv2.minMaxLoc(score)
        return int(dy), int(dx)
    return search, search


# A fold or a warp bends a line of print: one registration for the whole zone leaves the
# letters at one end a pixel or two off, and their edges read as ink the form did not print
# (4-5 mm² of letter tops along "09-400 Płock"). Each piece of the zone is then registered on
# its own, within _PIECE_SHIFT_PX of the zone's registration: a pen's stroke lies further
# from any printed letter than that and the letters' growth together.
_PIECE_MM = 8.0
_PIECE_SHIFT_PX = 2


def _piece_by_piece(
    observed: np.ndarray, expected: ExpectedInk, box: Box, shift: tuple[int, int]
) -> np.ndarray:
    """`extra_ink_and_blind_spots`'s ink (specks in) with each _PIECE_MM of the zone's width
    registered on its own, near where the zone as a whole is (`shift`, its `registration`)."""
    seen = _crop(observed, box, _SEARCH_MM)
    want = _crop(expected.mask, box)
    grown = _crop(expected.grown, box)
    bands = _crop(expected.bands, box)
    dy, dx = shift
    height, width = want.shape
    near = _PIECE_SHIFT_PX
    extra = np.zeros((height, width), np.uint8)
    step = round(_PIECE_MM * PX_PER_MM)
    for x0 in range(0, width, step):
        x1 = min(width, x0 + step)
        piece = want[:, x0:x1]
        y, x = dy, dx + x0  # where the piece lies as the zone does
        window = seen[y - near : y + height + near, x - near : x + piece.shape[1] + near]
        whole_window = y >= near and x >= near
        whole_window &= window.shape == (height + 2 * near, piece.shape[1] + 2 * near)
        if piece.any() and whole_window:
            score = cv2.matchTemplate(
                window.astype(np.float32), piece.astype(np.float32), cv2.TM_CCOEFF_NORMED
            )
            _, _, _, (moved_x, moved_y) = cv2.minMaxLoc(score)
            y, x = y - near + moved_y, x - near + moved_x
        here = seen[y : y + height, x : x + piece.shape[1]]
        h, w = here.shape
        extra[:h, x0 : x0 + w] = _unexplained(here, grown[:h, x0 : x0 + w], bands[:h, x0 : x0 + w])
    return extra


def _line_bands(expected: np.ndarray) -> np.ndarray:
    """Bands along the form's own long lines (box edges, rules), ±0.8 mm across them.

    A fax that lost scan lines moves what is below by a pixel or two, more than the zone's
    one shift can follow; a box edge must still never pass for the party's ink.
    """
    long_px = round(8 * PX_PER_MM)
    across = round(0.8 * PX_PER_MM)
    level = cv2.morphologyEx(expected, cv2.MORPH_OPEN, np.ones((1, long_px), np.uint8))
    upright = cv2.morphologyEx(expected, cv2.MORPH_OPEN, np.ones((long_px, 1), np.uint8))
    level = cv2.dilate(level, np.ones((2 * across + 1, 1), np.uint8))
    upright = cv2.dilate(upright, np.ones((1, 2 * across + 1), np.uint8))
    return np.asarray(cv2.bitwise_or(level, upright), dtype=np.uint8)


def local_offset(
    observed: np.ndarray, expected: ExpectedInk, box: Box, *, search_mm: float = 2.5
) -> tuple[float, float]:
    """Where the printing under `box` really is on the aligned scan, relative to the layout
    (dx, dy in mm). Corner markers fix the page as a whole; a fax that lost scan lines, or a
    photo's curled paper, moves a line of text by a millimetre or more."""
    search = round(search_mm * PX_PER_MM)
    want = _crop(expected.mask, box)
    seen = _crop(observed, box, search_mm)
    if not want.any() or seen.shape[0] < want.shape[0] or seen.shape[1] < want.shape[1]:
        return 0.0, 0.0
    score = cv2.matchTemplate(
        seen.astype(np.float32), want.astype(np.float32), cv2.TM_CCOEFF_NORMED
    )
    _, best, _, (dx, dy) = cv2.minMaxLoc(score)
    if best < 0.3:
        return 0.0, 0.0  # nothing there looks like the printing: keep the layout's place
    return (dx - search) / PX_PER_MM, (dy - search) / PX_PER_MM


def _without_specks(mask: np.ndarray) -> np.ndarray:
    if not mask.any():  # most zones: nothing the form did not print
        return np.zeros(mask.shape, dtype=np.uint8)
    labels, area = blobs.areas(mask)
    keep = (area * MM2_PER_PX >= _SPECK_MM2).astype(np.uint8)
    keep[0] = 0
    return keep[labels]


def measure(mask: np.ndarray) -> tuple[float, float, float]:
    """Ink area (mm²) and the width and height (mm) of what it spans."""
    area = float(np.count_nonzero(mask)) * MM2_PER_PX
    if area == 0:
        return 0.0, 0.0, 0.0
    ys, xs = np.nonzero(mask)
    return (
        area,
        float(xs.max() - xs.min() + 1) / PX_PER_MM,
        float(ys.max() - ys.min() + 1) / PX_PER_MM,
    )


# Signature and stamp are judged together over one area: a stamp often covers part of the
# signature box, and its ink there must not pass for a signature.
SIGNING_AREA = Box(20.0, 198.0, 172.0, 52.0)
# The stamp's box across the signing area (left and right, px): a pale frame whose edges the
# ink mask does not hold is looked for there alone (`find_faint_stamps`).
_STAMP_BOX_PX = (
    round((layout.STAMP.x - SIGNING_AREA.x) * PX_PER_MM),
    round((layout.STAMP.x + layout.STAMP.w - SIGNING_AREA.x) * PX_PER_MM),
)
ALTERATION_MIN_MM2 = 3.0
# A zone half under a streak as dark as a pen's ink cannot be told unaltered: a value written
# into it may be there, unseen.
BLIND_ZONE_SHARE = 0.5


def _sub(mask: np.ndarray, outer: Box, inner: Box) -> np.ndarray:
    """The part of a mask cropped at `outer` that lies under `inner`."""
    x0 = round((inner.x - outer.x) * PX_PER_MM)
    y0 = round((inner.y - outer.y) * PX_PER_MM)
    x1 = x0 + round(inner.w * PX_PER_MM)
    y1 = y0 + round(inner.h * PX_PER_MM)
    return mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]


@dataclass(frozen=True)
class SigningInk:
    """What the party put in the signing area: the signature, and for a company the stamp."""

    signature: InkFinding
    stamp: InkFinding | None
    extra: np.ndarray  # the party's ink over SIGNING_AREA, for evidence
    stamps: list[Stamp]
    moved: MovedLines  # the form's lines a fold moved, taken off before judging


def signing_ink(
    observed: np.ndarray,
    expected: ExpectedInk,
    *,
    company: bool,
    folded: bool = True,
    with_dirt: np.ndarray | None = None,
    pen_dark: np.ndarray | None = None,
    faint: np.ndarray | None = None,
    grey: np.ndarray | None = None,
) -> SigningInk:
    """The signature and, for a company, the stamp in the signing area. `folded`: whether the
    form's lines a fold moved are looked for.

    `with_dirt` is the page's ink before a copier's specks were taken off it (`ocr.specks`):
    a pale stamp's ring comes out of a worn copy as specks too, and only a round stamp's two
    rings, inked in every quarter, are looked for in it; everything else is judged without
    the specks. `pen_dark` (a grey page's) marks where the page is as dark as a pen's stroke
    comes out: a band through the signature box paler than that is no signature
    (`bands_through`). `faint` (a grey page's, or a screened fax's made grey) is the page's
    ink at a lighter grey: a stamp pressed too pale for `observed` is looked for in it.
    `grey` (a grey page's, aligned as `observed`): how sharply its ink stands out, which a
    signature's must (`signature_finding`)."""
    # The form's own lines a fold moved are not the party's ink (`ocr.folds`): taken off
    # before anything in the area is judged.
    moved = MovedLines.nothing(observed.shape, PX_PER_MM)
    if folded:
        moved = moved_lines(observed, expected.mask, expected.grown, SIGNING_AREA, PX_PER_MM)
    if company and folded:
        # The "no stamp" box's own edges are shorter than the form's long lines: moved by a
        # fold, two of them read as a tick.
        moved = moved.joined(
            moved_lines(
                observed,
                expected.mask,
                expected.grown,
                layout.NO_STAMP_TICK.inset(-_TICK_OVERSHOOT_MM),
                PX_PER_MM,
                long_mm=layout.NO_STAMP_TICK.w * 0.8,
                piece_mm=_TICK_PIECE_MM,
            )
        )
    whole = None
    rings: list[Stamp] = []
    if moved.found:
        # A stamp cut by a strip is looked for whole too: the part of it over the signature
        # box must not pass for a signature (it may only count as a stamp found cut).
        dotted, blind = extra_ink_and_blind_spots(observed, expected, SIGNING_AREA)
        uncut = find_stamps(_without_specks(dotted), PX_PER_MM, blind=blind, dotted=dotted)
        whole = footprint_of(uncut, dotted.shape)
        # A round stamp pressed over the stamp box's edges loses arcs of its rings with the
        # strips: found whole, its rings are a stamp all the same. No line of the form, moved
        # or not, is a ring, let alone two round one centre (a frame may be: not kept).
        rings = [stamp for stamp in uncut if stamp.kind == "round"]
        observed = observed & (1 - moved.mask)
        if with_dirt is not None:
            with_dirt = with_dirt & (1 - moved.mask)
    shift = registration(observed, expected, SIGNING_AREA)
    dotted, blind = extra_ink_and_blind_spots(observed, expected, SIGNING_AREA, shift)
    extra = _without_specks(dotted)
    handwriting = extra
    if pen_dark is not None:
        pale = 1 - _registered(pen_dark, expected, SIGNING_AREA, shift)
        # Where ink could not be seen, a band's run goes on: along the form's lines, and
        # where the lines a fold moved were taken off.
        unseen = blind | _registered(moved.mask, expected, SIGNING_AREA, shift)
        through = bands_through(extra, unseen, layout.SIGNATURE)
        handwriting = extra & (1 - (through & pale))
    if with_dirt is not None:
        dotted = extra_ink_and_blind_spots(with_dirt, expected, SIGNING_AREA)[0]
    stamps = find_stamps(extra, PX_PER_MM, blind=blind, dotted=dotted)
    if company and not stamps and faint is not None:
        faint = faint & (1 - moved.mask) if moved.found else faint
        pale = _without_specks(extra_ink_and_blind_spots(faint, expected, SIGNING_AREA, shift)[0])
        stamps = find_faint_stamps(pale, extra, PX_PER_MM, stamp_box=_STAMP_BOX_PX)
    if company and not stamps:
        stamps = rings
    footprint = footprint_of(stamps, extra.shape)
    if whole is not None and whole.shape == footprint.shape:
        footprint = footprint | whole
    box = layout.SIGNATURE.inset(0.6)
    contrast = None
    if grey is not None:
        contrast = _sub(
            stroke_contrast(_registered(grey, expected, SIGNING_AREA, shift), _STROKE_PX),
            SIGNING_AREA,
            box,
        )
    signature = signature_finding(
        _sub(handwriting, SIGNING_AREA, box), _sub(footprint, SIGNING_AREA, box), contrast
    )
    lost = moved.share_of(layout.SIGNATURE)
    if lost > LOST_SHARE:
        signature = InkFinding(
            False,
            signature.ink_mm2,
            signature.width_mm,
            signature.height_mm,
            f"a fold moved the box's own lines over {lost:.0%} of it: the signature cannot be told",
        )
    found_stamp = None
    if company:
        # A strip taken off in or around the "no stamp" box: what is left there is not read.
        tick_box_moved = moved.share_of(layout.NO_STAMP_TICK.inset(-_TICK_SURROUNDS_MM)) > 0
        tick, crossed = tick_marks(observed, expected)  # the moved lines already taken off
        found_stamp = stamp_finding(
            stamps,
            tick,
            extra & (1 - footprint),
            tick_crossed=crossed,
            box_misplaced=tick_box_moved or not tick_box_in_place(observed, expected),
        )
    return SigningInk(signature, found_stamp, extra, stamps, moved)


# A copier's or a printer's band (a roller's stripes, waved by the sheet's handling; a drum's
# streak a fold bent, which `ocr.streaks` does not find straight down the page) runs through
# the signature box and on past it on both sides; a signature overflows its box a few
# millimetres at most, on one side. Along a band, gaps this long are bridged (a band paler in
# places than ink), and where ink could not be seen, as long as a fold moves a line (the
# strips `ocr.folds` takes off, a box's edge from where it was printed to where it lies).
_BAND_BEYOND_MM = 5.0
_BAND_GAP_MM = 3.0
_BAND_UNSEEN_MM = 10.0
_BAND_SLANT_MM = 2.0


def bands_through(extra: np.ndarray, unseen: np.ndarray, box: Box) -> np.ndarray:
    """The marks of `extra` (the party's ink over SIGNING_AREA) that run through `box` from
    above it to below it, or from its left to its right, and on past it by _BAND_BEYOND_MM
    (or to the area's edge) on both sides: a band's, not a pen's. `unseen`: where ink could
    not be seen (the bands along the form's lines, the strips a fold's lines were taken off)."""
    x0 = round((box.x - SIGNING_AREA.x) * PX_PER_MM)
    y0 = round((box.y - SIGNING_AREA.y) * PX_PER_MM)
    x1, y1 = x0 + round(box.w * PX_PER_MM), y0 + round(box.h * PX_PER_MM)
    height, width = extra.shape
    beyond, gap = round(_BAND_BEYOND_MM * PX_PER_MM), round(_BAND_GAP_MM * PX_PER_MM)
    through = np.zeros_like(extra)
    if not extra.any():
        return through
    across_unseen = round(_BAND_UNSEEN_MM * PX_PER_MM)
    slant = round(_BAND_SLANT_MM * PX_PER_MM)
    for down in (True, False):
        kernel = np.ones((gap, 1) if down else (1, gap), np.uint8)
        # A band slants as it goes (a roller's waves, a fold's shear): 2 mm to either side.
        wide = np.ones((across_unseen, slant) if down else (slant, across_unseen), np.uint8)
        bridged = extra | (cv2.morphologyEx(extra, cv2.MORPH_CLOSE, wide) & unseen)
        _, labels, stats, _ = blobs.components(cv2.morphologyEx(bridged, cv2.MORPH_CLOSE, kernel))
        if down:
            start, length = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
            before, after = max(0, y0 - beyond), min(height, y1 + beyond)
        else:
            start, length = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_WIDTH]
            before, after = max(0, x0 - beyond), min(width, x1 + beyond)
        passing = (start <= before) & (start + length >= after)
        passing[0] = False
        through |= passing.astype(np.uint8)[labels]
    return np.asarray(through & extra, dtype=np.uint8)


# A tick overshoots its little box by a millimetre or so; a mark that runs on past a few
# millimetres around it (a signature's stroke, a dirty drum's streak) only passes through.
_TICK_OVERSHOOT_MM = 1.0
_TICK_SURROUNDS_MM = 4.0
# The "no stamp" box's edges are followed in pieces this long (mm) for a fold's move.
_TICK_PIECE_MM = 1.5
# A mark lying within this of the box's own printing (px at INK_DPI: 0.85 mm, as the bands
# along the form's long lines) is that printing drawn thicker.
_TICK_EDGE_PX = round(0.8 * PX_PER_MM)


def tick_marks(observed: np.ndarray, expected: ExpectedInk) -> tuple[np.ndarray, bool]:
    """The party's marks in and just around the "no stamp" box, and whether a mark passes
    through it: then what is in the box cannot be told from it, and it is not a tick."""
    box = layout.NO_STAMP_TICK
    around = box.inset(-_TICK_SURROUNDS_MM)
    marks = extra_ink(observed, expected, around)
    if not marks.any():
        return _sub(marks, around, box.inset(-_TICK_OVERSHOOT_MM)), False
    labels, _ = blobs.areas(marks)
    # The box's edges are too short for the bands along the form's long lines
    # (`_line_bands`), and a standard fax draws a line one scan line thicker than printed
    # (98 lines an inch: 0.26 mm): a sliver along an edge. A mark wholly along the box's own
    # printing is that printing; a tick crosses the box's inside, and is judged whole.
    printing = _crop(expected.mask, around)[: labels.shape[0], : labels.shape[1]]
    along = cv2.dilate(printing, np.ones((2 * _TICK_EDGE_PX + 1,) * 2, np.uint8))
    beyond = np.zeros(int(labels.max()) + 1, dtype=bool)
    beyond[labels[along == 0]] = True
    beyond[0] = False
    labels = labels * beyond[labels]  # the slivers' labels gone, the other marks' kept
    marks = (labels > 0).astype(np.uint8)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    passing = np.zeros(int(labels.max()) + 1, dtype=bool)
    passing[edge] = True
    passing[0] = False
    zone = box.inset(-_TICK_OVERSHOOT_MM)
    crossed = bool(_sub(passing[labels].astype(np.uint8), around, zone).any())
    if crossed:
        return np.zeros_like(_sub(marks, around, zone)), True
    return _sub(marks, around, zone), False


# Of the "no stamp" box's printed outline, at least this share is found on the scan where it
# was printed (within the zone's local shift) for what is in it to be read.
_TICK_BOX_SEEN = 0.8


def tick_box_in_place(observed: np.ndarray, expected: ExpectedInk) -> bool:
    """Whether the "no stamp" box's outline is found where it was printed. On a page folded or
    warped there, the box is turned or moved on the scan: its own edges, not explained by the
    form, would read as a tick."""
    zone = layout.NO_STAMP_TICK.inset(-_TICK_OVERSHOOT_MM)
    seen = _registered(observed, expected, zone)
    outline = _crop(expected.mask, zone)[: seen.shape[0], : seen.shape[1]]
    found = outline & cv2.dilate(seen, np.ones((3, 3), np.uint8))
    return int(np.count_nonzero(found)) >= _TICK_BOX_SEEN * int(np.count_nonzero(outline))


# A pen's stroke stands out of the paper round it: within 1.5 mm, its core is darker than the
# paper beside it by this many grey levels or more (of 255), however pale the pen or dim the
# light. (A shone-over page's pale signature does within 1.5 mm; within the 5 pixels, 0.85 mm,
# that `ocr.streaks` judges a streak's marks by, none of it did.) A dirty drum's band or a
# copier's wavy grey, broken into marks across a signature box, stands out of nothing: its
# marks are blurred dots on a grey of their own.
_STROKE_PX = 2 * round(1.5 * PX_PER_MM / 2) + 1
SHARP_LEVELS = 50
# A signature holds at least this much ink whose marks stand out so: as much as it needs at
# all. The band's marks the bench's missing signatures were read by had none at all (4 of the
# 8 that passed over 60 cases); genuine pages 10.8 mm² and more.
SIGNATURE_SHARP_MM2 = 10.0


def _sharp_mm2(ink: np.ndarray, contrast: np.ndarray) -> float:
    """The area of `ink`'s marks that stand out as a pen's strokes do: nine tenths of a
    mark's pixels may be paler than a stroke's core (its edges, its thin joins), not all."""
    count, labels = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    if count <= 1:
        return 0.0
    marked = labels > 0
    which, levels = labels[marked], contrast[: ink.shape[0], : ink.shape[1]][marked]
    sizes = np.bincount(which, minlength=count)
    high = blobs.ninetieth(which, levels, count)
    return float(sizes[1:][high[1:] >= SHARP_LEVELS].sum()) * MM2_PER_PX


def signature_finding(
    extra: np.ndarray, stamp: np.ndarray, contrast: np.ndarray | None = None
) -> InkFinding:
    """Handwriting in the signature box: enough ink, spread like a signature, not a stamp —
    neither a stamp found whole nor the letters, dashes and arcs a faint one leaves.
    `contrast` (a grey page's, `ocr.streaks.stroke_contrast` within `_STROKE_PX`): enough
    of it stands out as a pen's strokes do."""
    ink = pen_strokes(_without_specks(extra & (1 - stamp)), PX_PER_MM, boxed=True)
    area, width, height = measure(ink)
    present = area >= 10.0 and width >= 12.0 and height >= 3.0
    masked = float(np.count_nonzero(extra & stamp)) * MM2_PER_PX
    detail = f"{area:.0f} mm² of handwriting spanning {width:.0f}×{height:.0f} mm"
    if present and contrast is not None:
        sharp = _sharp_mm2(ink, contrast)
        if sharp < SIGNATURE_SHARP_MM2:
            present = False
            detail = (
                f"{area:.0f} mm² of marks spanning {width:.0f}×{height:.0f} mm, of which "
                f"{sharp:.0f} mm² stand out as a pen's strokes do: a copier's or a printer's "
                "grey, not a signature"
            )
            masked = 0.0  # no signature to leave a stamp's ink aside from
    if masked:
        detail += f" (a stamp's {masked:.0f} mm² of ink over the box left aside)"
    return InkFinding(present, area, width, height, detail)


def stamp_finding(
    stamps: list[Stamp],
    tick: np.ndarray,
    other: np.ndarray,
    *,
    tick_crossed: bool = False,
    box_misplaced: bool = False,
) -> InkFinding:
    """A stamp impression in the signing area, or the printed "no stamp" box ticked (and
    found where it was printed: `box_misplaced` says it was not)."""
    if stamps:
        best = max(stamps, key=lambda s: s.width_mm * s.height_mm)
        area = float(np.count_nonzero(best.footprint)) * MM2_PER_PX
        return InkFinding(
            True,
            area,
            best.width_mm,
            best.height_mm,
            f"a {best.kind} stamp of {best.width_mm:.0f}×{best.height_mm:.0f} mm",
        )
    tick_area, tick_w, tick_h = measure(tick)
    ticked = tick_area >= 1.2 and max(tick_w, tick_h) >= 2.5
    if ticked and not box_misplaced:
        return InkFinding(True, tick_area, tick_w, tick_h, "the “no stamp” box is ticked")
    loose, lw, lh = measure(other)
    detail = "no stamp, and the “no stamp” box is not ticked"
    if ticked:
        detail = (
            "no stamp, and the “no stamp” box is not where it was printed (the page is folded "
            "or warped there): it cannot be read as ticked"
        )
    elif tick_crossed:
        detail = "no stamp, and marks pass through the “no stamp” box: it cannot be read as ticked"
    if loose:
        detail += f" ({loose:.0f} mm² of other ink: handwriting, not a stamp)"
    return InkFinding(False, loose, lw, lh, detail)


def alterations(
    observed: np.ndarray,
    expected: ExpectedInk,
    zones: dict[str, Box],
    blind: np.ndarray | None = None,
) -> dict[str, InkFinding]:
    """Handwriting, crossing out or overwriting in each printed field's zone.

    `blind` marks where ink could not be told from damage as dark as a pen's (a drum's
    streak, `ocr.streaks`): a zone lying under it for the most part cannot be said unaltered.
    A zone with ink the form did not print is measured again piece by piece
    (`_piece_by_piece`), then without the tips of the lines beyond its edges that a fax moved
    into it (`_without_tips_beyond`): what is left then is the alteration.
    """
    found = {}
    for name, zone in zones.items():
        shift = registration(observed, expected, zone)
        extra = _without_specks(extra_ink_and_blind_spots(observed, expected, zone, shift)[0])
        area, width, height = measure(extra)
        present = _enough(area, width, height)
        detail = f"{area:.1f} mm² of ink the form did not print" if area else "clean"
        hidden = float(_crop(blind, zone).mean()) if blind is not None else 0.0
        if hidden >= BLIND_ZONE_SHARE:
            present = True
            detail = (
                f"{hidden:.0%} of it under a streak as dark as a pen's ink: what is written "
                f"there cannot be told ({detail})"
            )
        elif present:
            whole = area
            pieces = _without_specks(_piece_by_piece(observed, expected, zone, shift))
            area, width, height = measure(pieces)
            present = _enough(area, width, height)
            if not present:
                detail = (
                    f"clean once its pieces were registered one by one ({whole:.1f} mm² "
                    "before: a fold or a warp moved them)"
                )
            else:
                registered = area
                area, width, height = measure(
                    _without_tips_beyond(pieces, observed, expected, zone, shift)
                )
                present = _enough(area, width, height)
                if not present:
                    detail = (
                        "clean once the tips of the letters of the lines next to it were set "
                        f"aside ({registered:.1f} mm² before: a fax or a scan moved those lines)"
                    )
                elif f"{area:.1f}" != f"{registered:.1f}":
                    detail = (
                        f"{area:.1f} mm² of ink the form did not print ({registered:.1f} mm² "
                        "before the tips of the letters of the lines next to it were set aside)"
                    )
                elif f"{area:.1f}" != f"{whole:.1f}":
                    detail = (
                        f"{area:.1f} mm² of ink the form did not print ({whole:.1f} mm² before "
                        "its pieces were registered one by one)"
                    )
        found[name] = InkFinding(present, area, width, height, detail)
    return found


# The line just above or below a zone (a heading, the value before it) reaches into its edge
# with its descenders and accents. A fax that lost or doubled scan lines between the two
# moves that line off the zone's registration, and those tips read as ink the form did not
# print: the p, j and ę of "podpisuje tę stronę" along the top of a name, a millimetre lower
# than the name's registration puts them, 3.5 mm² in all (standard fax 2001). Such a piece
# lies no deeper into the zone than _EDGE_MM, is one stroke with ink beyond its edge, and is
# the printing beyond that edge moved at most _EDGE_SHIFT_MM up or down. The zone's own
# printing explains nothing here, so a pen's mark on the value never passes for a tip.
_EDGE_MM = 1.3
_EDGE_SHIFT_MM = 1.2


def _without_tips_beyond(
    extra: np.ndarray,
    observed: np.ndarray,
    expected: ExpectedInk,
    box: Box,
    shift: tuple[int, int],
) -> np.ndarray:
    """`extra` (ink the form did not print in the zone `box`, registered at `shift`) without
    the pieces along its top or bottom edge that are the printing just beyond it, moved."""
    height, width = extra.shape
    beyond = _crop(expected.grown, box, _SEARCH_MM)
    seen = _crop(observed, box, _SEARCH_MM)
    # Where the zone lies in the widened crops, as printed (`beyond`) and as seen (`seen`).
    x0, y0, _, _ = box.pixels(INK_DPI)
    wide_x0, wide_y0, _, _ = Box(box.x - _SEARCH_MM, box.y - _SEARCH_MM, 0, 0).pixels(INK_DPI)
    zone_top, zone_left = y0 - wide_y0, x0 - wide_x0
    dy, dx = shift
    fits = (
        min(wide_x0, wide_y0, dy, dx) >= 0
        and beyond.shape[0] >= zone_top + height
        and beyond.shape[1] >= zone_left + width
        and seen.shape[0] >= dy + height
        and seen.shape[1] >= dx + width
    )
    if not extra.any() or not fits:
        return extra  # at the page's edge: nothing beyond to explain it
    # The observed ink in the zone's columns, from the crop's top to its bottom: the zone's
    # rows are dy:dy + height of it.
    strokes = np.ascontiguousarray(seen[:, dx : dx + width])
    _, stroke_of = cv2.connectedComponents(strokes, connectivity=8)
    crossing = set(np.unique(stroke_of[:dy])) | set(np.unique(stroke_of[dy + height :]))
    beyond = beyond[:, zone_left : zone_left + width].copy()
    beyond[zone_top : zone_top + height] = 0
    reach = min(round(_EDGE_SHIFT_MM * PX_PER_MM), zone_top, beyond.shape[0] - zone_top - height)
    moved = [beyond[zone_top - by : zone_top - by + height] for by in range(-reach, reach + 1)]
    deep = round(_EDGE_MM * PX_PER_MM)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(extra, connectivity=8)
    kept = extra.copy()
    for label in range(1, count):
        first, tall = stats[label, cv2.CC_STAT_TOP], stats[label, cv2.CC_STAT_HEIGHT]
        if first + tall > deep and first < height - deep:
            continue  # not along the top or bottom edge
        piece = labels == label
        ys, xs = np.nonzero(piece)
        strokes_here = set(np.unique(stroke_of[ys + dy, xs])) - {0}
        if not strokes_here & crossing:
            continue  # not one stroke with ink beyond the edge
        if any(np.all(shifted[piece]) for shifted in moved):
            kept[piece] = 0
    return kept


def _enough(area: float, width: float, height: float) -> bool:
    """Whether ink the form did not print is an alteration: more than a speck's worth, and
    reaching further than a letter's blurred edge."""
    return area >= ALTERATION_MIN_MM2 and max(width, height) >= 2.0


def value_zones() -> dict[str, Box]:
    """Where each field's value is printed: its whole box, a little wider."""
    return {
        name: Box(box.x - 1.0, box.y - 0.5, box.w + 2.0, box.h + 1.0)
        for name, box in layout.FIELD_BOXES.items()
    }


# How near the page's right edge a zone reaches: to the markers' outer edge, short of the
# paper's edge, which a scanner's lid or a photo's background darkens.
_ZONES_RIGHT_MM = layout.MARKERS[1].x + layout.MARKERS[1].w


def field_zones() -> dict[str, Box]:
    """The zones the alteration check looks at: each value's zone (`value_zones`), reaching
    right on to the next field of its row, or to the page's right margin. A value that fills
    its box leaves no room in it: what a forger adds after it lies beyond the box (a domain
    written after the two lines of them, off the box's right edge)."""
    zones = value_zones()
    reach = {}
    for name, zone in zones.items():
        box = layout.FIELD_BOXES[name]
        after = [b.x for b in layout.FIELD_BOXES.values() if b.y == box.y and b.x > box.x]
        right = min(after) - 1.0 if after else _ZONES_RIGHT_MM
        reach[name] = Box(zone.x, zone.y, max(zone.w, right - zone.x), zone.h)
    return reach
