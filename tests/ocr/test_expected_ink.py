"""The page the reader compares a scan with: the blank form, made once, with the case's values.

GIVEN a case's form WHEN the reader makes the page it expects (`expected_ink`: the blank page
of the form for these kinds of parties, with only the values drawn over it) THEN wherever the
reader compares ink, it is exactly the page as printed whole.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from documents import FormData, layout, raster, render_page, value_boxes
from documents.render import case_number_box
from ocr import ink
from ocr.reading import expected_ink
from tests.documents.conftest import SECRET_KEY, make_sample_form


def _compared_zones(form: FormData, party: layout.Party) -> dict[str, layout.Box]:
    """Every zone the reader compares the expected ink in: around each value, as far as it
    searches for where the value really is (`ink.local_offset`); each field's zone for
    alterations; the signing area and the "no stamp" box, as they are."""
    reach = 2.5  # mm
    around = {**ink.field_zones(), **value_boxes(form)}
    around["case_number"] = case_number_box(form, party)
    zones = {
        name: layout.Box(b.x - reach, b.y - reach, b.w + 2 * reach, b.h + 2 * reach)
        for name, b in around.items()
    }
    zones["signing_area"] = ink.SIGNING_AREA
    zones["no_stamp_tick"] = layout.NO_STAMP_TICK.inset(-1.0)
    return zones


@pytest.mark.parametrize("party", layout.PARTIES)
@pytest.mark.parametrize("kinds", ["company-person", "person-company"])
def test_the_expected_page_is_the_printed_page_wherever_the_reader_compares(
    party: layout.Party, kinds: str
) -> None:
    form = make_sample_form(case_id=f"CS-{'7K2M' if kinds == 'company-person' else '9XRP'}-P9XR")
    if kinds == "person-company":
        form = dataclasses.replace(
            form, current_registrant=form.new_registrant, new_registrant=form.current_registrant
        )
    whole = ink.ExpectedInk.of(
        raster.render_gray(render_page(form, party, SECRET_KEY), 1, ink.INK_DPI)
    )
    made = expected_ink(form, party)
    assert made.mask.shape == whole.mask.shape
    for name, zone in _compared_zones(form, party).items():
        x0, y0, x1, y1 = zone.pixels(ink.INK_DPI)
        for part in ("mask", "grown", "bands"):
            want = getattr(whole, part)[max(0, y0) : y1, max(0, x0) : x1]
            got = getattr(made, part)[max(0, y0) : y1, max(0, x0) : x1]
            assert np.array_equal(want, got), f"{party} {name}: {part} differs"
    # Outside them it leaves out only what the reader never compares: the page code and the
    # instructions.
    left_out = (whole.mask == 1) & (made.mask == 0)
    for box in (layout.QR_CODE, layout.INSTRUCTIONS):
        x0, y0, x1, y1 = box.pixels(ink.INK_DPI)
        left_out[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2] = False
    assert not left_out.any()
    assert not ((made.mask == 1) & (whole.mask == 0)).any()
