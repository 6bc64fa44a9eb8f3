"""augraphy's print and scan wear: real changes to the sheet, the same for a seed, no download."""

from __future__ import annotations

import random
import socket

import numpy as np
import pytest

from documents import FormData
from documents.simulate import WEARS, Paper, worn, worn_scan
from documents.simulate.scenarios import printed
from documents.simulate.wear import Wear, grey_sheet


@pytest.fixture(scope="module")
def small_sheet(sample_form: FormData, secret_key: bytes) -> Paper:
    """The company's page, printed, in grey at 100 dpi: augraphy's cost grows with the pixels."""
    return grey_sheet(printed(sample_form, "current_registrant", secret_key), 100)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection can be opened: a download at run time fails the test instead of hanging."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"augraphy tried to connect to {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("wear", WEARS)
def test_each_wear_changes_the_sheet_the_same_way_for_a_seed(
    small_sheet: Paper, wear: Wear, offline: None
) -> None:
    """GIVEN a printed sheet and one of augraphy's kinds of wear, with no network
    WHEN the wear is applied twice from the same seed and once from another
    THEN the sheet stays a grey sheet of the same size, visibly changed; the same seed gives
    the same pixels (augraphy draws from Python's, NumPy's, OpenCV's and numba's generators,
    all seeded); another seed gives other pixels; and the caller's own `random` and NumPy
    global generators go on exactly as if nothing had drawn from them."""
    random.seed(1234)
    np.random.seed(1234)
    first = worn(small_sheet, np.random.default_rng(5), wear)
    after = (random.random(), np.random.random())
    again = worn(small_sheet, np.random.default_rng(5), wear)
    other = worn(small_sheet, np.random.default_rng(6), wear)
    random.seed(1234)
    np.random.seed(1234)

    assert after == (random.random(), np.random.random())
    assert first.pixels.shape == small_sheet.pixels.shape and first.dpi == small_sheet.dpi
    assert np.array_equal(first.pixels[..., 0], first.pixels[..., 2])  # grey
    changed = np.abs(first.pixels.astype(np.int16) - small_sheet.pixels).mean()
    assert changed > 0.01, f"{wear} left the sheet as it was"
    assert np.array_equal(first.pixels, again.pixels), f"{wear} is not the same for one seed"
    assert not np.array_equal(first.pixels, other.pixels), f"{wear} ignores the seed"


def test_a_worn_sheet_is_scanned_at_200_dpi(small_sheet: Paper) -> None:
    """GIVEN a sheet WHEN it is worn (low ink) and scanned THEN the capture is a grey 200 dpi
    scan of the whole A4 page."""
    capture = worn_scan(small_sheet, np.random.default_rng(0), "low-ink")
    assert (capture.mode, capture.x_dpi, capture.size) == ("grey", 200, (1654, 2339))
