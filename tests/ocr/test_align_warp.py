"""Warping a whole page in tiles: the same page as OpenCV's perspective warp, to a grey level.

GIVEN a scanned page and homographies from a flatbed's (nearly affine) to a phone's (steep),
WHEN `Alignment.warp_page` resamples it at the ink's resolution THEN nearly every pixel is
`cv2.warpPerspective`'s exactly, and the others within what a sample moved by 1/32 px makes
of the sharpest edge; a perspective too steep for tiles is warped as a whole, as before.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from documents import layout
from ocr import align
from ocr.ink import INK_DPI


def _page() -> np.ndarray:
    """A 300 dpi grey page of text-like strokes: sharp edges everywhere."""
    rng = np.random.default_rng(3)
    page = np.full((3508, 2480), 245, np.uint8)
    for _ in range(4000):
        x, y = int(rng.integers(0, 2400)), int(rng.integers(0, 3450))
        cv2.line(page, (x, y), (x + int(rng.integers(5, 60)), y + int(rng.integers(-3, 40))), 30, 2)
    return cv2.GaussianBlur(page, (0, 0), 0.8)


def _alignment(skew: float, perspective: float) -> align.Alignment:
    """Layout mm to scan pixels at 300 dpi: turned by `skew` radians, with a perspective term."""
    s = 300 / 25.4
    c, n = np.cos(skew) * s, np.sin(skew) * s
    to_image = np.array([[c, -n, 40.0], [n, c, 25.0], [perspective, perspective / 2, 1.0]])
    marker = align.Marker(0.0, 0.0, 8.0)
    return align.Alignment(to_image, (marker, marker, marker, marker))


def _reference(alignment: align.Alignment, page: np.ndarray) -> np.ndarray:
    ppm = INK_DPI / 25.4
    size = (round(layout.PAGE_WIDTH_MM * ppm), round(layout.PAGE_HEIGHT_MM * ppm))
    out_to_mm = np.array([[1 / ppm, 0, 0], [0, 1 / ppm, 0], [0, 0, 1]])
    return cv2.warpPerspective(
        page,
        alignment.to_image @ out_to_mm,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


@pytest.mark.parametrize("perspective", [0.0, 1e-7, 2e-6, 2e-5])
def test_a_page_warped_in_tiles_is_the_perspective_warp(perspective: float) -> None:
    page = _page()
    alignment = _alignment(0.012, perspective)
    tiled = alignment.warp_page(page, INK_DPI).astype(int)
    want = _reference(alignment, page).astype(int)
    assert tiled.shape == want.shape
    differ = np.abs(tiled - want)
    # The sharpest edge here climbs 215 grey levels a pixel: 1/32 px of it is 7.
    assert differ.max() <= 7
    assert np.count_nonzero(differ) <= 0.02 * differ.size


def test_a_steep_perspective_is_warped_as_a_whole() -> None:
    page = _page()
    alignment = _alignment(0.05, 3e-4)
    assert np.array_equal(alignment.warp_page(page, INK_DPI), _reference(alignment, page))
