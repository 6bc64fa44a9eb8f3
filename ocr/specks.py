"""A copier's dirt: a scatter of grey specks over part of a page, told from ink.

A dirty photocopier (augraphy's BadPhotoCopy) leaves hundreds of specks, grey and a
millimetre or less, over a side or a corner of the page: through the margins, between the
lines of print and over the values. Judged as ink, they pass for writing in every value they
reach, and for a signature or a tick in the boxes. No mark a person makes is a scatter: a
pen's strokes join up into letters and loops, and a few specks of dust do not make a field.

The scatter is found on the page aligned to the layout, where the form explains nothing: the
squares of the page (`CELL_MM`) holding many specks (`CELL_SPECKS`), in patches of several
squares reaching the paper's edge, widened where the scatter thins out. A mark counts as the
copier's, and not as ink, only when it lies wholly inside such a patch, AND is no darker than
the specks there (the darker of them, `DIRT_PERCENTILE`) by more than a scanner's noise, AND
is no darker than a pen's stroke mostly comes out (`PEN_GREY`), AND is either small
(`MARK_MM2`) where a stamp may be, or elsewhere a speck or blurred as specks run together are
(a pen's letters, paled by a worn copy as light as its dirt, stand out sharply): a pen's
line, a stamp's ring, or any ink darker than the dirt, is judged as any other.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr import blobs
from ocr.streaks import SHARP, stroke_contrast

# A speck: a mark the form does not explain, at most this big.
SPECK_MM2 = 1.0
# The page is looked at in squares of this side; a square is dirty with at least this many
# specks in it (a signature's i-dots and the pieces a worn toner cuts its strokes into are a
# few).
CELL_MM = 10.0
CELL_SPECKS = 5
# A patch of dirt: at least this many dirty squares joined (a side or a corner of the page;
# a handful of specks of dust is a speck each, and each too small to count as ink).
PATCH_CELLS = 6
# Around a patch, this many squares are counted in it too.
PATCH_MARGIN_CELLS = 2
# The dirt's grey: this percentile of its specks' darkest pixels (on the flattened page,
# paper 255).
DIRT_PERCENTILE = 5.0
# A mark inside a patch is ink all the same when darker than the dirt's grey by more than a
# scanner's noise (σ up to 8) makes it.
NOISE_LEVELS = 15
# Specks run together into marks of a few square millimetres; a stamp's ring, pale as it may
# be, is bigger, and stays ink. Only where a stamp may be: elsewhere a mark no darker than
# the dirt is dirt whatever its size (a worn copy's specks run together down the page's right
# margin into streaks of 5–12 mm², which a value's zone reaches; a pen's stroke is darker).
MARK_MM2 = 5.0
# Ballpoint ink comes out at 50–125 grey levels on the flattened page, mostly also on a worn
# copy: a mark this dark or darker is never taken for dirt, however dark the dirt around it.
# (A worn copy paled a pen's letters to 136–153 once, bench case 17: they are told by their
# sharpness, `stroke_contrast`.)
PEN_GREY = 135
# Before the specks are counted at all: a page with fewer than this, over its whole area,
# has no copier's dirt to look for.
PAGE_SPECKS = 4 * CELL_SPECKS * PATCH_CELLS
# How the reading's note of the dirt begins (the back office words it in Polish).
NOTE_START = "a copier's specks taken for dirt, not ink: "


@dataclass(frozen=True)
class Dirt:
    """The patches of a copier's specks found on a page aligned to the layout."""

    patches: np.ndarray  # uint8 over the aligned page: 1 inside a patch
    grey: int  # the grey the dirt's marks are held to (paper 255); 0 when none was found
    taken: int  # marks taken for dirt
    px_per_mm: float

    @property
    def found(self) -> bool:
        return self.taken > 0

    def describe(self) -> str:
        """The dirt in a few words for the reading's note: how many marks, over how much of
        the page, and where (the patches' extent, mm from the page's top-left corner)."""
        ys, xs = np.nonzero(self.patches)
        cm2 = np.count_nonzero(self.patches) / self.px_per_mm**2 / 100
        x0, x1 = xs.min() / self.px_per_mm, (xs.max() + 1) / self.px_per_mm
        y0, y1 = ys.min() / self.px_per_mm, (ys.max() + 1) / self.px_per_mm
        return (
            f"{NOTE_START}{self.taken} specks over {cm2:.0f} cm² at {x0:.0f}–{x1:.0f} mm from "
            f"the left and {y0:.0f}–{y1:.0f} mm from the top"
        )


NO_DIRT = Dirt(np.zeros((1, 1), np.uint8), 0, 0, 1.0)


def without_dirt(
    ink: np.ndarray,
    aligned: np.ndarray,
    printed: np.ndarray,
    px_per_mm: float,
    stamped: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, Dirt]:
    """`ink` (a mask over the aligned page) without a copier's specks: the marks the form does
    not explain (`printed`: where it printed, widened for blur, or where the page is not
    compared) lying wholly inside a patch of specks and no darker than they (on `aligned`,
    the flattened page). `stamped` is where a stamp may be (x0, y0, x1, y1 in pixels of the
    page): a mark reaching there is dirt only while small (`MARK_MM2`), one away from it only
    while a speck or blurred; without it, every mark only while small."""
    unexplained = ink & (1 - printed)
    count, labels, stats, centroids = blobs.components(unexplained)
    area_px = stats[:, cv2.CC_STAT_AREA]
    speck = area_px <= SPECK_MM2 * px_per_mm**2
    speck[0] = False
    if np.count_nonzero(speck) < PAGE_SPECKS:
        return ink, NO_DIRT
    cell = CELL_MM * px_per_mm
    rows, cols = int(np.ceil(ink.shape[0] / cell)), int(np.ceil(ink.shape[1] / cell))
    cy = np.minimum((centroids[speck, 1] / cell).astype(int), rows - 1)
    cx = np.minimum((centroids[speck, 0] / cell).astype(int), cols - 1)
    per_cell = np.zeros((rows, cols), np.int32)
    np.add.at(per_cell, (cy, cx), 1)
    dirty = (per_cell >= CELL_SPECKS).astype(np.uint8)
    patch_labels, patch_sizes = blobs.areas(dirty)
    big = patch_sizes >= PATCH_CELLS
    # A copier's dirt comes in from the paper's edge: a patch that does not reach it is
    # something on the page (a stamp's grainy ink is a patch of specks too).
    sides = (patch_labels[0], patch_labels[-1], patch_labels[:, 0], patch_labels[:, -1])
    edge = np.concatenate(sides)
    big &= np.isin(np.arange(len(patch_sizes)), edge)
    big[0] = False
    cells = big[patch_labels].astype(np.uint8)
    if not cells.any():
        return ink, NO_DIRT
    # The scatter thins out away from the edge it comes from, below a dirty square's count
    # but not below a field's: the patches are widened by the squares around them.
    cells = cv2.dilate(cells, np.ones((2 * PATCH_MARGIN_CELLS + 1,) * 2, np.uint8))
    row_cell = np.minimum((np.arange(ink.shape[0]) / cell).astype(int), rows - 1)
    column_cell = np.minimum((np.arange(ink.shape[1]) / cell).astype(int), cols - 1)
    patches = cells[row_cell[:, None], column_cell[None, :]]

    ys, xs = np.nonzero(unexplained)
    which = labels[ys, xs]
    darkest = np.full(count, 255, np.int32)
    np.minimum.at(darkest, which, aligned[ys, xs].astype(np.int32))
    outside = np.bincount(which[patches[ys, xs] == 0], minlength=count) > 0
    inside = ~outside
    inside[0] = False
    in_patch_specks = speck & inside
    if not in_patch_specks.any():
        return ink, NO_DIRT
    grey = int(np.percentile(darkest[in_patch_specks], DIRT_PERCENTILE))
    floor = max(grey - NOISE_LEVELS, PEN_GREY)
    small = area_px <= MARK_MM2 * px_per_mm**2
    away = np.zeros(count, bool)
    if stamped is not None:
        x0, y0, x1, y1 = stamped
        there = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        away = np.bincount(which[there], minlength=count) == 0
        small |= away
    dirt = inside & (darkest >= floor) & small
    dirt[0] = False
    # Away from where a stamp may be, a pen's letters on a worn copy come out as pale as its
    # dirt (136–153 against 135 and lighter), but not blurred as its specks run together:
    # a mark bigger than a speck that stands out as a pen's stroke does is ink. (Where a
    # stamp may be, sharp specks run together must not make a signature's stroke.)
    letters = dirt & away & ~speck
    if letters.any():
        sharp = blobs.ninetieth(which, stroke_contrast(aligned)[ys, xs], count) >= SHARP
        dirt &= ~(letters & sharp)
    taken = int(np.count_nonzero(dirt))
    if taken == 0:
        return ink, NO_DIRT
    cleaned = ink & (1 - dirt.astype(np.uint8)[labels])
    return np.asarray(cleaned, dtype=np.uint8), Dirt(patches, floor, taken, px_per_mm)
