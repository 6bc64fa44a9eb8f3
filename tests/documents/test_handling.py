"""Handling damage: show-through from the back, filing holes, a staple, an uneven sheet feed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from documents import FormData, layout
from documents.simulate import Paper, fed_unevenly, punch_holes, scan, show_through, staple
from documents.simulate.handling import HOLE_EDGE_MM, HOLE_PITCH_MM
from documents.simulate.scenarios import printed

DPI = 100


@pytest.fixture(scope="module")
def sheets(sample_form: FormData, secret_key: bytes) -> tuple[Paper, Paper]:
    """Both pages of the sample form, printed at 100 dpi: the front and what is on its back."""
    front = printed(sample_form, "current_registrant", secret_key)
    back = printed(sample_form, "new_registrant", secret_key)
    step = round(front.dpi / DPI)
    return Paper(front.pixels[::step, ::step].copy(), DPI), Paper(
        back.pixels[::step, ::step].copy(), DPI
    )


def test_the_back_shows_through_mirrored_and_faint(sheets: tuple[Paper, Paper]) -> None:
    """GIVEN a sheet printed on both sides
    WHEN the back shows through
    THEN the front's paper darkens where the back's QR code lies mirrored (left becomes right),
    by far less than ink would, and stays as it was where neither side has anything."""
    front, back = sheets
    paper = front.copy()
    show_through(paper, back, np.random.default_rng(0))

    x0, y0, x1, y1 = paper.box_px(layout.QR_CODE)
    width = paper.pixels.shape[1]
    mirrored = paper.pixels[y0:y1, width - x1 : width - x0].astype(int)
    untouched = front.pixels[y0:y1, width - x1 : width - x0].astype(int)
    paper_only = untouched.min(axis=2) == 255  # where the front itself has no ink
    darkening = (untouched - mirrored)[paper_only].mean()
    assert 3 < darkening < 60
    assert mirrored[paper_only].min() > 120  # never as dark as ink
    blank = (slice(0, 15), slice(width // 2 - 40, width // 2 + 40))  # above the title, both sides
    assert np.array_equal(paper.pixels[blank], front.pixels[blank])


def test_filing_holes_sit_where_a_hole_punch_puts_them(sheets: tuple[Paper, Paper]) -> None:
    """GIVEN a sheet WHEN it is punched THEN two (or four) round holes 80 mm apart lie about
    12 mm from the left edge, each showing the scanner's backing inside a darker rim."""
    paper = sheets[0].copy()
    before = paper.pixels.copy()
    punch_holes(paper, np.random.default_rng(1))

    changed = np.any(paper.pixels != before, axis=2)
    rows = np.nonzero(changed.any(axis=1))[0]
    cols = np.nonzero(changed.any(axis=0))[0]
    mm = 25.4 / DPI
    assert abs((cols.min() + cols.max()) / 2 * mm - HOLE_EDGE_MM) < 4
    assert (cols.max() - cols.min()) * mm < 9  # one column of holes, each about 6 mm across
    groups = np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1)
    assert len(groups) in (2, 4)
    centres = [group.mean() * mm for group in groups]
    assert all(abs(b - a - HOLE_PITCH_MM) < 2 for a, b in itertools.pairwise(centres))


def test_a_staple_marks_only_the_top_left_corner(sheets: tuple[Paper, Paper]) -> None:
    """GIVEN a sheet WHEN it is stapled THEN something dark lies within 25 mm of the top-left
    corner and nothing else on the page changed."""
    for seed in range(6):
        paper = sheets[0].copy()
        before = paper.pixels.copy()
        staple(paper, np.random.default_rng(seed))
        changed = np.any(paper.pixels != before, axis=2)
        corner = round(25 / 25.4 * DPI)
        assert changed[:corner, :corner].any()
        assert not changed[corner:, :].any() and not changed[:, corner:].any()


def test_an_uneven_feed_lengthens_the_page_by_one_to_two_percent(
    sheets: tuple[Paper, Paper],
) -> None:
    """GIVEN a sheet-feeder scan WHEN the feed is out of step THEN the page comes out 1–2 %
    longer, as wide as before, with the same resolution tag."""
    capture = scan(sheets[0], np.random.default_rng(2), dpi=DPI)
    stretched = fed_unevenly(capture, np.random.default_rng(3))
    assert stretched.size[0] == capture.size[0]
    assert 1.01 <= stretched.size[1] / capture.size[1] <= 1.02
    assert (stretched.x_dpi, stretched.y_dpi, stretched.mode) == (DPI, DPI, capture.mode)
