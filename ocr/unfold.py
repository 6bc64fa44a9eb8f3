"""Where a fold moved each part of the page, beyond where the corner markers put it: the
displacement fitted on the form as printed, so that values and their zones are read where
they lie.

A sheet folded and unfolded (augraphy's Folding) shifts a band of the page along its crease
by up to about 7 mm, the shift growing to the crease and falling after it: text that crosses
the band comes out bent and sheared, and its zone, read where the layout puts it, holds half
of it. The corner markers cannot see that.

The displacement is found by optical flow from the page as printed to its ink as scanned, at
low resolution, and then smoothed over a millimetre and a half or more, weighted by where
the form printed anything: a field that moves a line of text as a whole, bends and shears
it, but is far too smooth to turn one character into another (a character is 2.5 mm wide;
what tells an i from an l, or a 3 from an 8, is a few tenths of a millimetre). It is bounded
by the fold's reach, and looked for only on a page whose printing in the value zones is not
where the markers put it (`in_place`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from documents.layout import Box
from ocr.align import Displacement
from ocr.folds import MOVE_MAX_MM

# The flow is found at this resolution: text lines are still told apart, and the flow over a
# page costs a few tens of milliseconds.
FLOW_DPI = 75.0
# The displacement is smoothed over this (mm, Gaussian sigma): the fold's band is 20 mm wide
# or more, a character 2.5 mm. The letters of a value are read through the finer one, which
# follows a crease's shear closer (over eight of the bench's folded pages, values that did
# not read as printed: 5 at 1.5 mm, 8 at 2, 10 at 2.5); the ink in a zone is judged through
# the smoother one (zones with ink the form did not print: 19 at 1.5 mm, 12 at 2): the
# flow's noise between lines, followed closer, leaves slivers of the printing out of place.
LETTERS_SMOOTH_MM = 1.5
INK_SMOOTH_MM = 2.5
# Below this the page lies where the markers put it (mm): left as aligned.
MOVE_MIN_MM = 0.6
# Around each zone the values are read in (and their ink judged), the page is moved this far
# too (mm): a zone is looked for a little to either side of its place.
ZONE_MARGIN_MM = 4.0
# A page where this share of the ink printed in the zones or more is found on the scan within
# `_IN_PLACE_PX` of its place lies where the markers put it, and its flow is not looked for:
# pages of the bench's scans, faxes, photos and augraphy's other wear at 0.995 or more,
# folded ones at 0.55–0.70 (a third of a millimetre; `_IN_PLACE_PX`).
IN_PLACE_MIN = 0.95
_IN_PLACE_PX = 2  # at ink.INK_DPI: a third of a millimetre, a scan's blur
# The displacement is kept only where it brings this much more of the printing onto the
# scan's ink than the alignment does.
GAIN_MIN = 0.05
# Where the form printed less than this share of ink nearby, the flow says nothing.
_MIN_WEIGHT = 0.02
# There, the displacement is the printing's around it, smoothed this many times wider: blank
# paper moves with the value beside it. Left unmoved, the top of a tall zone showed the page
# as sent, and on it the value a second time, where the fold had moved it (4 mm above the
# domains), read as ink the form did not print: over the bench's 40 folded genuine pages of
# 20 cases, 20 were so found altered, 9 now; 2.5 to 8 times wider made no difference.
_FILL_WIDER = 4.0


@dataclass(frozen=True)
class Flow:
    """Where the page's ink lies from where the form printed it (`dx`, `dy`, pixels at
    `FLOW_DPI`), and how much the form printed at each place (`printed`, 0–1)."""

    dx: np.ndarray
    dy: np.ndarray
    printed: np.ndarray

    @classmethod
    def of(cls, observed: np.ndarray, printed: np.ndarray, px_per_mm: float) -> Flow:
        """The flow from `printed` (the ink the form printed) to `observed` (the ink of the
        page aligned to the layout), both uint8 masks over the page at `px_per_mm`."""
        scale = FLOW_DPI / 25.4 / px_per_mm
        small_printed, small_seen = (
            cv2.resize(m.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            for m in (printed, observed)
        )
        h = min(small_printed.shape[0], small_seen.shape[0])
        w = min(small_printed.shape[1], small_seen.shape[1])
        small_printed, small_seen = small_printed[:h, :w], small_seen[:h, :w]
        flow = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(
            _as_image(small_printed), _as_image(small_seen), np.zeros((h, w, 2), np.float32)
        )
        return cls(flow[..., 0], flow[..., 1], small_printed)

    def displacement(self, smooth_mm: float, zones: Iterable[Box]) -> Displacement | None:
        """The flow smoothed over `smooth_mm`, weighted by where the form printed, in `zones`
        (nothing moved elsewhere; blank paper as the printing around it, see `_FILL_WIDER`);
        None when it moves nothing by more than `MOVE_MIN_MM`."""
        px_per_mm = FLOW_DPI / 25.4
        (dx, dy), known = self._smoothed(smooth_mm * px_per_mm)
        (wide_dx, wide_dy), wide_known = self._smoothed(smooth_mm * _FILL_WIDER * px_per_mm)
        inside = _inside(zones, known.shape, FLOW_DPI)
        dx, dy = (
            np.clip(
                np.where(inside & known, near, np.where(inside & wide_known, wide, 0.0))
                / px_per_mm,
                -MOVE_MAX_MM,
                MOVE_MAX_MM,
            ).astype(np.float32)
            for near, wide in ((dx, wide_dx), (dy, wide_dy))
        )
        if float(np.hypot(dx, dy).max()) < MOVE_MIN_MM:
            return None
        return Displacement(dx, dy, px_per_mm)

    def _smoothed(self, sigma: float) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """The flow (px) smoothed over `sigma` px, weighted by where the form printed, and
        where enough was printed nearby for it to say anything."""
        weight = cv2.GaussianBlur(self.printed, (0, 0), sigma)
        dx, dy = (
            cv2.GaussianBlur(flow * self.printed, (0, 0), sigma) / np.maximum(weight, _MIN_WEIGHT)
            for flow in (self.dx, self.dy)
        )
        return (dx, dy), weight >= _MIN_WEIGHT


def in_place(observed: np.ndarray, printed: np.ndarray, dpi: float, zones: Iterable[Box]) -> float:
    """The share of the ink printed in `zones` that the scan has within `_IN_PLACE_PX` of its
    place (uint8 masks over the page aligned to the layout, at `dpi`)."""
    inside = _inside(zones, printed.shape, dpi)[: observed.shape[0], : observed.shape[1]]
    printed = printed[: inside.shape[0], : inside.shape[1]].astype(bool) & inside
    near = cv2.dilate(observed, np.ones((2 * _IN_PLACE_PX + 1,) * 2, np.uint8))
    found = printed & near[: printed.shape[0], : printed.shape[1]].astype(bool)
    return float(np.count_nonzero(found)) / max(1, int(np.count_nonzero(printed)))


def _inside(zones: Iterable[Box], shape: tuple[int, ...], dpi: float) -> np.ndarray:
    """Where the zones, widened by `ZONE_MARGIN_MM`, lie on the page (at `dpi`)."""
    inside = np.zeros(shape[:2], bool)
    for zone in zones:
        x0, y0, x1, y1 = zone.inset(-ZONE_MARGIN_MM).pixels(dpi)
        inside[max(0, y0) : y1, max(0, x0) : x1] = True
    return inside


def _as_image(ink: np.ndarray) -> np.ndarray:
    return np.clip(ink * 255.0, 0, 255).astype(np.uint8)
