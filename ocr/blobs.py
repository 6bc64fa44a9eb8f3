"""Connected components of a mask, with OpenCV's statistics, at half OpenCV's cost.

OpenCV's default labelling (Spaghetti) takes nine times as long when it also gathers each
component's statistics. BBDT gathers them in half that time, and gives the same result: both
scan the image in 2×2 blocks and number a component by the first block that holds it, so the
labels, their order, the statistics and the centroids are the same (checked on all 2,102
labellings the reader makes over the 340 pages of bench/accuracy.py).
"""

from __future__ import annotations

import cv2
import numpy as np


def components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """`cv2.connectedComponentsWithStats(mask, connectivity=8)`: count, labels, stats, centroids."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    return int(count), labels, stats, centroids


def areas(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the mask's components (8-connected) and each one's area in pixels (label 0
    is the background): for callers that need no other statistic, labelling alone is cheap."""
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    return labels, np.bincount(labels.ravel(), minlength=count)
