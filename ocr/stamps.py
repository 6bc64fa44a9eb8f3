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

from ocr import blobs
from ocr.folds import MOVE_MAX_MM, STRIP_MARGIN_MM

ROUND_RADIUS_MM = (10.0, 20.0)
RING_COVERAGE = 0.55
QUARTER_COVERAGE = 0.2  # and in each quarter of the circle
RING_ALONE = 0.4  # inked with nothing just outside it
RING_ALONG = 0.9  # of its inked points, those where the ink runs along the circle
# A round stamp has two rings, its name set between them.
RING_APART_MM = (3.0, 7.5)
SECOND_RING_COVERAGE = 0.45
# A ring inked this well all the way round stands without a second one: a standard fax (98
# lines an inch) loses a stamp's thinner ring, or the gap between its two.
LONE_RING_COVERAGE = 0.7
FRAME_LINE_MIN_MM = 25.0
FRAME_LINE_MAX_MM = 100.0  # a stamp is narrower; a streak runs across the page
FRAME_HEIGHT_MM = (7.0, 40.0)
FRAME_ENDS_MM = 4.0  # how far apart the ends of a frame's top and bottom edges may lie
FRAME_SIDE_ROWS = 0.8  # of the rows between a frame's edges, those its side is inked on
LETTER_HEIGHT_MM = (1.2, 6.0)
TEXT_ROW_MIN_MM = 18.0
MIN_LETTERS = 8
MIN_LETTERS_PER_HEIGHT = 0.5  # letters per letter-height of the row's length


@dataclass(frozen=True)
class Stamp:
    """A stamp impression: how it was recognised, and where it lies (mask of the footprint)."""

    kind: str  # "round", "framed" or "text"
    footprint: np.ndarray
    width_mm: float
    height_mm: float


def find_stamps(
    ink: np.ndarray,
    px_per_mm: float,
    *,
    blind: np.ndarray | None = None,
    dotted: np.ndarray | None = None,
) -> list[Stamp]:
    """Every stamp impression in a mask of the party's ink (1 = ink, specks removed).

    `dotted` is the same ink with its specks: a faxed ring may be nothing but dots. `blind`
    marks where ink could not be told (along the form's own box edges): a ring crossing it
    is not held to have gaps there."""
    found: list[Stamp] = []
    covered = np.zeros_like(ink)
    blind = np.zeros_like(ink) if blind is None else blind
    for stamp in _round(ink if dotted is None else dotted, px_per_mm, blind):
        found.append(stamp)
        covered |= stamp.footprint
    rest = ink & (1 - covered)
    # Unless a frame is found, the text search looks at the ink the frame search labelled.
    frames, components = _framed(rest, px_per_mm)
    for stamp in frames:
        found.append(stamp)
        covered |= stamp.footprint
    if frames:
        rest, components = ink & (1 - covered), None
    found.extend(_text_block(rest, px_per_mm, components=components))
    return found


def find_faint_stamps(
    faint: np.ndarray,
    ink: np.ndarray,
    px_per_mm: float,
    *,
    stamp_box: tuple[int, int] | None = None,
) -> list[Stamp]:
    """Stamps pressed too pale for the ink mask: looked for in `faint`, the party's ink at a
    lighter level of grey, where a pale stamp's letters and lines are whole again. A frame
    whose edges the ink mask (`ink`) holds in part, with letters inside: the form's printing
    seen through from the back, or shading, is as light as a pale stamp (mirrored captions
    are rows of letters), but has no frame's edges in the page's ink. A frame paler than
    that (an edge of it, or both, held less: a stamp under light shone from one side) is
    one only closed on all four sides, letters inside, within the stamp's box (`stamp_box`,
    its left and right in px): the back's boxes seen through lie along the form's own edges,
    where nothing is looked at, and the back's stamp, mirrored, over the signature's box.
    Rings are not looked for: at a lighter grey a pen's strokes come out thicker, and a
    signature's loop followed a ring well enough (a fine PC fax, the bench's case 0)."""
    level = _level_lines(faint, px_per_mm)
    # Ink within half a millimetre of a point: an edge's darker stretches, a little off it.
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8), iterations=max(1, round(0.5 * px_per_mm / 2)))
    held = [_in_ink(near, line) >= FAINT_EDGE_IN_INK for line in level]
    for top, top_held in zip(level, held, strict=True):
        for bottom, bottom_held in zip(level, held, strict=True):
            if not (top_held and bottom_held) and (
                stamp_box is None or not _closed_within(faint, top, bottom, px_per_mm, stamp_box)
            ):
                continue
            frame = _frame_between(faint, top, bottom, px_per_mm)
            if frame is not None and _letters_inside(faint, top, bottom, px_per_mm):
                return [frame]
    return []


def _closed_within(
    faint: np.ndarray,
    top: tuple[float, ...],
    bottom: tuple[float, ...],
    ppm: float,
    stamp_box: tuple[int, int],
) -> bool:
    """Whether the frame between `top` and `bottom` has both its sides, and lies within
    `stamp_box` (left and right, px) give or take FRAME_ENDS_MM."""
    t_y, b_y, left, right = _between(top, bottom)
    slack = FRAME_ENDS_MM * ppm
    if left < stamp_box[0] - slack or right > stamp_box[1] + slack:
        return False
    return _side(faint, left, t_y, b_y, ppm) and _side(faint, right, t_y, b_y, ppm)


# A pale frame's edge: of its length, the share the ink mask holds (a pale stamp's frame is
# inked unevenly, and its darker stretches reach the ink mask).
FAINT_EDGE_IN_INK = 0.15


def _in_ink(near: np.ndarray, line: tuple[float, ...]) -> float:
    """The share of the line's length on `near` (the ink mask, widened)."""
    x0, y0, x1, y1 = line
    xs = np.arange(round(x0), round(x1) + 1)
    ys = np.round(y0 + (y1 - y0) * (xs - x0) / max(1, x1 - x0)).astype(int)
    inside = (ys >= 0) & (ys < near.shape[0]) & (xs >= 0) & (xs < near.shape[1])
    return float(near[ys[inside], xs[inside]].mean()) if inside.any() else 0.0


def _letters_inside(
    faint: np.ndarray, top: tuple[float, ...], bottom: tuple[float, ...], ppm: float
) -> bool:
    """Whether letters lie between a frame's edges, MIN_LETTERS of them at least: a stamp's
    name and number. Their rows may be broken (by the bands along the form's lines, or a
    letter still too pale), so the letters are counted, not their rows."""
    t_y, b_y, left, right = _between(top, bottom)
    inside = faint[round(t_y + ppm) : round(b_y - ppm), round(left) : round(right)]
    if inside.size == 0:
        return False
    _, stats, _ = _components(inside)
    return len(_letters(stats, ppm)) >= MIN_LETTERS


def pen_strokes(ink: np.ndarray, ppm: float, *, boxed: bool = False) -> np.ndarray:
    """The marks that can be a pen's: what is left when the pieces a stamp leaves behind are
    taken out — marks of a letter's size, straight rules (a frame's dashes) and arcs of a
    stamp-sized circle (a ring). A signature's strokes are long and curve every which way.
    `boxed`: `ink` is the inside of a printed box, whose edges a crease bent are taken out
    too (`_bent_edge`)."""
    _, labels, stats, _ = blobs.components(ink)
    keep = np.zeros(len(stats), dtype=np.uint8)
    for i in range(1, len(stats)):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if max(w, h) < LETTER_HEIGHT_MM[1] * 0.75 * ppm:
            continue
        # The mark's pixels in the order a search of the whole mask gives them.
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        points = np.column_stack((xs + x, ys + y)).astype(np.float32)
        if (
            _straight(points, ppm)
            or _ring_arc(points, ppm)
            or _frame_piece(points, ppm)
            or _frame_corner(points, ppm)
            or (boxed and _bent_edge(points, ppm, ink.shape))
        ):
            continue
        keep[i] = 1
    return keep[labels]


def _straight(points: np.ndarray, ppm: float) -> bool:
    return _line_along(points, ppm) is not None


def _line_along(points: np.ndarray, ppm: float) -> np.ndarray | None:
    """The direction (a unit vector) of the line the points lie along, within a stroke's
    width, as a rule's do; None when they do not."""
    vx, vy, x0, y0 = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    distance = np.abs((points[:, 0] - x0) * vy - (points[:, 1] - y0) * vx)
    if float(np.percentile(distance, 95)) > 0.6 * ppm:
        return None
    return np.array([vx, vy])


# A box's edge a crease bent is straight on either side of the bend, which lies anywhere
# between this share of its length from either end. Each side is this long at least (mm) and
# turns from the other by this much at most (degrees): the bench's creases bent a signature
# box's edge into V's whose sides turn by 26–42°. The edge's ends lie where the fold moved it
# no further than `ocr.folds` follows a moved line, which took it off there (a strip a
# little wider): each within this reach of the box's side (mm, the box's inside beginning
# 0.6 mm in), the edge running along the side within `_BENT_ALONG`.
_BENDS = np.linspace(0.2, 0.8, 13)
_BENT_SIDE_MM = 4.0
_BENT_TURN_DEGREES = 60.0
_BENT_REACH_MM = MOVE_MAX_MM + STRIP_MARGIN_MM + 1.0
_BENT_ALONG = math.cos(math.radians(30.0))


def _bent_edge(points: np.ndarray, ppm: float, shape: tuple[int, ...]) -> bool:
    """Points along two straight sides meeting at a gentle bend, along a side of the box
    `shape` is the inside of, both ends near it: the box's edge a crease bent further than
    `ocr.folds` follows a moved line (into a V 11 mm deep). A signature's strokes curve all
    along, and a letter's stem and foot turn sharply."""
    if len(points) < 20:
        return False
    vx, vy, x0, y0 = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    along = (points[:, 0] - x0) * vx + (points[:, 1] - y0) * vy
    ends = points[[int(np.argmin(along)), int(np.argmax(along))]]
    if not _near_one_side(ends, (float(vx), float(vy)), ppm, shape):
        return False
    ordered = np.sort(along)
    for share in _BENDS:
        bend = ordered[int(share * (len(ordered) - 1))]
        before = _side_direction(points[along <= bend], ppm)
        after = _side_direction(points[along >= bend], ppm)
        if (
            before is not None
            and after is not None
            and abs(float(np.dot(before, after))) >= math.cos(math.radians(_BENT_TURN_DEGREES))
        ):
            return True
    return False


def _near_one_side(
    ends: np.ndarray, direction: tuple[float, float], ppm: float, shape: tuple[int, ...]
) -> bool:
    """Whether both `ends` lie within `_BENT_REACH_MM` of one side of the box `shape` is the
    inside of, and `direction` runs along that side."""
    height, width = shape[0], shape[1]
    reach = _BENT_REACH_MM * ppm
    xs, ys = ends[:, 0], ends[:, 1]
    across = abs(direction[0]) >= _BENT_ALONG  # along the top or the bottom
    upright = abs(direction[1]) >= _BENT_ALONG  # along the left or the right side
    return bool(
        (across and (ys.max() <= reach or ys.min() >= height - 1 - reach))
        or (upright and (xs.max() <= reach or xs.min() >= width - 1 - reach))
    )


def _side_direction(points: np.ndarray, ppm: float) -> np.ndarray | None:
    """The direction of a bent edge's side (a unit vector), or None when the points are not
    one: too few, too short (`_BENT_SIDE_MM`) or not straight."""
    direction = _line_along(points, ppm) if len(points) >= 10 else None
    if direction is None:
        return None
    along = points @ direction
    if float(along.max() - along.min()) < _BENT_SIDE_MM * ppm:
        return None
    return direction


# A frame's piece: at least this deep across its rectangle (mm), its ink within a stroke's
# width and a little skew (a stamp pressed askew, a fold's shear) of the rectangle's sides.
_FRAME_PIECE_MIN_MM = 5.0
_FRAME_PIECE_NEAR_MM = 1.0
# A frame's corner: the points this near two of its rectangle's sides (mm).
_FRAME_CORNER_MM = 1.5


def _frame_piece(points: np.ndarray, ppm: float) -> bool:
    """Points along the sides of the rectangle around them: a frame's corner or its three
    sides, cut off from the rest of a stamp (by the bands along the form's lines, or a fold
    that moved them) — or a box's own edges bent by a fold. A signature's strokes cross the
    inside of the rectangle they span."""
    if len(points) < 10:
        return False
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if min(w, h) < _FRAME_PIECE_MIN_MM * ppm:
        return False  # a rule, a dash or a flat stroke: `_straight` judges it
    theta = math.radians(angle)
    dx, dy = points[:, 0] - cx, points[:, 1] - cy
    along = dx * math.cos(theta) + dy * math.sin(theta)
    across = -dx * math.sin(theta) + dy * math.cos(theta)
    # Each point's distance to each of the rectangle's four sides.
    sides = np.abs(np.stack([along - w / 2, along + w / 2, across - h / 2, across + h / 2]))
    to_side = sides.min(axis=0)
    if float(np.percentile(to_side, 95)) <= _FRAME_PIECE_NEAR_MM * ppm:
        return True
    return _straight_sides(points, sides, ppm)


# A frame's corner cut off from the rest of it: two straight arms this long at least (mm),
# meeting at a right angle give or take this much (degrees). Over the genuine pages of 10
# cases under 10 captures (200), no signature's mark was taken for one.
_CORNER_ARM_MM = 5.0
_CORNER_SKEW_DEGREES = 30.0
_CORNER_NEAR_MM = 0.6  # as near an arm as a rule's points lie to its line (`_line_along`)


def _frame_corner(points: np.ndarray, ppm: float) -> bool:
    """Points along two straight arms meeting at about a right angle: a frame's corner a
    fold cut off and skewed (a worn copy's framed stamp: its corner's arms at 85°, which no
    rectangle around them has along its sides, as `_frame_piece` wants). The corner is the
    point farthest from the line between the mark's two ends; a signature's strokes curve
    between them."""
    if len(points) < 20:
        return False
    centre = points.mean(axis=0)
    first = points[int(np.argmax(((points - centre) ** 2).sum(axis=1)))]
    second = points[int(np.argmax(((points - first) ** 2).sum(axis=1)))]
    chord = second - first
    if not chord.any():
        return False
    off_chord = np.abs((points[:, 0] - first[0]) * chord[1] - (points[:, 1] - first[1]) * chord[0])
    corner = points[int(np.argmax(off_chord))]
    arms, length = [], 0.0
    for end in (first, second):
        arm = end - corner
        reach = float(np.hypot(*arm))
        if reach < _CORNER_ARM_MM * ppm:
            return False
        arms.append(arm / reach)
        length += reach
    # A signature's strokes wander off the two arms. Nineteen points in twenty lie near them,
    # first counted (more than two strips along the arms hold), then measured.
    near = _CORNER_NEAR_MM * ppm
    if 0.95 * len(points) > (length + 2 * near) * (2 * near + 1):
        return False
    off_first, off_second = (_off_line(points, corner, arm) for arm in arms)
    if np.count_nonzero(np.minimum(off_first, off_second) > near) > 0.05 * len(points):
        return False
    # Each point belongs to the arm it lies nearer.
    nearer_first = off_first <= off_second
    directions = [
        _side_direction(points[nearer_first], ppm),
        _side_direction(points[~nearer_first], ppm),
    ]
    if directions[0] is None or directions[1] is None:
        return False
    skew = abs(float(np.dot(directions[0], directions[1])))
    return skew <= math.sin(math.radians(_CORNER_SKEW_DEGREES))


def _off_line(points: np.ndarray, origin: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Each point's distance from the ray from `origin` along `direction` (unit)."""
    relative = points - origin
    along = np.clip(relative @ direction, 0, None)
    return np.hypot(*(relative - along[:, None] * direction).T)


def _straight_sides(points: np.ndarray, sides: np.ndarray, ppm: float) -> bool:
    """Points along straight sides, each nearest one side of the rectangle around them: a
    frame a fold sheared and bent at its crease, no longer a rectangle but each of its sides
    still a rule. The corners, near two sides, are left out; each side's points lie along
    a line as a rule's do (`_straight`). A signature's strokes curve."""
    nearest = np.sort(sides, axis=0)
    corner = nearest[1] <= _FRAME_CORNER_MM * ppm
    side = np.argmin(sides, axis=0)
    judged, straight_sides = 0, 0
    for index in range(4):
        own = points[(side == index) & ~corner]
        if len(own) < 10:
            continue
        if not _straight(own, ppm):
            return False
        judged += len(own)
        straight_sides += 1
    # A corner at least, and most of the mark judged: corners are its least part.
    return straight_sides >= 2 and judged >= 0.6 * len(points)


def _ring_arc(points: np.ndarray, ppm: float) -> bool:
    """Points along an arc of a circle the size of a stamp's ring (least squares fit)."""
    if len(points) < 10:
        return False
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    design = np.column_stack([x, y, np.ones_like(x)])
    solution, *_ = np.linalg.lstsq(design, x * x + y * y, rcond=None)
    cx, cy = solution[0] / 2, solution[1] / 2
    radius_sq = solution[2] + cx * cx + cy * cy
    if radius_sq <= 0:
        return False
    radius = math.sqrt(radius_sq)
    residual = np.abs(np.hypot(x - cx, y - cy) - radius)
    low, high = ROUND_RADIUS_MM
    return (
        low * 0.9 * ppm <= radius <= high * 1.1 * ppm
        and float(np.percentile(residual, 95)) <= 0.6 * ppm
    )


def footprint_of(stamps: list[Stamp], shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    for stamp in stamps:
        mask |= stamp.footprint
    return mask


def _round(ink: np.ndarray, ppm: float, blind: np.ndarray) -> list[Stamp]:
    """Rings: a circle of the right size along which most of the circumference is inked, by
    ink that runs round it (`_along`)."""
    if ink.sum() < 40 * ppm:
        return []
    smooth = cv2.GaussianBlur(ink * 255, (0, 0), max(1.0, 0.4 * ppm))
    # The circles are looked for at half the mask's resolution, the smoothing done (a quarter
    # of the cost): they are found to a pixel or two there, and `_best_ring` places each ring
    # on the mask itself, to half a millimetre.
    half = _halved(smooth)
    r_min = math.floor(ROUND_RADIUS_MM[0] * ppm / 2)
    r_max = math.ceil(ROUND_RADIUS_MM[1] * ppm / 2)
    try:
        circles = cv2.HoughCircles(
            half,
            cv2.HOUGH_GRADIENT,
            dp=1,
            minDist=2 * r_min,
            param1=100,
            param2=11,  # votes: half as many edge pixels as at the mask's resolution
            minRadius=r_min,
            maxRadius=r_max,
        )
    except cv2.error:  # OpenCV raises on odd inputs; a missed ring is better than a crash
        return []
    if circles is None:
        return []
    # A pixel of the halved mask covers two of the mask's, its centre between them.
    circles = circles.reshape(-1, 3) * 2 + np.array([0.5, 0.5, 0.0], np.float32)
    # Ink within 0.6 mm of a circle counts: a faxed ring is a dotted one.
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8), iterations=max(1, round(0.6 * ppm / 2)))
    found = []
    # HoughCircles lists the best-supported circles first.
    for x, y, r in circles.tolist()[:8]:
        ring = _best_ring(near, blind, x, y, r, ppm)
        if ring is None:
            continue
        x, y, radius = ring
        if _along(near, blind, x, y, radius, ppm) < RING_ALONG:
            continue
        mask = np.zeros_like(ink)
        cv2.circle(mask, (round(x), round(y)), round(radius + 1.2 * ppm), 1, thickness=-1)
        size = 2 * radius / ppm
        found.append(Stamp("round", mask, size, size))
    return found


_ANGLES = np.linspace(0, 2 * math.pi, 180, endpoint=False)
_QUARTER_SEEN = 15  # of a quarter's 45 points: less seen than this, and it is not judged
_COS, _SIN = np.cos(_ANGLES), np.sin(_ANGLES)
_EIGHTH = len(_ANGLES) // 8


def _coverage(
    near: np.ndarray, blind: np.ndarray, x: np.ndarray, y: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """For each centre (x[i], y[i]) and each of its radii (a row of `radii` each, or one row
    for all), the share of that circle's circumference with ink near it, of the part that
    can be seen (0 when less than half of it can, or when a quarter of the circle that can
    be seen is nearly bare). The centres are judged together: one at a time, numpy's
    overhead on these small arrays was most of the time."""
    radii = np.broadcast_to(radii, (len(x), radii.shape[-1]))
    xs = np.round(x[:, None, None] + radii[:, :, None] * _COS).astype(int)
    ys = np.round(y[:, None, None] + radii[:, :, None] * _SIN).astype(int)
    inside = (xs >= 0) & (ys >= 0) & (xs < near.shape[1]) & (ys < near.shape[0])
    xs, ys = np.where(inside, xs, 0), np.where(inside, ys, 0)
    seen = inside & (blind[ys, xs] == 0)
    count = seen.sum(axis=2)
    inked = np.where(seen, near[ys, xs], 0)
    # A ring is inked all the way round, if unevenly; a signature's loop and underline can
    # cover half of a circle's length, but then on one side of it. The quarters are taken
    # twice, the second time turned by an eighth: a circle through a signature's strokes,
    # the box's top edge (where nothing is seen) and bare paper above it had each of the
    # first four partly inked, and only the quarter on top bare (a fine fax's case 29).
    bare = np.zeros(count.shape, bool)
    for turn in (0, _EIGHTH):
        quarter_seen = np.roll(seen, turn, axis=2).reshape(*radii.shape, 4, -1).sum(axis=3)
        quarter_inked = np.roll(inked, turn, axis=2).reshape(*radii.shape, 4, -1).sum(axis=3)
        bare |= (
            (quarter_seen >= _QUARTER_SEEN)
            & (quarter_inked < QUARTER_COVERAGE * np.maximum(quarter_seen, 1))
        ).any(axis=2)
    share = inked.sum(axis=2) / np.maximum(count, 1)
    return np.where((count < 90) | bare, 0.0, share)


def _best_ring(
    near: np.ndarray, blind: np.ndarray, x: float, y: float, r: float, ppm: float
) -> tuple[float, float, float] | None:
    """The centre and outer radius of a stamp whose ring passes near (x, y, r), if it is
    inked well enough to be a ring, and a second ring lies inside or outside it (a round
    stamp's two rings, its name set between them)."""
    radii = r + np.arange(-1.5, 1.6, 0.5) * ppm
    apart = np.arange(RING_APART_MM[0], RING_APART_MM[1] + 0.01, 0.5) * ppm

    # The circle search gives a centre to a millimetre or two (an impression pressed askew,
    # or a page fed unevenly, is not quite round): the two rings are looked for about the
    # centres near it, and the centre where both are inked best is taken.
    def best_of(centres: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
        cx, cy = np.array(centres).T
        cover = _coverage(near, blind, cx, cy, radii)
        inked = np.flatnonzero(cover.max(axis=1) >= RING_COVERAGE)
        if len(inked) == 0:
            return None
        cover, cx, cy = cover[inked], cx[inked], cy[inked]
        ring = radii[np.argmax(cover, axis=1)]
        outer_side = _coverage(near, blind, cx, cy, ring[:, None] + apart)
        inner_side = _coverage(near, blind, cx, cy, np.maximum(ring[:, None] - apart, 1.0))
        fits = []
        for i in range(len(inked)):
            second = max(outer_side[i].max(), inner_side[i].max())
            if second < SECOND_RING_COVERAGE and cover[i].max() < LONE_RING_COVERAGE:
                continue
            outer = float(ring[i])
            if outer_side[i].max() >= SECOND_RING_COVERAGE:
                outer = float(ring[i] + apart[int(np.argmax(outer_side[i]))])
            fits.append((float(cover[i].max() + second), float(cx[i]), float(cy[i]), outer))
        return max(fits, key=lambda f: f[0]) if fits else None

    # A millimetre's grid first, then half a millimetre about the best of it.
    coarse = np.arange(-2.0, 2.01, 1.0) * ppm
    best = best_of([(x + dx, y + dy) for dx in coarse for dy in coarse])
    if best is None:
        return None
    fine = np.array([-0.5, 0.0, 0.5]) * ppm
    best = best_of([(best[1] + dx, best[2] + dy) for dx in fine for dy in fine]) or best
    _, x, y, outer = best
    if _alone(near, blind, x, y, outer, ppm) < RING_ALONE:
        return None
    return x, y, outer


# Ink runs along a circle where its edges face the centre within this angle.
_ALONG_COS = math.cos(math.radians(30.0))


def _along(
    near: np.ndarray, blind: np.ndarray, x: float, y: float, radius: float, ppm: float
) -> float:
    """The share of the circle's inked points (of those seen) where the ink runs along it:
    where the ink's edges about the point, by their structure tensor over 0.8 mm, face the
    circle's centre; the best of the circles within a millimetre of `radius`, as a ring found
    a little off a stamp's outer ring runs through its letters (0.79 on a dirty roller's
    copy, 0.96 a millimetre further out).

    A stamp's ring runs round: 0.91 to 1 of its points on the genuine pages of 12 cases under
    every capture, most 0.97 or more. The strokes of a signature a circle was laid through
    cross it, or follow it only for a while: 0.77 to 0.82 on the missing-stamp frauds that
    passed for rings (`tests/ocr/test_world_damage.py`)."""
    reach = radius + 4 * ppm
    x0, y0 = max(0, int(x - reach)), max(0, int(y - reach))
    crop = near[y0 : int(y + reach) + 1, x0 : int(x + reach) + 1].astype(np.float32)
    smooth = cv2.GaussianBlur(crop, (0, 0), 1.0)
    gx, gy = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    spread = max(1.0, 0.8 * ppm)
    xx, yy, xy = (cv2.GaussianBlur(g, (0, 0), spread) for g in (gx * gx, gy * gy, gx * gy))
    facing = 0.5 * np.arctan2(2 * xy, xx - yy)  # the edges' normal, the way the ink changes
    best = 0.0
    for r in radius + np.arange(-1.0, 1.01, 0.5) * ppm:
        # Every point of these circles on the page lies in the crop, 3 mm inside its edges.
        ys, xs, inside = _on_circle(near.shape, x, y, r)
        inked = inside & (blind[ys, xs] == 0) & (near[ys, xs] > 0)
        if inked.any():
            turned = np.abs(np.cos(facing[ys[inked] - y0, xs[inked] - x0] - _ANGLES[inked]))
            best = max(best, float((turned > _ALONG_COS).mean()))
    return best


def _on_circle(
    shape: tuple[int, ...], x: float, y: float, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The circle's points (`_ANGLES`) as pixels (rows, columns) of an image of `shape`, and
    which of them lie on it; those that do not are moved to (0, 0)."""
    xs = np.round(x + radius * _COS).astype(int)
    ys = np.round(y + radius * _SIN).astype(int)
    inside = (xs >= 0) & (ys >= 0) & (xs < shape[1]) & (ys < shape[0])
    return np.where(inside, ys, 0), np.where(inside, xs, 0), inside


def _alone(
    near: np.ndarray, blind: np.ndarray, x: float, y: float, radius: float, ppm: float
) -> float:
    """The share of the circle's seen circumference that is inked with nothing just outside.

    Nothing of a stamp lies outside its outer ring. A signature's loop that happens to follow
    a circle for a while is crossed by the strokes that go on beyond it, and sparse specks
    (what is left of a screened page) lie on both sides alike."""
    ys, xs, inside = _on_circle(near.shape, x, y, radius)
    seen = inside & (blind[ys, xs] == 0)
    on = seen & (near[ys, xs] > 0)
    crowded = np.zeros_like(on)
    for beyond in np.arange(1.5, 3.01, 0.5) * ppm:
        by, bx, within = _on_circle(near.shape, x, y, radius + beyond)
        crowded |= within & (near[by, bx] > 0)
    return float(np.count_nonzero(on & ~crowded)) / max(1, int(np.count_nonzero(seen)))


def _level_lines(ink: np.ndarray, ppm: float) -> list[tuple[float, float, float, float]]:
    """Long, nearly level rules (x0, y at x0, x1, y at x1) really drawn there.

    A frame printed with worn rubber, or sent by fax, comes out dashed: the line search
    bridges gaps of a few millimetres, and each line found must then be inked along most of
    its length, within half a millimetre of it. Handwriting is not.
    """
    try:
        found = cv2.HoughLinesP(
            ink * 255,
            rho=1,
            theta=math.pi / 720,
            threshold=round(0.4 * FRAME_LINE_MIN_MM * ppm),
            minLineLength=round(FRAME_LINE_MIN_MM * ppm),
            maxLineGap=round(5 * ppm),
        )
    except cv2.error:  # OpenCV raises on odd inputs; a missed frame is better than a crash
        return []
    if found is None:
        return []
    near = cv2.dilate(ink, np.ones((3, 3), np.uint8), iterations=max(1, round(0.5 * ppm / 2)))
    rules = []
    for x0, y0, x1, y1 in found.reshape(-1, 4).tolist():
        if x1 < x0:
            x0, y0, x1, y1 = x1, y1, x0, y0
        if abs(y1 - y0) > 0.14 * (x1 - x0):  # steeper than 8°: not a stamp's edge
            continue
        xs = np.arange(x0, x1 + 1)
        ys = np.round(y0 + (y1 - y0) * (xs - x0) / max(1, x1 - x0)).astype(int)
        if _drawn_alone(ink, near, xs, ys, ppm) and not _runs_on(near, x0, y0, x1, y1, ppm):
            rules.append((float(x0), float(y0), float(x1), float(y1)))
    return rules


def _halved(image: np.ndarray) -> np.ndarray:
    """`image` at half its resolution, each pixel the mean of a square of four."""
    return cv2.resize(
        image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA
    )


def _runs_on(near: np.ndarray, x0: float, y0: float, x1: float, y1: float, ppm: float) -> bool:
    """Whether the line goes on, gaps of a few millimetres bridged, further than any stamp is
    wide: a streak of a dirty drum or roller across the page, not a frame's edge."""
    slope = (y1 - y0) / max(1, x1 - x0)
    xs = np.arange(near.shape[1])
    ys = np.clip(np.round(y0 + slope * (xs - x0)).astype(int), 0, near.shape[0] - 1)
    inked = near[ys, xs] > 0
    gap = round(5 * ppm)
    middle = round((x0 + x1) / 2)
    # From the middle outwards, inked pixel by inked pixel, until the next is over `gap`
    # away: where the ink on either side runs out (the steps between inked pixels, at once).
    before = np.r_[np.flatnonzero(inked[:middle]), middle]
    breaks = np.flatnonzero(np.diff(before) > gap)
    start = int(before[breaks[-1] + 1] if len(breaks) else before[0])
    after = np.r_[middle, middle + 1 + np.flatnonzero(inked[middle + 1 :])]
    breaks = np.flatnonzero(np.diff(after) > gap)
    end = int(after[breaks[0]] if len(breaks) else after[-1])
    return (end - start) / ppm > FRAME_LINE_MAX_MM


def _drawn_alone(
    ink: np.ndarray, near: np.ndarray, xs: np.ndarray, ys: np.ndarray, ppm: float
) -> bool:
    """Inked along most of the line, and with ink close to it on one side at most: a frame's
    edge has its text on the inside, a millimetre or more away, and nothing outside; the
    baseline of a signature's cursive has letters rising above and falling below it."""
    inside = (ys >= 0) & (ys < ink.shape[0])
    xs, ys = xs[inside], ys[inside]
    if len(xs) == 0 or float(near[ys, xs].mean()) < 0.6:
        return False
    band = np.arange(round(0.9 * ppm), round(2.0 * ppm) + 1)
    above_y = np.clip(ys[:, None] - band[None, :], 0, ink.shape[0] - 1)
    below_y = np.clip(ys[:, None] + band[None, :], 0, ink.shape[0] - 1)
    above = ink[above_y, xs[:, None]].any(axis=1)
    below = ink[below_y, xs[:, None]].any(axis=1)
    return min(float(above.mean()), float(below.mean())) <= 0.15


def _framed(ink: np.ndarray, ppm: float) -> tuple[list[Stamp], Components | None]:
    """Frames: two long level lines one above the other with ink between, or one such line
    along a row of letters (the rest of a faint frame lost, as on a fax). Also the ink's
    components, when the search for rows of letters labelled them."""
    level = _level_lines(ink, ppm)
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
    if found:
        return found, None
    components = _components(ink)
    rows = _text_rows(ink, ppm, components=components)
    for row in rows:
        for line in level:
            stamp = _line_along_row(ink, line, row, rows, ppm)
            if stamp is not None:
                return [stamp], components
    return [], components


def _line_along_row(
    ink: np.ndarray,
    line: tuple[float, float, float, float],
    row: _Row,
    rows: list[_Row],
    ppm: float,
) -> Stamp | None:
    """A frame edge and a line of the stamp's text, side by side. The footprint reaches as
    far beyond the text as a stamp is tall, on the side away from the edge, and as wide as
    the edge and every line of text within it."""
    line_y = (line[1] + line[3]) / 2
    distance_mm = abs(line_y - row.y) / ppm
    overlap = min(line[2], row.x1) - max(line[0], row.x0)
    if not 1.5 <= distance_mm <= 12 or overlap < 0.6 * (row.x1 - row.x0):
        return None
    reach = round(16 * ppm)
    pad = round(2.5 * ppm)
    if line_y < row.y:  # the top edge: the stamp goes on down
        y0, y1 = round(min(line[1], line[3])) - pad, round(row.y) + reach
    else:
        y0, y1 = round(row.y) - reach, round(max(line[1], line[3])) + pad
    beside = [r for r in rows if y0 <= r.y <= y1 and r.x1 > line[0] and r.x0 < line[2]]
    if len(beside) < 2:
        # A stamp gives its name and an address or a number, on two lines at least; one
        # row of letter-sized marks over a rule is as often a signature and its underline.
        return None
    x0 = round(min([line[0]] + [r.x0 for r in beside])) - pad
    x1 = round(max([line[2]] + [r.x1 for r in beside])) + pad
    mask = np.zeros_like(ink)
    mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1
    return Stamp("framed", mask, (x1 - x0) / ppm, (y1 - y0) / ppm)


def _between(
    top: tuple[float, ...], bottom: tuple[float, ...]
) -> tuple[float, float, float, float]:
    """Between two level lines (x0, y0, x1, y1), one above the other: the height of each at
    its middle, and the left and right of the stretch both lines span."""
    return (
        (top[1] + top[3]) / 2,
        (bottom[1] + bottom[3]) / 2,
        max(min(top[0], top[2]), min(bottom[0], bottom[2])),
        min(max(top[0], top[2]), max(bottom[0], bottom[2])),
    )


def _frame_between(
    ink: np.ndarray, top: tuple[float, ...], bottom: tuple[float, ...], ppm: float
) -> Stamp | None:
    t_y, b_y, left, right = _between(top, bottom)
    gap_mm = (b_y - t_y) / ppm
    if not FRAME_HEIGHT_MM[0] <= gap_mm <= FRAME_HEIGHT_MM[1]:
        return None
    lengths = sorted((abs(top[2] - top[0]), abs(bottom[2] - bottom[0])))
    # A frame's two edges are about as long as each other and lie over each other, end by
    # end (a stamp pressed askew shifts one by a few millimetres); a signature's underline
    # and the run of its letters, or its underline below a stamp, are not.
    if lengths[0] < 0.6 * lengths[1] or right - left < 0.6 * lengths[0]:
        return None
    ends_apart = (FRAME_ENDS_MM + 0.15 * gap_mm) * ppm
    left_apart = abs(min(top[0], top[2]) - min(bottom[0], bottom[2]))
    right_apart = abs(max(top[0], top[2]) - max(bottom[0], bottom[2]))
    if max(left_apart, right_apart) > ends_apart:
        # One edge ends short of the other (a fax lost a stretch of the frame, or an edge
        # runs on into a stroke beyond): still a frame where the edges end together and a
        # side joins them there.
        together = left if left_apart <= right_apart else right
        if min(left_apart, right_apart) > ends_apart or not _side(ink, together, t_y, b_y, ppm):
            return None
    x0, x1 = round(left), round(right)
    inner = ink[round(t_y + ppm) : round(b_y - ppm), x0:x1]
    if inner.size == 0 or not 0.02 <= float(inner.mean()) <= 0.5:
        return None  # a frame holds text; two strokes of a signature hold little or a scrawl
    mask = np.zeros_like(ink)
    pad = round(2.5 * ppm)
    mask[max(0, round(t_y) - pad) : round(b_y) + pad, max(0, x0 - pad) : x1 + pad] = 1
    return Stamp("framed", mask, (x1 - x0) / ppm, gap_mm)


def _side(ink: np.ndarray, x: float, t_y: float, b_y: float, ppm: float) -> bool:
    """Whether a frame's side runs from its top edge to its bottom edge about x: ink within a
    millimetre and a half of x on nearly every row between them."""
    x0, x1 = max(0, round(x - 1.5 * ppm)), round(x + 1.5 * ppm) + 1
    between = ink[round(t_y + ppm) : round(b_y - ppm), x0:x1]
    return between.size > 0 and float(between.any(axis=1).mean()) >= FRAME_SIDE_ROWS


@dataclass(frozen=True)
class _Row:
    """Letters of one height on one line."""

    members: tuple[int, ...]  # component labels
    y: float
    x0: float
    x1: float


Components = tuple[np.ndarray, np.ndarray, np.ndarray]  # labels, stats, centroids


def _letters(stats: np.ndarray, ppm: float) -> list[int]:
    """The components (their labels, from `stats`) of a letter's size and fill."""
    h_min, h_max = (h * ppm for h in LETTER_HEIGHT_MM)
    return [
        i
        for i in range(1, len(stats))
        if h_min <= stats[i, cv2.CC_STAT_HEIGHT] <= h_max
        and stats[i, cv2.CC_STAT_WIDTH] <= 12 * ppm
        and stats[i, cv2.CC_STAT_AREA]
        >= 0.12 * stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT]
    ]


def _text_rows(ink: np.ndarray, ppm: float, *, components: Components | None = None) -> list[_Row]:
    """Rows of at least five letter-sized marks spanning TEXT_ROW_MIN_MM or more."""
    _, stats, centroids = components or _components(ink)
    letters = _letters(stats, ppm)
    # Chain each letter to a row whose last letter is just before it and at its height:
    # step by step, a row of text may slope, as a stamp pressed askew does.
    rows: list[list[int]] = []
    for i in sorted(letters, key=lambda k: centroids[k][0]):
        height = stats[i, cv2.CC_STAT_HEIGHT]
        for row in rows:
            last = row[-1]
            gap = stats[i, cv2.CC_STAT_LEFT] - (
                stats[last, cv2.CC_STAT_LEFT] + stats[last, cv2.CC_STAT_WIDTH]
            )
            same_line = abs(centroids[i][1] - centroids[last][1]) <= 0.5 * height
            similar = 0.6 <= height / stats[last, cv2.CC_STAT_HEIGHT] <= 1.7
            if same_line and similar and gap <= 2.5 * height:
                row.append(i)
                break
        else:
            rows.append([i])
    found = []
    for row in rows:
        heights = np.array([stats[k, cv2.CC_STAT_HEIGHT] for k in row], dtype=float)
        typical = float(np.median(heights))
        # Printed letters are of one height and close together; the pieces a fax leaves of a
        # signature are neither.
        same = [k for k, h in zip(row, heights, strict=True) if 0.7 <= h / typical <= 1.4]
        if len(same) < MIN_LETTERS:
            continue
        x0 = float(min(stats[k, cv2.CC_STAT_LEFT] for k in same))
        x1 = float(max(stats[k, cv2.CC_STAT_LEFT] + stats[k, cv2.CC_STAT_WIDTH] for k in same))
        dense = len(same) / max(1.0, (x1 - x0) / typical) >= MIN_LETTERS_PER_HEIGHT
        if dense and x1 - x0 >= TEXT_ROW_MIN_MM * ppm:
            y = float(np.mean([centroids[k][1] for k in same]))
            found.append(_Row(tuple(same), y, x0, x1))
    return found


def _components(ink: np.ndarray) -> Components:
    _, labels, stats, centroids = blobs.components(ink)
    return labels, stats, centroids


def _text_block(
    ink: np.ndarray, ppm: float, *, components: Components | None = None
) -> list[Stamp]:
    """Two or more rows of letters of one height: a stamp without a frame."""
    if components is None:
        components = _components(ink)
    rows = _text_rows(ink, ppm, components=components)
    if len(rows) < 2:
        return []
    labels = components[0]
    members = [k for row in rows for k in row.members]
    points = np.concatenate(
        [np.column_stack(np.nonzero(labels == k)[::-1]) for k in members]
    ).astype(np.int32)
    hull = cv2.convexHull(points)
    mask = np.zeros_like(ink)
    cv2.fillConvexPoly(mask, hull, 1)
    # Out to where a frame around the text would be (padding and the frame's own width).
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=round(3.0 * ppm))
    _, _, w, h = cv2.boundingRect(hull)
    return [Stamp("text", mask, w / ppm, h / ppm)]
