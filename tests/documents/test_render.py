"""The printed form: two A4 pages, every value in the text layer, real signature fields,
a QR code that survives printing, and values that fit their boxes or are refused."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import pypdf
import pytest
import zxingcpp
from reportlab.pdfbase import pdfmetrics

from documents import DoesNotFit, FormData, layout, layout_problems, render_form, value_boxes
from documents import page_code as codes
from documents._exec import pdftoppm
from documents.errors import InvalidCode
from documents.form_data import printed_values
from documents.layout import MM_TO_PT
from documents.simulate.parties import random_form
from tests.documents.conftest import make_sample_form


@pytest.fixture(scope="module")
def pdf(sample_form: FormData, secret_key: bytes) -> bytes:
    return render_form(sample_form, secret_key)


def _reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_two_a4_pages_each_printing_all_the_case_data(pdf: bytes, sample_form: FormData) -> None:
    """GIVEN the contract's case WHEN its form is rendered THEN both pages are A4 and each
    page's text layer holds every value exactly as submitted, Polish letters included."""
    reader = _reader(pdf)
    assert len(reader.pages) == 2
    for page in reader.pages:
        width_mm = float(page.mediabox.width) / MM_TO_PT
        height_mm = float(page.mediabox.height) / MM_TO_PT
        assert (round(width_mm), round(height_mm)) == (210, 297)
        text = _flat(page.extract_text())
        for name, value in printed_values(sample_form).items():
            assert value in text, f"{name}: {value!r} is not in the text layer"
    first, second = (_flat(p.extract_text()) for p in reader.pages)
    assert "CS-7K2M-P9XR wersja 1 strona 1/2" in first
    assert "CS-7K2M-P9XR wersja 1 strona 2/2" in second
    assert "przenoszę na nowego abonenta" in first
    assert "przyjmuję przeniesienie" in second
    assert "06.12.2026" in first and "+48 22 100 20 30" in first


def test_fonts_with_polish_letters_are_embedded(pdf: bytes) -> None:
    for page in _reader(pdf).pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = descendant["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, f"{font['/BaseFont']} is not embedded"


def _letters_and_widths(font: pypdf.generic.DictionaryObject) -> list[tuple[str, float]]:
    """Each letter an embedded font subset holds (from its ToUnicode map) and its width there."""
    cmap = font["/ToUnicode"].get_object().get_data().decode()
    first = int(font["/FirstChar"])
    widths = [float(w) for w in font["/Widths"]]
    found = []
    for code, unicode in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap):
        if unicode != "0000":
            found.append((chr(int(unicode, 16)), widths[int(code, 16) - first]))
    return found


def test_each_letter_is_embedded_with_its_own_width(secret_key: bytes) -> None:
    """GIVEN forms of many parties drawn one after the other (what is kept between forms kept
    warm) THEN in each, every letter of every embedded font subset has the font's width for
    that letter: its text is set as the font sets it, not with another subset's widths."""
    rng = np.random.default_rng(11)
    for form in [make_sample_form(), *(random_form(rng) for _ in range(6))]:
        for page in _reader(render_form(form, secret_key)).pages:
            for ref in page["/Resources"]["/Font"].values():
                font = ref.get_object()
                name = str(font["/BaseFont"]).split("+", 1)[1]
                letters = _letters_and_widths(font)
                assert len(letters) > 10
                for letter, width in letters:
                    expected = pdfmetrics.stringWidth(letter, name, 1000)
                    assert width == pytest.approx(expected, abs=0.01), (name, letter)


def _widgets(pdf: bytes) -> dict[str, tuple[int, str, tuple[float, ...]]]:
    found = {}
    for number, page in enumerate(_reader(pdf).pages, start=1):
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            rect = tuple(float(v) for v in widget["/Rect"])
            found[str(widget["/T"])] = (number, str(widget["/FT"]), rect)
    return found


def test_signature_boxes_are_pdf_signature_fields_over_their_boxes(pdf: bytes) -> None:
    """GIVEN a company selling to a person THEN page 1 has the company's signature field and
    stamp widget, page 2 the person's signature field and no stamp."""
    widgets = _widgets(pdf)
    expected_rect = pytest.approx(layout.SIGNATURE.pdf_rect(), abs=0.01)
    assert widgets["current_registrant_signature"][:2] == (1, "/Sig")
    assert widgets["current_registrant_signature"][2] == expected_rect
    assert widgets["new_registrant_signature"][:2] == (2, "/Sig")
    assert widgets["new_registrant_signature"][2] == expected_rect
    assert widgets["current_registrant_stamp"][0] == 1
    assert widgets["current_registrant_stamp"][2] == pytest.approx(
        layout.STAMP.pdf_rect(), abs=0.01
    )
    assert "new_registrant_stamp" not in widgets
    fields = _reader(pdf).get_fields() or {}
    assert fields["current_registrant_signature"]["/FT"] == "/Sig"


def test_the_qr_code_decodes_from_the_printed_page_and_is_at_least_20_mm(
    pdf: bytes, secret_key: bytes
) -> None:
    """GIVEN each page rendered as a 150 dpi image THEN zxing reads its code, the MAC holds,
    and it names the case, the version and the page's own party."""
    for number, party in ((1, "current_registrant"), (2, "new_registrant")):
        image = pdftoppm.render_gray(pdf, number, 150)
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert len(found) == 1
        code = codes.decode(found[0].text, secret_key)
        assert (code.case_id, code.form_version, code.party) == ("CS-7K2M-P9XR", 1, party)
        position = found[0].position
        width_mm = (position.top_right.x - position.top_left.x) / 150 * 25.4
        assert width_mm >= 20.0


def test_one_changed_character_breaks_the_mac(secret_key: bytes) -> None:
    """GIVEN a genuine page code WHEN any one character after the prefix is changed
    THEN decoding refuses it as altered (not as someone else's code)."""
    text = codes.encode(codes.PageCode("CS-7K2M-P9XR", 3, "new_registrant"), secret_key)
    start = len(codes.PREFIX) + 1
    for i in range(start, len(text)):
        if text[i] in ":-":
            continue
        replacement = "7" if text[i] != "7" else "2"
        forged = text[:i] + replacement + text[i + 1 :]
        with pytest.raises(InvalidCode) as caught:
            codes.decode(forged, secret_key)
        assert not caught.value.foreign, forged
    with pytest.raises(InvalidCode):
        codes.decode(text, b"another service's secret")
    with pytest.raises(InvalidCode) as foreign:
        codes.decode("https://example.com/promo", secret_key)
    assert foreign.value.foreign


def _long_form() -> FormData:
    base = make_sample_form()
    long_company = ("Przedsiębiorstwo Handlowo-Usługowe Żółć i Gęśl " * 4)[:160].strip()
    current = dataclasses.replace(
        base.current_registrant,
        name=long_company,
        address=dataclasses.replace(
            base.current_registrant.address,
            street=("ul. Generała Władysława Andersa Ślężańskiego " * 3)[:80].strip(),
        ),
        representatives=("Grzegorz Brzęczyszczykiewicz", "Zofia Wójcik-Źdźbło", "Jan Łoś"),
    )
    domains = tuple(f"dluga-nazwa-domeny-numer-{i}.pl" for i in range(5))
    return dataclasses.replace(base, current_registrant=current, domains=domains)


def test_long_values_fit_their_boxes_by_shrinking_or_wrapping() -> None:
    """GIVEN the longest values the API accepts — a 160-character company name, a
    80-character street, three representatives and five 27-character domains —
    THEN nothing overflows its box and the text layer still holds each value whole."""
    form = _long_form()
    assert layout_problems(form) == []
    for name, inked in value_boxes(form).items():
        box = layout.FIELD_BOXES[name]
        assert inked.right <= box.right + 1e-6, name
        assert box.y - 1e-6 <= inked.y and inked.bottom <= box.bottom + 1e-6, name
    text = _flat(_reader(render_form(form, b"k")).pages[0].extract_text())
    for name, value in printed_values(form).items():
        assert value in text, name


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda f: dataclasses.replace(f, domains=tuple("x" * 60 + f"{i}.pl" for i in range(5))),
            "domains",
            "too long to print",
        ),
        (
            lambda f: dataclasses.replace(
                f, new_registrant=dataclasses.replace(f.new_registrant, name="W" * 160)
            ),
            "new_registrant.name",
            "too long to print",
        ),
        (
            lambda f: dataclasses.replace(
                f, new_registrant=dataclasses.replace(f.new_registrant, name="Anna 中文")
            ),
            "new_registrant.name",
            "cannot print",
        ),
    ],
)
def test_values_that_cannot_be_printed_readably_are_named(change, field: str, message: str) -> None:
    """GIVEN a value beyond what its box takes at the smallest readable size (8 pt for
    domains, 7 pt for names) or in a script the font lacks THEN it is refused by name."""
    problems = layout_problems(change(make_sample_form()))
    assert [p.field for p in problems] == [field]
    assert message in problems[0].reason
    with pytest.raises(DoesNotFit):
        render_form(change(make_sample_form()), b"k")


def test_rendering_is_deterministic(sample_form: FormData, secret_key: bytes) -> None:
    """The same case and version give the same bytes: a form can be re-sent identically."""
    assert render_form(sample_form, secret_key) == render_form(sample_form, secret_key)


def test_a_form_drawn_after_others_is_the_same_bytes(
    sample_form: FormData, secret_key: bytes
) -> None:
    """What is kept between forms (wrapped paragraphs, font subsets) never carries one case's
    letters into another's form: drawn again after forms of other parties, a form is the same
    bytes, and each form's text is its own case's."""
    first = render_form(sample_form, secret_key)
    rng = np.random.default_rng(7)
    for other in (random_form(rng) for _ in range(12)):
        text = _flat(
            " ".join(p.extract_text() for p in _reader(render_form(other, secret_key)).pages)
        )
        assert _flat(other.new_registrant.name) in text
    assert render_form(sample_form, secret_key) == first
