"""Finding a company stamp in the party's ink, by its shape: a ring, a frame, or lines of text.

A signature is a few long cursive strokes; a stamp is geometric: a circle (round stamps), a
rectangle of straight lines (framed stamps), or rows of small letters of one height
(Polish stamps are often just that). Each finding gives the stamp's footprint, so that the
part of a stamp pressed over the signature box is never taken for a signature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

ROUND_RADIUS_MM = (10.0, 20.0)
RING_COVERAGE = 0.55
FRAME_LINE_MIN_MM = 25.0
FRAME_HEIGHT_MM = (7.0, 40.0)
LETTER_HEIGHT_MM = (1.2, 6.0)
TEXT_ROW_MIN_MM = 18.0


@dataclass(frozen=True)
class Stamp:
    """A stamp impression: how it was recognised, and where it lies (mask of the footprint)."""

    kind: str  # "round", "framed" or "text"
    footprint: np.ndarray
    width_mm: float
    height_mm: float


def find_stamps(ink: np.ndarray, px_per_mm: float) -> list[Stamp]:
    """Every stamp impression in a mask of the party's ink (1 = ink)."""
    found: list[Stamp] = []
    covered = np.zeros_like(ink)
    for finder in (_round, _framed, _text_block):
        for stamp in finder(ink & (1 - covered), px_per_mm):
            found.append(stamp)
            covered |= stamp.footprint
    return found


def footprint_of(stamps: list[Stamp], shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    for stamp in stamps:
        mask |= stamp.footprint
    return mask


def _round(ink: np.ndarray, ppm: float) -> list[Stamp]:
    """Rings: a circle of the right size along which most of the circumference is inked."""
    if ink.sum() < 40 * ppm:
        return []
    smooth = cv2.GaussianBlur(ink * 255, (0, 0), max(1.0, 0.4 * ppm))
    r_min, r_max = (round(r * ppm) for r in ROUND_RADIUS_MM)
    try:
        circles = cv2.HoughCircles(
            smooth,
            cv2.HOUGH_GRADIENT,
            dp=1.5,
            minDist=2 * r_min,
            param1=100,
            param2=22,
            minRadius=r_min,
            maxRadius=r_max,
        )
    except cv2.error:  # OpenCV raises on odd inputs; a missed ring is better than a crash
        return []
    if circles is None:
        return []
    found = []
    # HoughCircles lists the best-supported circles first.
    for x, y, r in circles.reshape(-1, 3).tolist()[:8]:
        radius = _best_ring(ink, x, y, r, ppm)
        if radius is None:
            continue
        mask = np.zeros_like(ink)
        cv2.circle(mask, (round(x), round(y)), round(radius + 1.2 * ppm), 1, thickness=-1)
        size = 2 * radius / ppm
        found.append(Stamp("round", mask, size, size))
    return found


def _coverage(ink: np.ndarray, x: float, y: float, r: float, ppm: float) -> float:
    """Share of the circle's circumference with ink within 0.6 mm of it."""
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8), iterations=max(1, round(0.6 * ppm / 2)))
    angles = np.linspace(0, 2 * math.pi, 180, endpoint=False)
    xs = np.round(x + r * np.cos(angles)).astype(int)
    ys = np.round(y + r * np.sin(angles)).astype(int)
    inside = (xs >= 0) & (ys >= 0) & (xs < ink.shape[1]) & (ys < ink.shape[0])
    if inside.sum() < 90:
        return 0.0
    return float(near[ys[inside], xs[inside]].mean())


def _best_ring(ink: np.ndarray, x: float, y: float, r: float, ppm: float) -> float | None:
    """The outer radius of a stamp whose ring passes near (x, y, r), if it is inked well enough
    to be a ring. Round stamps have two rings: whichever was found, the outer one bounds it."""
    best, best_r = 0.0, r
    for dr in np.arange(-1.5, 1.6, 0.5) * ppm:
        cover = _coverage(ink, x, y, r + dr, ppm)
        if cover > best:
            best, best_r = cover, r + dr
    if best < RING_COVERAGE:
        return None
    outer = best_r
    for dr in np.arange(2.0, 8.5, 0.5) * ppm:
        if _coverage(ink, x, y, best_r + dr, ppm) >= RING_COVERAGE:
            outer = best_r + dr
    return float(outer)


def _framed(ink: np.ndarray, ppm: float) -> list[Stamp]:
    """Frames: two long, nearly horizontal lines one above the other, with ink between."""
    try:
        lines = cv2.HoughLinesP(
            ink * 255,
            rho=1,
            theta=math.pi / 360,
            threshold=round(12 * ppm),
            minLineLength=round(FRAME_LINE_MIN_MM * ppm),
            maxLineGap=round(2.5 * ppm),
        )
    except cv2.error:
        return []
    if lines is None:
        return []
    level = [
        (x0, y0, x1, y1)
        for x0, y0, x1, y1 in lines.reshape(-1, 4).tolist()
        if abs(math.degrees(math.atan2(y1 - y0, x1 - x0))) <= 8
        or abs(abs(math.degrees(math.atan2(y1 - y0, x1 - x0))) - 180) <= 8
    ]
    found = []
    used: set[int] = set()
    for i, top in enumerate(level):
        for j, bottom in enumerate(level):
            if i == j or i in used or j in used:
                continue
            frame = _frame_between(ink, top, bottom, ppm)
            if frame is not None:
                found.append(frame)
                used |= {i, j}
    return found


def _frame_between(
    ink: np.ndarray, top: tuple[float, ...], bottom: tuple[float, ...], ppm: float
) -> Stamp | None:
    t_y, b_y = (top[1] + top[3]) / 2, (bottom[1] + bottom[3]) / 2
    gap_mm = (b_y - t_y) / ppm
    if not FRAME_HEIGHT_MM[0] <= gap_mm <= FRAME_HEIGHT_MM[1]:
        return None
    left = max(min(top[0], top[2]), min(bottom[0], bottom[2]))
    right = min(max(top[0], top[2]), max(bottom[0], bottom[2]))
    shorter = min(abs(top[2] - top[0]), abs(bottom[2] - bottom[0]))
    if right - left < 0.6 * shorter:
        return None
    x0 = round(min(top[0], top[2], bottom[0], bottom[2]))
    x1 = round(max(top[0], top[2], bottom[0], bottom[2]))
    inner = ink[round(t_y + ppm) : round(b_y - ppm), x0:x1]
    if inner.size == 0 or not 0.02 <= float(inner.mean()) <= 0.5:
        return None  # a frame holds text; two strokes of a signature hold little or a scrawl
    mask = np.zeros_like(ink)
    pad = round(1.5 * ppm)
    mask[max(0, round(t_y) - pad) : round(b_y) + pad, max(0, x0 - pad) : x1 + pad] = 1
    return Stamp("framed", mask, (x1 - x0) / ppm, gap_mm)


def _text_block(ink: np.ndarray, ppm: float) -> list[Stamp]:
    """Two or more rows of letters of one height: a stamp without a frame."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h_min, h_max = (h * ppm for h in LETTER_HEIGHT_MM)
    letters = [
        i
        for i in range(1, count)
        if h_min <= stats[i, cv2.CC_STAT_HEIGHT] <= h_max
        and stats[i, cv2.CC_STAT_WIDTH] <= 12 * ppm
        and stats[i, cv2.CC_STAT_AREA]
        >= 0.12 * stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT]
    ]
    if len(letters) < 8:
        return []
    # Rows: letters whose centres share a line, spanning enough width.
    rows: list[list[int]] = []
    for i in sorted(letters, key=lambda k: centroids[k][1]):
        for row in rows:
            last = row[-1]
            height = stats[last, cv2.CC_STAT_HEIGHT]
            same_line = abs(centroids[i][1] - centroids[last][1]) <= 0.6 * height
            similar = 0.6 <= stats[i, cv2.CC_STAT_HEIGHT] / height <= 1.7
            if same_line and similar:
                row.append(i)
                break
        else:
            rows.append([i])
    long_rows = []
    for row in rows:
        xs = [stats[k, cv2.CC_STAT_LEFT] for k in row] + [
            stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH] for k in row
        ]
        if len(row) >= 5 and (max(xs) - min(xs)) >= TEXT_ROW_MIN_MM * ppm:
            long_rows.append(row)
    if len(long_rows) < 2:
        return []
    members = [k for row in long_rows for k in row]
    points = np.concatenate(
        [np.column_stack(np.nonzero(labels == k)[::-1]) for k in members]
    ).astype(np.int32)
    hull = cv2.convexHull(points)
    mask = np.zeros_like(ink)
    cv2.fillConvexPoly(mask, hull, 1)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=round(1.0 * ppm))
    _, _, w, h = cv2.boundingRect(hull)
    return [Stamp("text", mask, w / ppm, h / ppm)]
