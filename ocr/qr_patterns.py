"""Reading a QR symbol that a fold sheared, registered by its function patterns alone.

Every symbol of our kind (version 3, 29 modules) shares its finder, separator, timing and
alignment patterns and its quiet zone; no code's data decides them. The symbol is followed by
those alone: the three finders and their corners, the alignment pattern, and the two timing
patterns module by module between the finders. A fold (augraphy's Folding) shears a band of
the page, more the nearer its crease: each piece of the symbol between the band's edges and its
crease moves by an affine map, and neighbouring pieces agree along the line between them. The
places found are fitted by an affine map bent along one or two parallel lines, a dozen numbers
that no data module enters; the data modules are then sampled from the page where the map puts
them, and the matrix, redrawn clean, is decoded. What reads was read from the page itself
(Reed-Solomon corrects what a bend still missed), not leant toward any code.

Over the 13 folded pages of the bench's 12 cases whose code no reader decoded, 11 read so, each
from the best fitting registration, in 60 ms a page (median; 0.2-0.6 s on cores shared).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from documents import layout
from documents.layout import Box
from ocr.align import Alignment

# Version 3: 29 modules; the alignment pattern's centre at module 22 (ISO/IEC 18004 annex E).
_SIDE = 29
_ALIGNMENT_AT = 22
# The crop the symbol is looked for in: 10 mm around the QR box (a fold moves a band of the
# page by up to 7 mm), at 8 px/mm (6.6 px a module).
_SEARCH_MM = 10.0
_PX_PER_MM = 8.0
_MODULE_PX = layout.QR_CODE.w * _PX_PER_MM / _SIDE
# Modules of quiet zone drawn around the function patterns (the form prints 4 mm: 4.8).
_QUIET = 4
_FINDERS = ((0, 0), (0, _SIDE - 7), (_SIDE - 7, 0))  # their top-left modules (row, column)
# How far (modules) a finder, a finder's corner and the alignment pattern are looked for
# around where the symbol as a whole, the finder, or the finders' affine map put it: a bend
# moves the far side of the symbol by up to half a module per module.
_FINDER_SEARCH = 4
_CORNER_SEARCH = 1.5
_ALIGNMENT_SEARCH = 6
# A timing module is looked for within this (modules) of the line between the finders
# beside it, at its few best places; the path through them strains at this cost a module
# strayed from the mean step (squared), and a module kept fits at least this well.
_TIMING_REACH = 3.0
_TIMING_OPTIONS = 6
_STRAIN = 1.0
_TIMING_MIN_FIT = 0.3
# Bend lines tried: every 5°, every half module across the symbol.
_BEND_ANGLES = np.deg2rad(np.arange(0, 180, 5))
_BEND_STEP = 0.5
# What a piece of the symbol between bends may be, against the module printed: its area, and
# each side's length (augraphy's folds shear by at most half a module per module).
_AREA_RANGE = (0.6, 1.6)
_LENGTH_RANGE = (0.6, 1.6)
# Registrations kept of each angle and number of bends, and tried in all, best fitting first,
# before the symbol counts as unread (each try: 1 ms). Of the 11 folded pages read, every one
# read at the first.
_TRIED = 6
_KEPT = 40
# The redrawn symbol's module, in pixels.
_DRAWN_MODULE_PX = 6


def _function_patterns() -> tuple[np.ndarray, np.ndarray]:
    """The modules every version 3 symbol shares, with its quiet zone: (dark, known)."""
    n = _SIDE + 2 * _QUIET
    dark = np.zeros((n, n), bool)
    known = np.zeros((n, n), bool)
    known[:_QUIET, :] = known[-_QUIET:, :] = known[:, :_QUIET] = known[:, -_QUIET:] = True
    q = _QUIET
    for r0, c0 in _FINDERS:
        # the separator: a light ring one module wide around each finder
        rows = slice(q + max(r0 - 1, 0), q + min(r0 + 8, _SIDE))
        known[rows, q + max(c0 - 1, 0) : q + min(c0 + 8, _SIDE)] = True
        ring = np.ones((7, 7), bool)
        ring[1:6, 1:6] = False
        ring[2:5, 2:5] = True
        dark[q + r0 : q + r0 + 7, q + c0 : q + c0 + 7] = ring
    for k in range(8, _SIDE - 8):
        known[q + 6, q + k] = known[q + k, q + 6] = True
        dark[q + 6, q + k] = dark[q + k, q + 6] = k % 2 == 0
    a = q + _ALIGNMENT_AT
    known[a - 2 : a + 3, a - 2 : a + 3] = True
    ring = np.ones((5, 5), bool)
    ring[1:4, 1:4] = False
    ring[2, 2] = True
    dark[a - 2 : a + 3, a - 2 : a + 3] = ring
    dark[q + _SIDE - 8, q + 8] = True  # the dark module beside the lower-left finder
    known[q + _SIDE - 8, q + 8] = True
    return dark, known


_DARK, _KNOWN = _function_patterns()


def _drawn(modules: np.ndarray, scale: float) -> np.ndarray:
    side = round(modules.shape[0] * scale)
    return cv2.resize(
        np.where(modules, 0, 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST
    )


_TEMPLATE = _drawn(_DARK, _MODULE_PX).astype(np.float32)
_TEMPLATE_KNOWN = _drawn(_KNOWN, _MODULE_PX) == 0


def symbols(gray: np.ndarray, alignment: Alignment) -> Iterator[np.ndarray]:
    """The symbol near the QR box, sampled where each of the best fitting registrations by
    its function patterns puts its modules, and redrawn clean in its quiet zone."""
    search = Box(
        layout.QR_CODE.x - _SEARCH_MM,
        layout.QR_CODE.y - _SEARCH_MM,
        layout.QR_CODE.w + 2 * _SEARCH_MM,
        layout.QR_CODE.h + 2 * _SEARCH_MM,
    )
    around = alignment.warp(gray, search, _PX_PER_MM).astype(np.float32)
    anchors = _anchors(around)
    if anchors is None:
        return
    modules, found, weights = anchors
    blurred = cv2.GaussianBlur(around, (0, 0), 1.0)
    seen: set[bytes] = set()
    for registration in _registrations(modules, found, weights):
        matrix = _sampled(blurred, registration)
        if matrix is None or matrix.tobytes() in seen:
            continue
        seen.add(matrix.tobytes())
        padded = np.zeros((_SIDE + 2 * _QUIET,) * 2, bool)
        padded[_QUIET:-_QUIET, _QUIET:-_QUIET] = matrix
        yield _drawn(padded, _DRAWN_MODULE_PX)


def _anchors(around: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Points of the function patterns (module coordinates from the symbol's top-left
    corner), where they were found in `around` (pixels), and how much each counts."""
    s, q = _MODULE_PX, _QUIET
    whole = _match(around, (0, _DARK.shape[0]), (0, _DARK.shape[1]), None, 0)
    if whole is None:
        return None
    modules: list[tuple[float, float]] = []
    found: list[tuple[float, float]] = []
    weights: list[float] = []
    local: dict[tuple[int, int], np.ndarray] = {}  # each finder's own affine map
    centres: list[tuple[float, float]] = []  # where each finder's centre was found
    for r0, c0 in _FINDERS:
        rows, cols = (q + r0 - 1, q + r0 + 8), (q + c0 - 1, q + c0 + 8)
        at = _match(around, rows, cols, whole, _FINDER_SEARCH)
        if at is None:
            return None
        points = [(c0 + 3.5, r0 + 3.5)]
        places = [_at(at, points[0])]
        centres.append(places[0])
        # its corners, each with the separator around it: a bend through the finder turns them
        for dr, dc in ((0, 0), (0, 4), (4, 0), (4, 4)):
            rows, cols = (q + r0 + dr - 1, q + r0 + dr + 4), (q + c0 + dc - 1, q + c0 + dc + 4)
            corner = _match(around, rows, cols, at, _CORNER_SEARCH)
            if corner is not None:
                points.append((c0 + dc + 1.5, r0 + dr + 1.5))
                places.append(_at(corner, points[-1]))
        local[(r0, c0)] = _affine(np.array(points), np.array(places))
        # a finder, seven modules square, is found surest; a timing module, one, least
        modules += points
        found += places
        weights += [4.0] + [2.0] * (len(points) - 1)
    by_finders = _affine(np.array([(c0 + 3.5, r0 + 3.5) for r0, c0 in _FINDERS]), np.array(centres))

    def offset_for(m: tuple[float, float], point: np.ndarray) -> tuple[float, float]:
        """The template's origin that puts module point `m` at `point`."""
        return (point[0] - (q + m[0]) * s, point[1] - (q + m[1]) * s)

    a = _ALIGNMENT_AT + 0.5
    at = _match(
        around, (q + _ALIGNMENT_AT - 2, q + _ALIGNMENT_AT + 3),
        (q + _ALIGNMENT_AT - 2, q + _ALIGNMENT_AT + 3),
        offset_for((a, a), _apply(by_finders, (a, a))), _ALIGNMENT_SEARCH,
    )  # fmt: skip
    if at is not None:
        modules.append((a, a))
        found.append(_at(at, (a, a)))
        weights.append(3.0)
    for along_row, start, end in (
        (True, local[_FINDERS[0]], local[_FINDERS[1]]),
        (False, local[_FINDERS[0]], local[_FINDERS[2]]),
    ):
        for m, point in _timing_pattern(around, along_row, start, end):
            modules.append(m)
            found.append(point)
            weights.append(1.0)
    return np.array(modules), np.array(found), np.array(weights)


def _affine(modules: np.ndarray, places: np.ndarray) -> np.ndarray:
    """The affine map (2 × 3) that takes `modules` nearest to `places`."""
    basis = np.column_stack([modules, np.ones(len(modules))])
    return np.linalg.lstsq(basis, places, rcond=None)[0].T


def _apply(affine: np.ndarray, m: tuple[float, float]) -> np.ndarray:
    return affine @ np.array([m[0], m[1], 1.0])


def _timing_pattern(
    around: np.ndarray, along_row: bool, start: np.ndarray, end: np.ndarray
) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The modules of a timing pattern (module point, where found) between two finders, whose
    own affine maps are `start` and `end`.

    The pattern repeats every two modules, and data beside it can look like it: each module's
    likeliest places are kept, and the path through them chosen that fits best while each
    step stays near the mean step from one finder to the other (a bend turns it by at most
    half a module per module)."""
    s, q = _MODULE_PX, _QUIET
    first, last = 8, _SIDE - 9
    begin = _apply(start, _timing(first - 1, along_row))
    finish = _apply(end, _timing(last + 1, along_row))
    step = (finish - begin) / (last - first + 2)
    options: list[list[tuple[np.ndarray, float]]] = []
    for k in range(first, last + 1):
        m = _timing(k, along_row)
        rows, cols = (q + 5, q + 8), (q + k - 2, q + k + 3)
        if not along_row:
            rows, cols = cols, rows
        chord = begin + (k - first + 1) * step
        origin = (chord[0] - (q + m[0]) * s, chord[1] - (q + m[1]) * s)
        peaks = _peaks(around, rows, cols, origin, _TIMING_REACH)
        options.append([(np.array(_at(o, m)), score) for o, score in peaks] + [(chord, 0.0)])
    # Viterbi: a path costs its steps' strain less its fits
    points = [np.array([p for p, _ in here]) for here in options]
    scores = [np.array([score for _, score in here]) for here in options]
    cost = _strain(points[0][None, :] - begin[None, None, :], step)[0] - scores[0]
    back: list[np.ndarray] = []
    for i in range(1, len(options)):
        # strain[l, j]: from option l before to option j here
        total = cost[:, None] + _strain(points[i][None, :] - points[i - 1][:, None], step)
        back.append(np.argmin(total, axis=0))
        cost = total.min(axis=0) - scores[i]
    cost = cost + _strain(finish[None, None, :] - points[-1][:, None], step)[:, 0]
    chosen = [int(np.argmin(cost))]
    for links in reversed(back):
        chosen.append(int(links[chosen[-1]]))
    chosen.reverse()
    return [
        (_timing(first + i, along_row), (float(points[i][j][0]), float(points[i][j][1])))
        for i, j in enumerate(chosen)
        if scores[i][j] >= _TIMING_MIN_FIT
    ]


def _strain(steps: np.ndarray, step: np.ndarray) -> np.ndarray:
    """How far steps (…, 2) stray from the mean step, squared, in modules, weighted."""
    return _STRAIN * np.sum((steps - step) ** 2, axis=-1) / _MODULE_PX**2


def _peaks(
    around: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
    origin: tuple[float, float],
    reach: float,
) -> list[tuple[tuple[float, float], float]]:
    """The template's origins where its function patterns of modules rows × cols fit
    `around` locally best, within `reach` modules of `origin`, and how well (correlation)."""
    fitted = _fit_map(around, rows, cols, origin, reach)
    if fitted is None:
        return []
    fit, (x_left, y_top) = fitted
    tops = (fit == cv2.dilate(fit, np.ones((5, 5), np.uint8))) & (fit > 0)
    ys, xs = np.nonzero(tops)
    best = np.argsort(-fit[ys, xs])[:_TIMING_OPTIONS]
    return [((x_left + float(xs[i]), y_top + float(ys[i])), float(fit[ys[i], xs[i]])) for i in best]


def _timing(k: int, along_row: bool) -> tuple[float, float]:
    return (k + 0.5, 6.5) if along_row else (6.5, k + 0.5)


def _at(origin: tuple[float, float], m: tuple[float, float]) -> tuple[float, float]:
    """Where module point `m` lies, the template's origin found at `origin`."""
    return (origin[0] + (_QUIET + m[0]) * _MODULE_PX, origin[1] + (_QUIET + m[1]) * _MODULE_PX)


def _fit_map(
    around: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
    origin: tuple[float, float] | None,
    reach: float,
) -> tuple[np.ndarray, tuple[float, float]] | None:
    """How well the template's function patterns of modules rows × cols (quiet zone
    included) fit `around` (correlation) with its origin at each pixel within `reach` modules
    of `origin` (anywhere when None), and the origin at the map's first pixel."""
    s = _MODULE_PX
    y0, y1 = round(rows[0] * s), round(rows[1] * s)
    x0, x1 = round(cols[0] * s), round(cols[1] * s)
    patch = _TEMPLATE[y0:y1, x0:x1].copy()
    known = _TEMPLATE_KNOWN[y0:y1, x0:x1]
    # The modules no symbol shares count for nothing: at the patch's mean, they add nothing
    # to the correlation. (OpenCV's masked correlation gives NaN on a two-valued patch.)
    patch[~known] = patch[known].mean()
    if origin is None:
        top, left, window = 0, 0, around
    else:
        r = round(reach * s)
        top, left = round(origin[1] + y0) - r, round(origin[0] + x0) - r
        if top < 0 or left < 0:
            return None
        window = around[top : top + 2 * r + patch.shape[0], left : left + 2 * r + patch.shape[1]]
    if window.shape[0] <= patch.shape[0] or window.shape[1] <= patch.shape[1]:
        return None
    fit = cv2.matchTemplate(window, patch, cv2.TM_CCOEFF_NORMED)
    fit = np.nan_to_num(fit, nan=-1.0, posinf=-1.0, neginf=-1.0)
    return fit, (float(left - x0), float(top - y0))


def _match(
    around: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
    origin: tuple[float, float] | None,
    reach: float,
) -> tuple[float, float] | None:
    """Where the template's origin lies when its function patterns of modules rows × cols
    fit `around` best, within `reach` modules of `origin` (anywhere when None)."""
    fitted = _fit_map(around, rows, cols, origin, reach)
    if fitted is None:
        return None
    fit, (x_left, y_top) = fitted
    _, _, _, (x, y) = cv2.minMaxLoc(fit)
    # to a fraction of a pixel: a parabola through the peak and its neighbours
    dx = _vertex(fit[y, x - 1 : x + 2]) if 0 < x < fit.shape[1] - 1 else 0.0
    dy = _vertex(fit[y - 1 : y + 2, x]) if 0 < y < fit.shape[0] - 1 else 0.0
    return (x_left + x + dx, y_top + y + dy)


def _vertex(three: np.ndarray) -> float:
    a, b, c = (float(v) for v in three)
    curvature = a - 2 * b + c
    return 0.5 * (a - c) / curvature if curvature < 0 else 0.0


@dataclass(frozen=True)
class _Registration:
    """A map from module coordinates to the crop: affine, bent along the lines where the
    coordinate along `normal` equals each of `offsets`; its coefficients, a row a term."""

    normal: np.ndarray
    offsets: tuple[float, ...]
    coefficients: np.ndarray

    def place(self, modules: np.ndarray) -> np.ndarray:
        return _basis(modules, self.normal, self.offsets) @ self.coefficients


def _basis(modules: np.ndarray, normal: np.ndarray, offsets: tuple[float, ...]) -> np.ndarray:
    across = modules @ normal
    columns = [modules[:, 0], modules[:, 1], np.ones(len(modules))]
    columns += [np.maximum(across - c, 0.0) for c in offsets]
    return np.stack(columns, axis=1)


def _registrations(
    modules: np.ndarray, found: np.ndarray, weights: np.ndarray
) -> list[_Registration]:
    """The registrations best fitting the function patterns found, best first by BIC (a bend
    must earn its numbers): affine, and bent along one or two parallel lines."""
    count = len(modules)
    affine = np.column_stack([modules, np.ones(count)]) * weights[:, None]
    # The normal equations' parts that no bend line changes.
    affine_gram = np.column_stack([modules, np.ones(count)]).T @ affine
    affine_found = affine.T @ found
    found_energy = float(np.sum(weights[:, None] * found**2))
    scored: list[tuple[float, _Registration]] = []
    corners = np.array([[0, 0], [_SIDE, 0], [0, _SIDE], [_SIDE, _SIDE]], float)
    for theta in _BEND_ANGLES:
        normal = np.array([np.cos(theta), np.sin(theta)])
        ends = corners @ normal
        offsets = np.arange(ends.min() + 1, ends.max() - 1, _BEND_STEP)
        bends = np.maximum((modules @ normal)[None, :] - offsets[:, None], 0.0)
        cross = affine.T @ bends.T  # (3, lines)
        bend_gram = (bends * weights) @ bends.T
        bend_found = (bends * weights) @ found
        # two bends: every module (half as fine, a quarter of the pairs)
        first, second = np.triu_indices(len(offsets), k=2)
        even = (first % 2 == 0) & (second % 2 == 0)
        pairs = np.stack([first[even], second[even]], axis=1)
        families = [np.arange(len(offsets))[:, None], pairs]
        if theta == 0:
            families.append(np.zeros((1, 0), int))
        for chosen in families:
            size = chosen.shape[1]
            gram = np.zeros((len(chosen), 3 + size, 3 + size))
            gram[:, :3, :3] = affine_gram
            right = np.zeros((len(chosen), 3 + size, 2))
            right[:, :3] = affine_found
            for i in range(size):
                gram[:, :3, 3 + i] = gram[:, 3 + i, :3] = cross[:, chosen[:, i]].T
                right[:, 3 + i] = bend_found[chosen[:, i]]
                for j in range(size):
                    gram[:, 3 + i, 3 + j] = bend_gram[chosen[:, i], chosen[:, j]]
            coefficients = np.linalg.solve(gram + 1e-6 * np.eye(3 + size), right)
            rss = np.maximum(found_energy - np.sum(coefficients * right, axis=(1, 2)), 0.0)
            # parameters: the map's 2 × (3 + bends), and each bend's line
            bic = count * np.log(rss / count + 1e-6) + (2 * (3 + size) + 2 * size) * np.log(count)
            bic[~_like_paper(coefficients, normal)] = np.inf
            for b in np.argsort(bic)[:_TRIED]:
                if np.isfinite(bic[b]):
                    line = tuple(float(offsets[i]) for i in chosen[b])
                    scored.append((float(bic[b]), _Registration(normal, line, coefficients[b])))
    scored.sort(key=lambda pair: pair[0])
    return [registration for _, registration in scored[:_KEPT]]


def _like_paper(coefficients: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Which registrations (coefficients over x, y, 1, bends) paper can take: on each side of
    each bend the symbol neither turned over nor stretched or shrunk past what a fold does."""
    jacobian = coefficients[:, :2, :]  # rows: the place's derivatives along x and y
    fits = _plausible(jacobian)
    for bend in range(coefficients.shape[1] - 3):
        jacobian = jacobian + normal[None, :, None] * coefficients[:, None, 3 + bend, :]
        fits &= _plausible(jacobian)
    return fits


def _plausible(jacobian: np.ndarray) -> np.ndarray:
    area = (
        jacobian[:, 0, 0] * jacobian[:, 1, 1] - jacobian[:, 0, 1] * jacobian[:, 1, 0]
    ) / _MODULE_PX**2
    lengths = np.sqrt(np.sum(jacobian**2, axis=2)) / _MODULE_PX
    return (
        (area > _AREA_RANGE[0])
        & (area < _AREA_RANGE[1])
        & np.all((lengths > _LENGTH_RANGE[0]) & (lengths < _LENGTH_RANGE[1]), axis=1)
    )


def _sampled(blurred: np.ndarray, registration: _Registration) -> np.ndarray | None:
    """The symbol's modules, dark or light, where `registration` puts their centres; its
    function patterns as every symbol has them. The threshold halves the function patterns'
    own dark and light, as sampled."""
    rows, cols = np.mgrid[0:_SIDE, 0:_SIDE]
    centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)
    placed = registration.place(centres).astype(np.float32)
    values = cv2.remap(
        blurred,
        placed[:, 0].reshape(_SIDE, _SIDE),
        placed[:, 1].reshape(_SIDE, _SIDE),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    inner = slice(_QUIET, _QUIET + _SIDE)
    known, dark = _KNOWN[inner, inner], _DARK[inner, inner]
    ink, paper = np.median(values[known & dark]), np.median(values[known & ~dark])
    if paper - ink < 40:
        return None
    matrix = values < (ink + paper) / 2
    matrix[known] = dark[known]
    return matrix
