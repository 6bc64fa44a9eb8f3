"""Streaks a printer's drum or a copier's rollers leave across a grey page, told from ink.

A dirty drum or roller marks the paper as it turns: bands of grey, dense or a scatter of dots,
along the whole length or the whole width of the sheet. Judged as ink, one band crosses every
value in its way and passes for writing in each. A band is told by its reach: it greys a
column (or a row) of the page over nearly all of its length, through the margins and the gaps
between the lines of print, which no mark a person makes does (a line through a value spans at
most two thirds of the page's width; a signature or a stamp a few centimetres).

The bands are looked for on the page aligned to the layout, where a drum's lie along the page:
- a dense band is divided out, each of its columns (rows) by its own grey, the median along
  the page: its paper comes out white, and anything darker than the band stays dark;
- a scatter of dots, too sparse to grey a column, is a narrow strip where the dots the form
  does not explain lie along the page's whole length, far more densely than beside it.
Dots remain on the flanks of a band and in a strip. A mark counts as a streak's, and not as
ink, only when it lies wholly inside one AND is no darker than the streak's own grey AND is
blurred, as a pen's strokes are not: a pen's line that crosses a band, or ink darker than the
band, is judged as any other. In a value's zone, a dot-sized mark is the streak's however
sharp (`Streaks.dots`): a streak's dots on white paper are sharp too.
Under a dense band so dark that a pen's stroke would be no darker (`BLIND_GREY`), only a sharp
mark can be told from the band's dots: the reading's note says how much of the page that is.
A strip of dots on white paper hides no stroke (one inside a band is the band's darker dots).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr import blobs

# A band greys at least nine tenths of its column (row): its 90th percentile is darker than
# the paper by 8 %. A pen's line through a value spans two thirds of the width at most.
STREAK_SHARE = 0.92
# Beside a band, its grey fades out over its flanks: they are divided out too while their
# median is darker than the paper by this many grey levels (of 255).
FLANK_LEVELS = 4.0
# A mark inside a streak is the streak's unless darker than its grey by more than a scanner's
# noise (σ up to 8) can make it.
NOISE_LEVELS = 25
# A mark inside a streak is ink all the same when its strokes stand out this sharply (grey
# levels over the surroundings within `_STROKE_PX`): a pen's do, a streak's blurred dots
# do not.
SHARP = 50
# A streak's dots on white paper are sharp too (black-hat 50–116 over the bench's dirty
# drums): in a value's zone, a mark no bigger than the largest of them (1.9 mm², 1.2 × 2.0 mm
# on the bench's first 8 dirty-drum cases) is the streak's however sharp, unless it lies
# between two of the form's printed marks (within `BETWEEN_MM` on either side), as a piece of
# a line struck through a value's letters does; a drum's dots under a line of text have
# printing on one side only. A pen's letter is bigger (its capitals 2.6–3.6 mm).
# Not in the signing area: there, the dots taken off once left a streak's edge, an
# underline and a fold's rule standing as a stamp's frame (bench case 14 of a worn copy).
DOT_MM2 = 2.0
DOT_MM = 2.2
BETWEEN_MM = 0.5
_STROKE_PX = 5
# Ballpoint ink comes out at 50–120 grey levels (of 255, on the flattened page): where a
# streak's darker dots are no lighter than this, a stroke under it may be no darker than they.
BLIND_GREY = 105
# A strip of scattered dots: at most this wide, dotted in nearly every tenth of the page's
# length, and this many times as densely as the page beside it (the median over the strips
# around it).
DOTTED_MAX_MM = 6.0
DOTTED_SEGMENTS = 10
DOTTED_MIN_SEGMENTS = 9
DOTTED_DENSER = 4.0
DOTTED_AROUND_MM = 15.0
# A scatter wanders: a strip is widened by this on either side.
DOTTED_MARGIN_MM = 1.5
# A dense band's darker dots: this percentile of each of its lines along the page. A pen's
# strokes cross a line of the page over a few millimetres of its 297.
DOTS_PERCENTILE = 3.0
# Along a band, rows (columns) are averaged in fours: a band is the same all along, its
# noise is not.
_SQUEEZE = 4
# How the reading's note of the streaks begins (the back office words it in Polish).
NOTE_START = "streaks of a drum or a roller taken for dirt, not ink: "
# At most this many places are named in the reading's note; the rest are counted.
_NAMED = 6


@dataclass(frozen=True)
class Band:
    """One streak: down the page (`vertical`) or across it, where, and how dark."""

    vertical: bool
    start: int  # pixels of the aligned page, across the band
    end: int
    grey: int  # its dots' grey on the flattened page (paper 255)
    dotted: bool = False


@dataclass(frozen=True)
class Streaks:
    """The streaks found on a page aligned to the layout (at `px_per_mm`)."""

    bands: list[Band]
    column_gain: np.ndarray  # float32 per column: what divides its band's grey out (1: none)
    row_gain: np.ndarray
    # int32 per column (row): the grey of the streak's darker dots there; 255 where none is.
    column_grey: np.ndarray
    row_grey: np.ndarray
    # float32 per column (row): its median grey along the page (paper 255).
    column_level: np.ndarray
    row_level: np.ndarray
    px_per_mm: float
    shape: tuple[int, int]

    @property
    def found(self) -> bool:
        return bool(self.bands)

    def gain_image(self) -> np.ndarray:
        """The gain over the aligned page (float32), to divide the bands out of it or, mapped
        back, out of the scan."""
        return np.asarray(self.row_gain[:, None] * self.column_gain[None, :], dtype=np.float32)

    def lifted(self, aligned: np.ndarray) -> np.ndarray:
        """`aligned` (the page the streaks were found on) with the bands' grey divided out."""
        if not self.found:
            return aligned
        return np.clip(aligned.astype(np.float32) * self.gain_image(), 0, 255).astype(np.uint8)

    def covered(self) -> np.ndarray:
        """Where a streak lies (uint8 mask over the aligned page)."""
        mask = np.zeros(self.shape, np.uint8)
        for band in self.bands:
            if band.vertical:
                mask[:, band.start : band.end] = 1
            else:
                mask[band.start : band.end, :] = 1
        return mask

    def blind(self) -> np.ndarray:
        """Where a dense band's dots are as dark as a pen's stroke (BLIND_GREY or darker): what
        is written under them cannot be told from them (uint8 mask over the aligned page)."""
        columns, rows = self._blind(vertical=True), self._blind(vertical=False)
        return np.asarray(columns[None, :] | rows[:, None], dtype=np.uint8)

    def _blind(self, *, vertical: bool) -> np.ndarray:
        """Per column (row): under a dense band whose dots, or those of a strip inside it, are
        as dark as a pen's stroke. Between a strip's dots the paper is white, and a pen's
        stroke there stays sharp and is judged: only a dense band greys the paper round a
        stroke so that its edges no longer stand out."""
        grey = self.column_grey if vertical else self.row_grey
        in_band = np.zeros(len(grey), bool)
        for band in self.bands:
            if band.vertical == vertical and not band.dotted:
                in_band[band.start : band.end] = True
        return np.asarray((grey <= BLIND_GREY) & in_band)

    def without_streak_marks(
        self, ink: np.ndarray, aligned: np.ndarray, printed: np.ndarray
    ) -> np.ndarray:
        """`ink` (a mask over the aligned page) without the streaks' own marks: the marks the
        form does not explain (`printed`: where it printed, widened for blur) lying wholly
        inside a streak, no darker than its grey (on `aligned`, the page as it came) and
        blurred, as a pen's strokes are not."""
        marks = self._marks(ink, aligned, printed, sharpness=True)
        if marks is None:
            return ink
        labels, _, inside, sharp = marks
        return _without(ink, labels, inside & ~sharp)

    def dots(self, ink: np.ndarray, aligned: np.ndarray, printed: np.ndarray) -> np.ndarray:
        """The marks of `ink` a streak leaves as dots, sharp or blurred (a uint8 mask): lying
        wholly inside a streak, no darker than its grey, dot-sized (`DOT_MM2`, `DOT_MM`) and
        not between two of the form's printed marks (`printed`), as a piece of a line struck
        through a value's letters is. For judging the values' zones alone (see `DOT_MM2`)."""
        marks = self._marks(ink, aligned, printed)
        if marks is None:
            return np.zeros_like(ink)
        labels, stats, inside, _ = marks
        extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
        small = (stats[:, cv2.CC_STAT_AREA] <= DOT_MM2 * self.px_per_mm**2) & (
            extent <= DOT_MM * self.px_per_mm
        )
        dot = inside & small
        reach = max(1, round(BETWEEN_MM * self.px_per_mm))
        for i in np.flatnonzero(dot):
            x, y, w, h = stats[i, :4]
            dot[i] = not _between(printed, x, y, w, h, reach)
        return np.asarray(dot.astype(np.uint8)[labels], dtype=np.uint8)

    def _marks(
        self, ink: np.ndarray, aligned: np.ndarray, printed: np.ndarray, *, sharpness: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The marks of `ink` the form does not explain, labelled, with their statistics,
        and per mark: whether it lies wholly inside a streak and is no darker than its grey;
        with `sharpness`, whether it is sharp, as a pen's stroke is (else none is). None when
        there is nothing to judge."""
        unexplained = ink & (1 - printed)
        if not self.found or not unexplained.any():
            return None
        covered = self.covered()
        _, labels, stats, _ = blobs.components(unexplained)
        count = len(stats)
        reaching_out = np.bincount(labels[covered == 0].ravel(), minlength=count) > 0
        ys, xs = np.nonzero(unexplained)
        which = labels[ys, xs]
        darkest = np.full(count, 255, np.int32)
        np.minimum.at(darkest, which, aligned[ys, xs].astype(np.int32))
        # The grey a mark is held to: the darkest of the streaks where it lies (a band's
        # flank and a strip of its dots beside it are one streak).
        grey = np.full(count, 255, np.int32)
        np.minimum.at(grey, which, np.minimum(self.column_grey[xs], self.row_grey[ys]))
        inside = (~reaching_out) & (darkest >= grey - NOISE_LEVELS)
        inside[0] = False
        sharp = np.zeros(count, bool)
        if not sharpness:
            return labels, stats, inside, sharp
        # A pen's stroke is sharp: a fraction of a millimetre wide, its edges as dark as its
        # middle. A streak's dots come blurred into clouds. How sharp a mark is: how much
        # darker than its surroundings within a stroke's width (a black-hat), in the 90th
        # percentile over it.
        sharp = inside & (blobs.ninetieth(which, stroke_contrast(aligned)[ys, xs], count) >= SHARP)
        return labels, stats, inside, sharp

    def describe(self) -> str:
        """The streaks in a few words for the reading's note: where they lie, and how wide,
        in all, those too dark to see a pen's stroke through are."""
        places = []
        for vertical, where in _PLACES:
            runs = self._runs(vertical)
            if runs:
                named = ", ".join(
                    f"{a / self.px_per_mm:.0f}–{b / self.px_per_mm:.0f}" for a, b in runs[:_NAMED]
                )
                places.append(where.format(len(runs), named + ("…" if len(runs) > _NAMED else "")))
        note = NOTE_START + " and ".join(places)
        dark = int(np.count_nonzero(self._blind(vertical=True)))
        dark += int(np.count_nonzero(self._blind(vertical=False)))
        if dark >= self.px_per_mm:
            note += (
                f" ({dark / self.px_per_mm:.0f} mm of them too dark to see a pen's stroke through)"
            )
        return note

    def _runs(self, vertical: bool) -> list[tuple[int, int]]:
        """Where the streaks down (across) the page lie, overlapping ones merged."""
        return _merged([(b.start, b.end) for b in self.bands if b.vertical == vertical])


def _between(printed: np.ndarray, x: int, y: int, w: int, h: int, reach: int) -> bool:
    """Whether printing lies on both sides of the box (`x`, `y`, `w`, `h`), within `reach`
    pixels: to its left and right, or above and below it."""
    rows, columns = printed[y : y + h], printed[:, x : x + w]
    return bool(
        (rows[:, max(0, x - reach) : x].any() and rows[:, x + w : x + w + reach].any())
        or (columns[max(0, y - reach) : y].any() and columns[y + h : y + h + reach].any())
    )


def _without(ink: np.ndarray, labels: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """`ink` without the marks of `labels` that `taken` (per label) holds."""
    return np.asarray(ink & (1 - taken.astype(np.uint8)[labels]), dtype=np.uint8)


def stroke_contrast(aligned: np.ndarray, width_px: int = _STROKE_PX) -> np.ndarray:
    """How much darker each pixel of `aligned` is than the paper round it within `width_px`
    (odd; a black-hat with an ellipse that wide): within a stroke's width, a pen's stroke
    stands out by `SHARP` or more in the 90th percentile over it (`blobs.ninetieth`), a
    streak's or a copier's blurred dots do not."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width_px, width_px))
    return cv2.morphologyEx(aligned, cv2.MORPH_BLACKHAT, kernel)


_PLACES = (
    (True, "{} down the page at {} mm from the left"),
    (False, "{} across it at {} mm from the top"),
)


def _merged(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(runs):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def find_streaks(aligned: np.ndarray, printed: np.ndarray, px_per_mm: float) -> Streaks:
    """The streaks on `aligned`: a grey page (flattened, paper near 255) aligned to the layout.

    `printed` marks where the form printed ink (widened for blur), or where the page is not
    compared: there, the page's grey says nothing of a streak's."""
    column_gain, column_bands, column_level = _bands(aligned, px_per_mm, vertical=True)
    # Without bands a gain is one everywhere: most pages are compared as they came, not
    # multiplied by it (only what stays under 205 counts below: no clipping is needed).
    page = aligned.astype(np.float32) * column_gain[None, :] if column_bands else aligned
    row_gain, row_bands, row_level = _bands(page, px_per_mm, vertical=False)
    if row_bands:
        page = page * row_gain[:, None]
    # Dots: what is still dark enough to be judged ink (`ocr.ink.INK_LEVEL`) where the form
    # printed nothing.
    dots = ((page < 205) & (printed == 0)).astype(np.uint8)
    dotted = [
        Band(vertical, start, end, _grey_of(aligned, dots, vertical, start, end), dotted=True)
        for vertical in (True, False)
        for start, end in _dotted_strips(dots, px_per_mm, vertical=vertical)
    ]
    greys = []
    # A dense band's dots are darker than its median where they are sparse: each of its lines
    # is held to its own darker dots, a low percentile along the page (looked for in the bands
    # alone: most pages have none).
    unprinted = np.where(printed == 0, aligned, 255) if column_bands or row_bands else aligned
    for vertical, dense in ((True, column_bands), (False, row_bands)):
        lines = unprinted if vertical else unprinted.T
        grey = np.full(lines.shape[1], 255, np.int32)
        for band in dense:
            grey[band.start : band.end] = _low_percentile(
                lines[:, band.start : band.end], DOTS_PERCENTILE
            )
        for band in dotted:
            if band.vertical == vertical:
                grey[band.start : band.end] = np.minimum(grey[band.start : band.end], band.grey)
        greys.append(grey)
    dense = [
        Band(b.vertical, b.start, b.end, int(greys[0 if b.vertical else 1][b.start : b.end].min()))
        for b in column_bands + row_bands
    ]
    return Streaks(
        bands=dense + dotted,
        column_gain=column_gain,
        row_gain=row_gain,
        column_grey=greys[0],
        row_grey=greys[1],
        column_level=column_level,
        row_level=row_level,
        px_per_mm=px_per_mm,
        shape=(aligned.shape[0], aligned.shape[1]),
    )


def _low_percentile(lines: np.ndarray, percent: float) -> np.ndarray:
    """Per column of `lines`, its `percent` percentile (a partition, not a sort)."""
    k = int(lines.shape[0] * percent / 100)
    return np.asarray(np.partition(lines, k, axis=0)[k], dtype=np.int32)


def _bands(
    page: np.ndarray, px_per_mm: float, *, vertical: bool
) -> tuple[np.ndarray, list[Band], np.ndarray]:
    """The gain that divides out each dense band down (`vertical`) or across the page, and
    the bands."""
    length, count = page.shape if vertical else page.shape[::-1]
    values = np.asarray(page, np.float32)
    # Each line squeezed along its length, a line to a row: across the page, the page is
    # squeezed as it lies and not transposed first (the same values, in 1.5 ms, not 4).
    squeezed = (
        cv2.resize(values, (count, max(1, length // _SQUEEZE)), interpolation=cv2.INTER_AREA).T
        if vertical
        else cv2.resize(values, (max(1, length // _SQUEEZE), count), interpolation=cv2.INTER_AREA)
    )
    # Each line's values sorted first (numpy sorts a row in SIMD): its percentiles are then
    # read off the sorted row.
    bright, level = _sorted_percentiles(np.sort(squeezed, axis=1), (90, 50))
    paper = float(np.median(level))
    gain = np.ones(count, np.float32)
    core = bright < STREAK_SHARE * paper
    median = np.asarray(255 * level / max(paper, 1.0), np.float32)
    if not core.any() or paper <= 0:
        return gain, [], median
    # Each band's flanks, as far as they stay greyer than the paper.
    band = core.copy()
    greyer = level < paper - FLANK_LEVELS
    while True:
        grown = band.copy()
        grown[1:] |= band[:-1]
        grown[:-1] |= band[1:]
        grown &= greyer | band
        if np.array_equal(grown, band):
            break
        band = grown
    gain[band] = paper / np.maximum(level[band], 1.0)
    found = []
    edges = np.flatnonzero(np.diff(np.r_[0, band.astype(np.int8), 0]))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        grey = round(255 * float(level[start:end].min()) / paper)
        found.append(Band(vertical, int(start), int(end), grey))
    return gain, found, median


def _sorted_percentiles(rows: np.ndarray, percents: tuple[float, ...]) -> list[np.ndarray]:
    """Per row of `rows` (each sorted), each of its `percents` percentiles: what
    `np.percentile` gives (its linear method, its arithmetic), read off the sorted row
    rather than partitioned out of it again (5 ms a page)."""
    last = rows.shape[1] - 1
    out: list[np.ndarray] = []
    for share in np.true_divide(percents, 100):
        at = last * share
        below = min(int(np.floor(at)), last)
        above = min(below + 1, last)
        weight = at - np.floor(at)
        low, high = rows[:, below], rows[:, above]
        step = high - low
        # numpy's own interpolation: from the nearer of the two, for the same rounding.
        out.append(low + step * weight if weight < 0.5 else high - step * (1 - weight))
    return out


def _dotted_strips(dots: np.ndarray, px_per_mm: float, *, vertical: bool) -> list[tuple[int, int]]:
    """Column (row) ranges where unexplained dots lie along the page's whole length, far more
    densely than beside them, no wider than DOTTED_MAX_MM."""
    lines = dots if vertical else dots.T
    length, count = lines.shape
    segment = length // DOTTED_SEGMENTS
    if segment == 0 or not lines.any():
        return []
    per_segment = lines[: segment * DOTTED_SEGMENTS].reshape(DOTTED_SEGMENTS, segment, count)
    counts = per_segment.sum(axis=1, dtype=np.int32).astype(np.float32)
    # Over a millimetre across: a scatter of dots wanders a little.
    across = max(1, round(px_per_mm))
    counts = cv2.boxFilter(counts, -1, (across, 1), normalize=False)
    spread = np.count_nonzero(counts > 0, axis=0)
    density = counts.sum(axis=0)
    beside = _running_median(density, max(3, round(DOTTED_AROUND_MM * px_per_mm) | 1))
    candidate = (spread >= DOTTED_MIN_SEGMENTS) & (density >= DOTTED_DENSER * np.maximum(beside, 1))
    strips = []
    edges = np.flatnonzero(np.diff(np.r_[0, candidate.astype(np.int8), 0]))
    margin = round(DOTTED_MARGIN_MM * px_per_mm)
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start <= DOTTED_MAX_MM * px_per_mm:
            strips.append((max(0, int(start) - margin), min(count, int(end) + margin)))
    return _merged(strips)


def _grey_of(aligned: np.ndarray, dots: np.ndarray, vertical: bool, start: int, end: int) -> int:
    """The grey of a strip's dots, on the page as it came: the darkest pixel of the darker of
    them (the 10th percentile; a sparse dot is its streak's grey blurred lighter)."""
    strip = (
        (aligned[:, start:end], dots[:, start:end])
        if vertical
        else (aligned[start:end, :], dots[start:end, :])
    )
    page, mask = strip
    labels, area = blobs.areas(mask)
    if len(area) <= 1:
        return 255
    ys, xs = np.nonzero(mask)
    darkest = np.full(len(area), 255, np.int32)
    np.minimum.at(darkest, labels[ys, xs], page[ys, xs].astype(np.int32))
    return int(np.percentile(darkest[1:], 10))


def _running_median(values: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.asarray(np.median(view, axis=1))
