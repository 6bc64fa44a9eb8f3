"""Labelling components: the quicker algorithm gives exactly what OpenCV's default gives.

GIVEN masks of every density (specks, strokes, solid blocks), of odd and even sizes, WHEN
`ocr.blobs` labels them THEN the labels, their order, the statistics and the centroids are
those of `cv2.connectedComponentsWithStats`: the marker search and the stamp search depend on
that order where two components tie.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr import blobs


def _masks() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    masks = []
    for density in (0.003, 0.01, 0.2, 0.5, 0.8):
        for height, width in (
            (1, 1),
            (1, 37),
            (37, 1),
            (64, 64),
            (101, 203),
            (300, 1016),
            (877, 620),
        ):
            noise = (rng.random((height, width)) < density).astype(np.uint8)
            masks.append(noise)
            # Smoothed noise: blobs and strokes of many sizes, touching the edges.
            blurred = cv2.GaussianBlur(noise * 255, (0, 0), 2.0)
            masks.append((blurred > 255 * density).astype(np.uint8))
    return masks


@pytest.mark.parametrize("mask", _masks())
def test_components_are_opencv_s_own(mask: np.ndarray) -> None:
    count, labels, stats, centroids = blobs.components(mask)
    want = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert count == want[0]
    assert np.array_equal(labels, want[1])
    assert np.array_equal(stats, want[2])
    assert np.array_equal(centroids, want[3], equal_nan=True)  # no background: NaN
    labels_only, areas = blobs.areas(mask)
    assert np.array_equal(labels_only, want[1])
    assert np.array_equal(areas, want[2][:, cv2.CC_STAT_AREA])
