"""Aligning a scan to the form's layout: find the four corner markers, fit a homography.

The markers are solid 8 mm squares; nothing else on the form (QR finder patterns are 2.5 mm,
text is thin, stamps and signatures are not solid) looks like one. Their rectangle is not
square (182 × 269 mm between centres), so it tells portrait from landscape; whether the page
is upside down is told by where the QR code is.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from documents import layout
from documents.layout import Box
from ocr import blobs

# Work at low resolution to find the markers; refine their centres at full resolution.
SEARCH_DPI = 75.0
_MARKER_CENTRES_MM = np.array([b.centre for b in layout.MARKERS], dtype=np.float64)
_WIDTH_MM = _MARKER_CENTRES_MM[1, 0] - _MARKER_CENTRES_MM[0, 0]
_HEIGHT_MM = _MARKER_CENTRES_MM[3, 1] - _MARKER_CENTRES_MM[0, 1]
_ASPECT = _WIDTH_MM / _HEIGHT_MM
# How dark a marker is, on the flattened page: black; or, on a page whose black came out grey
# (light shone over it, worn toner), dark grey, as a printed value's strokes still are; or,
# where both at once (a worn toner's light lines through it and a gradient of light over it:
# augraphy's low ink under its lighting gradient), light grey.
MARKER_LEVELS = (110, 160, 190)
# Where a drum's band as dark as those levels runs through a marker, the two are one blob at
# each of them: the marker is then told by its own black against the band's grey (augraphy's
# dirty drum: a dense band at 107-130 of 255 on the flattened page; a dotted one's dots darker,
# but each far smaller than a marker).
MARKER_LEVELS_IN_BANDS = (80, 60)
# Three markers stand for four only at a right angle (a scan's skew keeps it one): the cosine
# of their corner's angle at most this (about 3°).
_THREE_MAX_OFF_SQUARE = 0.05
# The paper's grain (and a scanner's noise) is averaged over this before its brightness is
# estimated: about a third of a millimetre, a pixel at SEARCH_DPI.
_PAPER_GRAIN_MM = 0.34


@dataclass(frozen=True)
class Marker:
    """A dark square blob found on the page, in full-resolution pixels."""

    x: float
    y: float
    side: float


@dataclass(frozen=True)
class Displacement:
    """How far (mm) each part of the page lies from where the corner markers put it: `dx`,
    `dy` over the layout at `px_per_mm` (a fold moves a band of the page; see `ocr.unfold`)."""

    dx: np.ndarray
    dy: np.ndarray
    px_per_mm: float

    def at(self, x_mm: np.ndarray, y_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The displacement (mm) at layout points (float32 arrays of one shape)."""
        gx, gy = x_mm * self.px_per_mm, y_mm * self.px_per_mm
        return tuple(  # type: ignore[return-value]
            cv2.remap(grid, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            for grid in (self.dx, self.dy)
        )


@dataclass(frozen=True)
class Alignment:
    """Where the layout lies on the scan: `to_image` maps millimetres to scan pixels; on a
    page a fold moved, `displacement` says where each part of it lies beyond that."""

    to_image: np.ndarray
    markers: tuple[Marker, Marker, Marker, Marker]  # in layout order: TL, TR, BR, BL
    displacement: Displacement | None = None

    def image_point(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        p = self.to_image @ np.array([x_mm, y_mm, 1.0])
        return (float(p[0] / p[2]), float(p[1] / p[2]))

    def warp(
        self,
        image: np.ndarray,
        box: Box,
        px_per_mm: float,
        *,
        border: int = 255,
        near_px: float = 0.0,
    ) -> np.ndarray:
        """The part of the scan under `box`, resampled upright at `px_per_mm`. With `near_px`,
        for a picture only a person looks at: where the page's perspective moves no corner by
        more than `near_px` pixels of the scan from where an affine map puts it, the affine
        map is used (a 300 dpi page in 17 ms of CPU, not 43)."""
        width = max(1, round(box.w * px_per_mm))
        height = max(1, round(box.h * px_per_mm))
        # Output pixel (u, v) is layout point (box.x + u / s, box.y + v / s).
        out_to_mm = np.array(
            [[1 / px_per_mm, 0, box.x], [0, 1 / px_per_mm, box.y], [0, 0, 1]], dtype=np.float64
        )
        out_to_image = self.to_image @ out_to_mm
        if self.displacement is not None:
            return self._warp_displaced(image, box, px_per_mm, (width, height), border)
        if near_px > 0 and _affine_within(out_to_image, width, height, near_px):
            return cv2.warpAffine(
                image,
                out_to_image[:2] / out_to_image[2, 2],
                (width, height),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=border,
            )
        if width * height >= _TILED_MIN_PX:
            tiled = _warp_tiled(image, out_to_image, width, height, border)
            if tiled is not None:
                return tiled
        return cv2.warpPerspective(
            image,
            out_to_image,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )

    def _warp_displaced(
        self,
        image: np.ndarray,
        box: Box,
        px_per_mm: float,
        size: tuple[int, int],
        border: int,
    ) -> np.ndarray:
        """`warp` on a page a fold moved: each output pixel from its layout point moved by
        the displacement there, then through the homography."""
        assert self.displacement is not None
        width, height = size
        xs = (box.x + np.arange(width, dtype=np.float32) / px_per_mm).astype(np.float32)
        ys = (box.y + np.arange(height, dtype=np.float32) / px_per_mm).astype(np.float32)
        x_mm, y_mm = np.meshgrid(xs, ys)
        dx, dy = self.displacement.at(x_mm, y_mm)
        x_mm += dx
        y_mm += dy
        m = self.to_image.astype(np.float32)
        w = m[2, 0] * x_mm + m[2, 1] * y_mm + m[2, 2]
        map_x = (m[0, 0] * x_mm + m[0, 1] * y_mm + m[0, 2]) / w
        map_y = (m[1, 0] * x_mm + m[1, 1] * y_mm + m[1, 2]) / w
        return cv2.remap(
            image,
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )

    def warp_page(self, image: np.ndarray, dpi: float, *, near_px: float = 0.0) -> np.ndarray:
        page = Box(0.0, 0.0, layout.PAGE_WIDTH_MM, layout.PAGE_HEIGHT_MM)
        return self.warp(image, page, dpi / 25.4, near_px=near_px)


# A page's homography, over a tile of the output small enough, is an affine map to within
# this (px of the scan); OpenCV's affine warp costs less than half its perspective one.
# Interpolation works in 1/32 px: the tiles move no sample by more than a third of a step.
TILE_NEAR_PX = 0.01
# More tiles than this a side, and the page is warped as a whole: a photo's steep perspective.
_MOST_TILES = 16
# Outputs this big (px) are warped in tiles: a whole page. For a field's crop, working out the
# tiles would cost more than they save.
_TILED_MIN_PX = 1_000_000


def _warp_tiled(
    image: np.ndarray, out_to_image: np.ndarray, width: int, height: int, border: int
) -> np.ndarray | None:
    """The warp by `out_to_image` (output pixels to scan pixels), tile by tile, each tile by
    the affine map that touches the homography at its centre; None when that needs more than
    `_MOST_TILES` tiles a side."""
    m = out_to_image / out_to_image[2, 2]
    n = 1
    while n <= _MOST_TILES:
        edges_x = np.linspace(0, width, n + 1).round().astype(int)
        edges_y = np.linspace(0, height, n + 1).round().astype(int)
        maps, worst = _tangent_maps(m, edges_x, edges_y)
        if worst <= TILE_NEAR_PX:
            break
        # The error grows with the square of a tile's side: on to about enough at once.
        n = max(n + 1, math.ceil(n * math.sqrt(worst / TILE_NEAR_PX)))
    else:
        return None
    if len(maps) == 1:
        return cv2.warpAffine(
            image,
            maps[0],
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    out = np.empty((height, width, *image.shape[2:]), image.dtype)
    tiles = itertools.product(itertools.pairwise(edges_y), itertools.pairwise(edges_x))
    for ((y0, y1), (x0, x1)), local in zip(tiles, maps, strict=True):
        out[y0:y1, x0:x1] = cv2.warpAffine(
            image,
            local,
            (int(x1 - x0), int(y1 - y0)),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )
    return out


def _tangent_maps(
    m: np.ndarray, edges_x: np.ndarray, edges_y: np.ndarray
) -> tuple[list[np.ndarray], float]:
    """For each tile between the edges (row by row), the affine map from its own pixels to
    the scan that agrees with the homography `m` at the tile's centre, to first order; and
    the largest distance (px) between the two at a tile's corners and sides' middles."""
    cx = (edges_x[:-1] + edges_x[1:]) / 2
    cy = (edges_y[:-1] + edges_y[1:]) / 2
    ux, uy = np.meshgrid(cx, cy)
    px, py, pw = (m[i, 0] * ux + m[i, 1] * uy + m[i, 2] for i in range(3))
    x, y = px / pw, py / pw
    # The homography's derivatives at each centre.
    dxu, dxv = (m[0, 0] - x * m[2, 0]) / pw, (m[0, 1] - x * m[2, 1]) / pw
    dyu, dyv = (m[1, 0] - y * m[2, 0]) / pw, (m[1, 1] - y * m[2, 1]) / pw
    worst = 0.0
    half_w = (edges_x[1:] - edges_x[:-1])[None, :] / 2
    half_h = (edges_y[1:] - edges_y[:-1])[:, None] / 2
    for sx, sy in ((-1, -1), (1, -1), (-1, 1), (1, 1), (0, -1), (0, 1), (-1, 0), (1, 0)):
        du, dv = sx * half_w, sy * half_h
        qx, qy, qw = (m[i, 0] * (ux + du) + m[i, 1] * (uy + dv) + m[i, 2] for i in range(3))
        off = np.hypot(qx / qw - (x + dxu * du + dxv * dv), qy / qw - (y + dyu * du + dyv * dv))
        worst = max(worst, float(off.max()))
    # Each tile's map from its own pixels (u - x0, v - y0): its origin is its top left corner.
    x0, y0 = edges_x[:-1][None, :], edges_y[:-1][:, None]
    tx = x + dxu * (x0 - ux) + dxv * (y0 - uy)
    ty = y + dyu * (x0 - ux) + dyv * (y0 - uy)
    maps = [
        np.array([[dxu[i, j], dxv[i, j], tx[i, j]], [dyu[i, j], dyv[i, j], ty[i, j]]])
        for i in range(len(cy))
        for j in range(len(cx))
    ]
    return maps, worst


def _affine_within(out_to_image: np.ndarray, width: int, height: int, near_px: float) -> bool:
    """Whether the affine part of `out_to_image` puts each corner of the output within
    `near_px` of where the whole map does."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], float).T
    mapped = (out_to_image / out_to_image[2, 2]) @ corners
    exact = mapped[:2] / mapped[2]
    return bool(np.abs(exact - mapped[:2]).max() <= near_px)


def flatten_illumination(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The page with uneven light removed: each pixel divided by the paper's local brightness;
    and, when it comes of itself, the same at SEARCH_DPI (for `candidate_alignments`).

    The paper's brightness is estimated at low resolution, over a window wider than any
    printed mark (markers are 8 mm). An evenly lit page (a scanner) gets one brightness for
    the whole page, its brightest paper's. Otherwise the estimate is a morphological closing
    of the page smoothed a little: every darker mark narrower than the window is filled with
    the paper around it, while a shadow or a band of light wider than it keeps its own edges,
    and the smoothing makes it follow the paper's grey, not the brightest grains of its noise.
    A phone photo's vignetting, a dark table around the page and a shadow cast over it all
    come out white; ink stays dark.
    """
    scale = min(1.0, SEARCH_DPI / dpi)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    window = max(3, int(14 / 25.4 * dpi * scale) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (window, window))
    brightest = cv2.blur(cv2.dilate(small, kernel), (window, window))  # a box filter: O(1)
    low, high = np.percentile(brightest, (5, 95))
    if high - low <= 20:
        # Evenly lit: one brightness for the whole page, through a lookup table.
        table = np.clip(np.arange(256) * 255.0 / max(float(high), 40.0), 0, 255).astype(np.uint8)
        # The overview through the same table: within a grey level or two of the flattened
        # page reduced, and the markers it finds are refined on the page itself.
        return cv2.LUT(gray, table), cv2.LUT(small, table)
    # The local maximum reaches half a window into a shadow from the light beside it, and
    # picks the brightest grain of a dark one's noise: the closing does neither.
    grain = _PAPER_GRAIN_MM / 25.4 * dpi * scale
    paper = cv2.morphologyEx(cv2.GaussianBlur(small, (0, 0), grain), cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(paper, (0, 0), 2 * grain)  # the closing's square steps smoothed
    paper = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(paper, 40), scale=255), None


def find_markers(
    flat: np.ndarray, dpi: float, overview: np.ndarray | None = None, *, level: int = 110
) -> list[Marker]:
    """Solid, square, marker-sized blobs darker than `level`, biggest first (full-resolution
    coordinates). `overview` is the page already reduced to SEARCH_DPI, if it was."""
    scale = min(1.0, SEARCH_DPI / dpi)
    small = overview
    if small is None:
        # By a whole factor, near SEARCH_DPI: OpenCV averages whole blocks of pixels ten times
        # as fast as fractional ones (a fax: 204 dpi to 68, not 75).
        factor = max(1, round(dpi / SEARCH_DPI))
        scale = 1 / factor
        small = cv2.resize(flat, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    dark = (small < level).astype(np.uint8)
    # Fax damage cuts markers: a streak painted out leaves a thin vertical cut, lost scan
    # lines a horizontal one. Close gaps up to about 1.4 mm (markers stand 4 mm clear).
    ink = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    _, _, stats, centroids = blobs.components(ink)
    side = layout.MARKER_SIZE_MM / 25.4 * dpi * scale
    # A page has thousands of specks: judge them all at once, the few left one by one.
    w, h, area = (stats[:, k] for k in (cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    square = (0.45 * side <= w) & (w <= 1.8 * side) & (0.45 * side <= h) & (h <= 1.8 * side)
    square &= (np.maximum(w, h) <= 1.5 * np.minimum(w, h)) & (area >= 0.6 * w * h)
    square &= (0.2 * side * side <= area) & (area <= 3.0 * side * side)
    square[0] = False  # the background
    found = []
    for i in np.flatnonzero(square):
        cx, cy = centroids[i]
        found.append(Marker(cx / scale, cy / scale, math.sqrt(int(area[i])) / scale))
    found.sort(key=lambda m: -m.side)
    return found[:12]


def _convex_order(points: np.ndarray) -> np.ndarray:
    """Indices of four points in clockwise order (image y down), starting anywhere."""
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    return np.argsort(angles)


def _quad_cost(markers: tuple[Marker, ...]) -> tuple[float, tuple[int, ...]] | None:
    """How far four markers are from the layout's marker rectangle (lower is better)."""
    pts = np.array([(m.x, m.y) for m in markers])
    order = _convex_order(pts)
    quad = pts[order]
    sides = [float(np.linalg.norm(quad[(i + 1) % 4] - quad[i])) for i in range(4)]
    if min(sides) <= 0:
        return None
    across = ((sides[0] + sides[2]) / 2, (sides[1] + sides[3]) / 2)
    opposite = max(
        sides[0] / sides[2], sides[2] / sides[0], sides[1] / sides[3], sides[3] / sides[1]
    )
    if opposite > 1.45:
        return None
    aspect = min(across) / max(across)
    if not 0.5 <= aspect <= 0.9:
        return None
    sizes = [m.side for m in markers]
    if max(sizes) > 1.8 * min(sizes):
        return None
    # A marker is 8 mm against 182 mm between the centres along the short side.
    relative = (sum(sizes) / 4) / min(across)
    expected = layout.MARKER_SIZE_MM / _WIDTH_MM
    if not 0.55 * expected <= relative <= 1.8 * expected:
        return None
    cost = (
        abs(math.log(aspect / _ASPECT))
        + abs(math.log(opposite))
        + abs(math.log(relative / expected))
    )
    return cost, tuple(int(i) for i in order)


def candidate_alignments(
    flat: np.ndarray, dpi: float, overview: np.ndarray | None = None
) -> list[Alignment]:
    """The two readings of the best marker rectangle: upright and turned by 180°.

    Which side is the top is decided by the caller (from the QR code's position, or by which
    alignment shows a QR-like pattern in the QR box). Empty when no marker rectangle is found.

    The markers are looked for as black first. A page whose black came out grey (light shone
    over it, a worn toner) has them looked for again as dark grey; and where a fourth marker
    cannot be told (a streak of a dirty drum runs through it, merging it with the band), the
    three that can fix the rectangle, the fourth corner completing it. Only where neither
    finds them are they looked for as black against a band's grey (`MARKER_LEVELS_IN_BANDS`).
    """
    ring = _marker_ring(flat, dpi, overview)
    if ring is None:
        return []
    # In clockwise order, the layout's top edge (TL→TR) is a short side.
    d01 = math.hypot(ring[1].x - ring[0].x, ring[1].y - ring[0].y)
    d12 = math.hypot(ring[2].x - ring[1].x, ring[2].y - ring[1].y)
    start = 0 if d01 < d12 else 1
    upright = [ring[(start + k) % 4] for k in range(4)]
    turned = upright[2:] + upright[:2]
    return [_alignment(upright), _alignment(turned)]


def _marker_ring(flat: np.ndarray, dpi: float, overview: np.ndarray | None) -> list[Marker] | None:
    """The four markers in clockwise order, found (or the fourth completed from three) at the
    first of the levels that finds them."""
    for levels in (MARKER_LEVELS, MARKER_LEVELS_IN_BANDS):
        for level in levels:
            ring = _best_ring(find_markers(flat, dpi, overview, level=level))
            if ring is not None:
                return [_refine(flat, m, level) for m in ring]
        for level in levels:
            three = _best_three(find_markers(flat, dpi, overview, level=level))
            if three is not None:
                return _completed([_refine(flat, m, level) for m in three])
    return None


def _best_ring(markers: list[Marker]) -> list[Marker] | None:
    """The four markers that lie most like the layout's rectangle, in clockwise order."""
    best: tuple[float, list[Marker]] | None = None
    for combo in itertools.combinations(markers, 4):
        scored = _quad_cost(combo)
        if scored is None:
            continue
        cost, order = scored
        if best is None or cost < best[0]:
            best = (cost, [combo[i] for i in order])
    return None if best is None else best[1]


def _best_three(markers: list[Marker]) -> list[Marker] | None:
    """Three markers that meet at a right angle and, with the fourth corner completing
    their rectangle, lie most like the layout's: the corner between the other two first."""
    best: tuple[float, list[Marker]] | None = None
    for combo in itertools.combinations(markers, 3):
        for corner in range(3):
            others = [combo[k] for k in range(3) if k != corner]
            three = [combo[corner], *others]
            square = _off_square(three)
            if square > _THREE_MAX_OFF_SQUARE:
                continue
            scored = _quad_cost(tuple(_completed(three)))
            if scored is not None and (best is None or scored[0] + square < best[0]):
                best = (scored[0] + square, three)
    return None if best is None else best[1]


def _off_square(three: list[Marker]) -> float:
    """How far from a right angle the corner of three markers (the corner first) is: the
    cosine of its angle."""
    corner, a, b = three
    u = np.array([a.x - corner.x, a.y - corner.y])
    v = np.array([b.x - corner.x, b.y - corner.y])
    return abs(float(u @ v)) / max(float(np.linalg.norm(u) * np.linalg.norm(v)), 1e-9)


def _completed(three: list[Marker]) -> list[Marker]:
    """The three markers (their corner first) and the fourth, opposite their corner, in
    clockwise order round the rectangle."""
    corner, a, b = three
    fourth = Marker(a.x + b.x - corner.x, a.y + b.y - corner.y, (a.side + b.side) / 2)
    ring = [a, corner, b, fourth]
    order = _convex_order(np.array([(m.x, m.y) for m in ring]))
    return [ring[i] for i in order]


def _alignment(markers: list[Marker]) -> Alignment:
    image_pts = np.array([(m.x, m.y) for m in markers], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(_MARKER_CENTRES_MM.astype(np.float32), image_pts)
    return Alignment(to_image=matrix, markers=(markers[0], markers[1], markers[2], markers[3]))


def _refine(flat: np.ndarray, marker: Marker, level: int) -> Marker:
    """The marker's centre at full resolution: the centroid of its dark pixels nearby."""
    r = int(marker.side * 1.1) + 2
    x0, y0 = max(0, int(marker.x) - r), max(0, int(marker.y) - r)
    x1, y1 = min(flat.shape[1], int(marker.x) + r + 1), min(flat.shape[0], int(marker.y) + r + 1)
    crop = flat[y0:y1, x0:x1]
    if crop.size == 0:
        return marker
    ink = (crop < level).astype(np.uint8)
    count, _, stats, centroids = blobs.components(ink)
    if count < 2:
        return marker
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    cx, cy = centroids[biggest]
    return Marker(x0 + float(cx), y0 + float(cy), math.sqrt(float(stats[biggest, 4])))


def nearest_marker(alignment: Alignment, x: float, y: float) -> int:
    """Index (layout order) of the marker nearest to an image point."""
    distances = [math.hypot(m.x - x, m.y - y) for m in alignment.markers]
    return int(np.argmin(distances))
