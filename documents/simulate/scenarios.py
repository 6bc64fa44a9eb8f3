"""The catalogue of pages that come back, genuine and forged, with what a correct reader concludes.

`expect` holds plain strings. `outcome` is the page's outcome (CONTRACT.md section 5:
`matched`, `unmatched`, `blank`, `stale_version`, `invalid_code`). For a matched page, `case`
says whose case it routes to (`own`, or `other` for a code copied from another case),
`failed_checks` lists the checks of CONTRACT.md section 3 that must fail for the scenario's
party (every other check of that party must pass), and `may_fail` those a careful reader may
also fail without being wrong.

Each scenario draws its variety from `rng` (scan settings, signature, stamp shape, colour and
place, which value is altered), so many seeds give many different pages with the same
expectation.

`CATALOGUE` is the fixed list the reader's tests go through. For measuring, `SHEETS` (each
kind of sheet, genuine or forged) and `CAPTURES` (each way a sheet reaches us, the simulator's
own and other tools': Ghostscript's fax devices, augraphy's wear) are crossed by `crossed`
into a scenario per pair.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from documents import page_code
from documents.form_data import EMPTY, FormData, PartyData, printed_values
from documents.layout import Party
from documents.render import render_page
from documents.simulate.capture import (
    Capture,
    blank_page,
    fax,
    foreign_page,
    photograph,
    rotate,
    scan,
)
from documents.simulate.frauds import edited_value_form, paste_qr, with_one_character_changed
from documents.simulate.handling import fed_unevenly, punch_holes, show_through, staple
from documents.simulate.ink import cross_out_and_write, sign, tick_no_stamp, write_in
from documents.simulate.paper import Paper, print_page
from documents.simulate.pcfax import pc_fax
from documents.simulate.stamp import stamp
from documents.simulate.wear import WEARS, Wear, worn_scan

Build = Callable[["Sitting"], Capture]


@dataclass(frozen=True)
class Sitting:
    """What one scenario is made from: the case's form, the service's key, the dice."""

    form: FormData
    key: page_code.Keys
    rng: np.random.Generator
    party: Party
    other_form: FormData | None


@dataclass(frozen=True)
class Scenario:
    """One kind of page that comes back, and what a correct reader concludes from it."""

    name: str
    party: Party | None  # whose page it is; None for a page of no case
    expect: dict[str, Any]
    description: str
    build: Build = field(repr=False, compare=False)


def make(
    scenario: Scenario | str,
    form: FormData,
    key: page_code.Keys,
    rng: np.random.Generator,
    other_form: FormData | None = None,
) -> Capture:
    """The page `scenario` describes, for the case `form`, as it reaches the service.

    `other_form` is the case a copied QR code comes from (`fraud-copied-qr`); without it a
    case the reader has never seen is made up (`other_case`).
    """
    chosen = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    # A page of no case has no party; its builder never looks at this one.
    party = chosen.party or "current_registrant"
    return chosen.build(Sitting(form, key, rng, party, other_form))


def matched(*failed: str, may_fail: tuple[str, ...] = (), case: str = "own") -> dict[str, Any]:
    return {
        "outcome": "matched",
        "case": case,
        "failed_checks": list(failed),
        "may_fail": list(may_fail),
    }


# --- printing and filling in ------------------------------------------------------------


@lru_cache(maxsize=4)
def _printed_sheet(pdf: bytes) -> Paper:
    # Printing (pdftoppm at 300 dpi) costs about 0.1 s; benchmarks print one page many times.
    return print_page(pdf, 1)


def printed(form: FormData, party: Party, key: page_code.Keys) -> Paper:
    """A fresh printout of `party`'s page of `form`, to write on."""
    return _printed_sheet(render_page(form, party, key)).copy()


def fill_in(paper: Paper, rng: np.random.Generator, signer: PartyData) -> None:
    """What a party does with its page: sign it and, for a company, stamp it."""
    sign(paper, rng)
    if signer.kind == "company":
        company_stamp(paper, rng, signer)


def company_stamp(paper: Paper, rng: np.random.Generator, company: PartyData) -> None:
    """The company's stamp: round or rectangular, blue or red, now and then over the signature."""
    address = f"{company.address.street}, {company.address.postal_code} {company.address.city}"
    stamp(
        paper,
        rng,
        company.name,
        company.nip or "",
        shape="round" if rng.random() < 0.5 else "rect",
        colour="blue" if rng.random() < 0.7 else "red",
        overlap_signature=bool(rng.random() < 0.3),
        address=address,
    )


def signed(sitting: Sitting, form: FormData | None = None) -> Paper:
    """The page printed from `form` (the case's own by default), signed and stamped."""
    paper = printed(form or sitting.form, sitting.party, sitting.key)
    fill_in(paper, sitting.rng, sitting.form.party(sitting.party))
    return paper


def office_scan(paper: Paper, rng: np.random.Generator) -> Capture:
    """An everyday office scan: 200 or 300 dpi, grey, now and then JPEG-compressed."""
    dpi = float(rng.choice([200, 300]))
    quality = int(rng.integers(75, 95)) if rng.random() < 0.5 else None
    return scan(paper, rng, dpi=dpi, jpeg_quality=quality)


# --- values someone might change ---------------------------------------------------------

_NAMES = ("Jan Kowalski", "Anna Nowak-Wiśniewska", "Piotr Zieliński", "Łucja Wójcik")
_STREETS = ("ul. Długa 5", "ul. Polna 12/3", "al. Róż 7")
_PLACES = ("00-950 Warszawa, PL", "50-001 Wrocław, PL", "61-896 Poznań, PL")
_EMAILS = ("kontakt@example.org", "jan.k@example.net")
# What people write into a field the form left empty (printed as "—").
_ADDITIONS = {
    "id_number": "5213017228",
    "regon": "012345675",
    "krs": "0000654321",
    "representatives": "Jan Kowalski",
    "phone": "+48 601 234 567",
}
ALTERABLE_FIELDS = ("name", "id_number", "street", "postal_city", "email")


def plausible_change(field_name: str, old: str, rng: np.random.Generator) -> str:
    """A different value for a party's `field_name` that a forger might put there."""
    if field_name == "id_number":
        digits = list(old if old.isdigit() else "92110804566")
        for position in rng.choice(len(digits), 2, replace=False):
            digits[position] = str((int(digits[position]) + int(rng.integers(1, 10))) % 10)
        return "".join(digits)
    choices = {
        "name": _NAMES,
        "street": _STREETS,
        "postal_city": _PLACES,
        "email": _EMAILS,
    }[field_name]
    others = [c for c in choices if c != old]
    return others[int(rng.integers(len(others)))]


def other_case(form: FormData, rng: np.random.Generator) -> FormData:
    """Another case, as a forger's source of a genuine code: another id, other domains and
    another new registrant, so that nothing printed on `form` matches it."""
    alphabet = string.ascii_uppercase + string.digits
    letters = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 8))
    buyer = replace(form.new_registrant, name=_NAMES[int(rng.integers(len(_NAMES)))])
    return replace(
        form,
        case_id=f"CS-{letters[:4]}-{letters[4:]}",
        domains=("sklep-rowerowy.pl",),
        new_registrant=buyer,
    )


# --- the scenarios ------------------------------------------------------------------------


def _genuine_scan_300(s: Sitting) -> Capture:
    quality = int(s.rng.integers(80, 96)) if s.rng.random() < 0.5 else None
    return scan(signed(s), s.rng, dpi=300, jpeg_quality=quality)


def _genuine_scan_200_colour(s: Sitting) -> Capture:
    return scan(signed(s), s.rng, dpi=200, colour=True, jpeg_quality=int(s.rng.integers(75, 93)))


def _genuine_scan(s: Sitting) -> Capture:
    return office_scan(signed(s), s.rng)


def _genuine_fax_standard(s: Sitting) -> Capture:
    return fax(signed(s), s.rng, fine=False)


def _genuine_fax_fine(s: Sitting) -> Capture:
    return fax(signed(s), s.rng, fine=True, halftone=bool(s.rng.random() < 0.3))


def _genuine_photo(s: Sitting) -> Capture:
    return photograph(signed(s), s.rng)


def _genuine_upside_down(s: Sitting) -> Capture:
    return rotate(office_scan(signed(s), s.rng), 2)


def _no_stamp_ticked_sheet(s: Sitting) -> Paper:
    paper = printed(s.form, s.party, s.key)
    sign(paper, s.rng)
    tick_no_stamp(paper, s.rng)
    return paper


def _unsigned_sheet(s: Sitting) -> Paper:
    paper = printed(s.form, s.party, s.key)
    signer = s.form.party(s.party)
    if signer.kind == "company":
        company_stamp(paper, s.rng, signer)
    return paper


def _unstamped_sheet(s: Sitting) -> Paper:
    if s.form.party(s.party).kind != "company":
        raise ValueError(f"fraud-missing-stamp needs a company as {s.party}")
    paper = printed(s.form, s.party, s.key)
    sign(paper, s.rng)
    return paper


def _party_field(s: Sitting, *, filled: bool = False) -> tuple[str, str]:
    """One of the scenario party's printed values: its field key and its text; with `filled`,
    one the form did not leave empty ("—")."""
    values = printed_values(s.form)
    names = [
        name for name in ALTERABLE_FIELDS if not (filled and values[f"{s.party}.{name}"] == EMPTY)
    ]
    key = f"{s.party}.{names[int(s.rng.integers(len(names)))]}"
    return key, values[key]


def _crossed_out_sheet(s: Sitting) -> Paper:
    paper = signed(s)
    key, old = _party_field(s)
    cross_out_and_write(paper, s.rng, key, plausible_change(key.split(".")[1], old, s.rng))
    return paper


def _written_in_sheet(s: Sitting) -> Paper:
    paper = signed(s)
    values = printed_values(s.form)
    empty = [key for key, text in values.items() if text == EMPTY and key.startswith(s.party)]
    if empty and s.rng.random() < 0.7:
        key = empty[int(s.rng.integers(len(empty)))]
        addition = _ADDITIONS[key.split(".")[1]]
    else:
        key, addition = (
            "domains",
            ", " + ("sklep-rowerowy.pl", "drugi.com.pl")[int(s.rng.integers(2))],
        )
    write_in(paper, s.rng, key, addition)
    return paper


def _edited_pdf_sheet(s: Sitting) -> Paper:
    # A value typed into a field the form left empty is ink where the form printed none:
    # the alteration check's, as a written-in value is (tests/ocr/test_reading.py).
    key, old = _party_field(s, filled=True)
    edited = edited_value_form(s.form, key, plausible_change(key.split(".")[1], old, s.rng))
    return signed(s, edited)


def _copied_qr_sheet(s: Sitting) -> Paper:
    source = s.other_form or other_case(s.form, s.rng)
    code = page_code.PageCode(source.case_id, source.form_version, s.party)
    paper = signed(s)
    paste_qr(paper, page_code.encode(code, s.key))
    return paper


def _altered_qr_sheet(s: Sitting) -> Paper:
    code = page_code.PageCode(s.form.case_id, s.form.form_version, s.party)
    paper = signed(s)
    paste_qr(paper, with_one_character_changed(page_code.encode(code, s.key), s.rng))
    return paper


def _office_scanned(sheet: Callable[[Sitting], Paper]) -> Build:
    """The page `sheet` makes, scanned in the office (`office_scan`)."""

    def build(s: Sitting) -> Capture:
        return office_scan(sheet(s), s.rng)

    return build


_no_stamp_ticked = _office_scanned(_no_stamp_ticked_sheet)
_missing_signature = _office_scanned(_unsigned_sheet)
_missing_stamp = _office_scanned(_unstamped_sheet)
_crossed_out = _office_scanned(_crossed_out_sheet)
_written_in = _office_scanned(_written_in_sheet)
_edited_pdf = _office_scanned(_edited_pdf_sheet)
_copied_qr = _office_scanned(_copied_qr_sheet)
_altered_qr = _office_scanned(_altered_qr_sheet)


def _blank(s: Sitting) -> Capture:
    return blank_page(s.rng, dpi=float(s.rng.choice([200, 300])))


def _foreign(s: Sitting) -> Capture:
    url = f"https://example.com/faktura/{int(s.rng.integers(10_000, 99_999))}"
    return foreign_page(s.rng, dpi=200, qr_text=url if s.rng.random() < 0.6 else None)


_CR: Party = "current_registrant"
_NR: Party = "new_registrant"

CATALOGUE: tuple[Scenario, ...] = (
    Scenario(
        "genuine-scan-300dpi", _CR, matched(), "signed, stamped, 300 dpi grey", _genuine_scan_300
    ),
    Scenario(
        "genuine-scan-200dpi-colour",
        _CR,
        matched(),
        "signed, stamped, 200 dpi colour JPEG",
        _genuine_scan_200_colour,
    ),
    Scenario(
        "genuine-scan-new-registrant", _NR, matched(), "a person's signed page", _genuine_scan
    ),
    Scenario("genuine-fax-standard", _CR, matched(), "204 × 98 dpi fax", _genuine_fax_standard),
    Scenario("genuine-fax-fine", _NR, matched(), "204 × 196 dpi fax", _genuine_fax_fine),
    Scenario("genuine-photo", _NR, matched(), "a phone photo on a table", _genuine_photo),
    Scenario("genuine-upside-down", _CR, matched(), "fed upside down", _genuine_upside_down),
    Scenario(
        "genuine-company-no-stamp-ticked",
        _CR,
        matched(),
        "signed, no stamp, the no-stamp box ticked",
        _no_stamp_ticked,
    ),
    Scenario(
        "fraud-missing-signature",
        _NR,
        matched("signature_present"),
        "not signed",
        _missing_signature,
    ),
    Scenario(
        "fraud-missing-stamp",
        _CR,
        matched("stamp_present"),
        "a company's page signed but neither stamped nor ticked",
        _missing_stamp,
    ),
    Scenario(
        "fraud-crossed-out-value",
        _NR,
        matched("unaltered", may_fail=("fields_match",)),
        "a printed value crossed out and another written above or after it",
        _crossed_out,
    ),
    Scenario(
        "fraud-written-in-value",
        _NR,
        matched("unaltered", may_fail=("fields_match",)),
        "handwriting added to an empty field or after the domains",
        _written_in,
    ),
    Scenario(
        "fraud-edited-pdf-value",
        _NR,
        matched("fields_match", may_fail=("unaltered",)),
        "a value changed in the PDF before printing, the code left valid",
        _edited_pdf,
    ),
    Scenario(
        "fraud-copied-qr",
        _NR,
        matched("fields_match", case="other"),
        "the QR code of another case's page pasted over this one",
        _copied_qr,
    ),
    Scenario(
        "fraud-altered-qr",
        _CR,
        {"outcome": "invalid_code"},
        "the QR code reprinted with one character changed",
        _altered_qr,
    ),
    Scenario("blank-page", None, {"outcome": "blank"}, "a blank sheet scanned", _blank),
    Scenario(
        "foreign-page",
        None,
        {"outcome": "unmatched"},
        "a letter of no case, sometimes with a QR code of its own",
        _foreign,
    ),
)

SCENARIOS: dict[str, Scenario] = {s.name: s for s in CATALOGUE}


# --- every sheet under every capture ------------------------------------------------------
#
# A scenario above is one sheet under one capture. Benchmarks cross them: each kind of sheet
# (genuine or forged) under each way it can reach us, ours or another tool's.

Take = Callable[[Paper, Sitting], Capture]
CaptureSource = Literal["ours", "ghostscript", "augraphy"]


@dataclass(frozen=True)
class CaptureKind:
    """One way a filled-in sheet becomes the image we receive: a device, and the damage on the
    way. `source` says whose model of the damage it is: the simulator's own, or another tool's."""

    name: str
    source: CaptureSource
    description: str
    take: Take = field(repr=False, compare=False)


@dataclass(frozen=True)
class Sheet:
    """One kind of sheet that comes back, before it is captured, and what a correct reader
    concludes from it (as `Scenario.expect`). `company_only`: it needs a company's page."""

    name: str
    expect: dict[str, Any]
    description: str
    company_only: bool
    make: Callable[[Sitting], Paper] = field(repr=False, compare=False)


def crossed(sheet: Sheet, capture: CaptureKind, party: Party) -> Scenario:
    """The scenario of `party`'s page made as `sheet` says and captured as `capture` says,
    named `<sheet>@<capture>`."""

    def build(s: Sitting) -> Capture:
        return capture.take(sheet.make(s), s)

    description = f"{sheet.description}; {capture.description}"
    return Scenario(f"{sheet.name}@{capture.name}", party, sheet.expect, description, build)


def _scan_300(paper: Paper, s: Sitting) -> Capture:
    quality = int(s.rng.integers(80, 96)) if s.rng.random() < 0.5 else None
    return scan(paper, s.rng, dpi=300, jpeg_quality=quality)


def _scan_200_colour(paper: Paper, s: Sitting) -> Capture:
    return scan(paper, s.rng, dpi=200, colour=True, jpeg_quality=int(s.rng.integers(75, 93)))


def _fax_fine(paper: Paper, s: Sitting) -> Capture:
    return fax(paper, s.rng, fine=True, halftone=bool(s.rng.random() < 0.3))


def _show_through(paper: Paper, s: Sitting) -> Capture:
    # The form printed on both sides of one sheet: the other party's page is on the back.
    back_party: Party = (
        "new_registrant" if s.party == "current_registrant" else "current_registrant"
    )
    show_through(paper, printed(s.form, back_party, s.key), s.rng)
    return office_scan(paper, s.rng)


def _punched_and_stapled(paper: Paper, s: Sitting) -> Capture:
    punch_holes(paper, s.rng)
    staple(paper, s.rng)
    return office_scan(paper, s.rng)


def _pc_fax(*, fine: bool, colour: bool) -> Take:
    def take(paper: Paper, s: Sitting) -> Capture:
        return pc_fax(paper, s.rng, fine=fine, colour=colour)

    return take


def _worn(*wears: Wear) -> Take:
    def take(paper: Paper, s: Sitting) -> Capture:
        return worn_scan(paper, s.rng, *wears)

    return take


def _worn_copy(paper: Paper, s: Sitting) -> Capture:
    """Three kinds of wear at once: the printer's ink, the copier's or scanner's dirt, handling."""
    ink: tuple[Wear, ...] = ("ink-bleed", "low-ink")
    device: tuple[Wear, ...] = ("dirty-drum", "dirty-rollers", "bad-photocopy")
    handling: tuple[Wear, ...] = ("folding", "shadow", "lighting-gradient")
    wears = [group[int(s.rng.integers(len(group)))] for group in (ink, device, handling)]
    return worn_scan(paper, s.rng, *wears)


CAPTURES: tuple[CaptureKind, ...] = (
    CaptureKind("scan-300dpi-grey", "ours", "300 dpi grey, JPEG or not", _scan_300),
    CaptureKind("scan-200dpi-colour", "ours", "200 dpi colour JPEG", _scan_200_colour),
    CaptureKind("fax-standard", "ours", "204 × 98 dpi fax", lambda p, s: fax(p, s.rng, fine=False)),
    CaptureKind("fax-fine", "ours", "204 × 196 dpi fax, now and then dithered", _fax_fine),
    CaptureKind("photo", "ours", "a phone photo on a table", lambda p, s: photograph(p, s.rng)),
    CaptureKind(
        "upside-down", "ours", "scanned upside down", lambda p, s: rotate(office_scan(p, s.rng), 2)
    ),
    CaptureKind(
        "show-through",
        "ours",
        "printed on both sides: the other page shows through, mirrored",
        _show_through,
    ),
    CaptureKind(
        "punched-stapled",
        "ours",
        "filing holes at the left edge, a staple (or its holes) in the top-left corner",
        _punched_and_stapled,
    ),
    CaptureKind(
        "stretched-feed",
        "ours",
        "a sheet feeder out of step: the page 1–2 % longer along the feed",
        lambda p, s: fed_unevenly(office_scan(p, s.rng), s.rng),
    ),
    CaptureKind(
        "pc-fax-standard-grey",
        "ghostscript",
        "scanned grey, faxed by Ghostscript (tiffg3/tiffg4) at 204 × 98 dpi",
        _pc_fax(fine=False, colour=False),
    ),
    CaptureKind(
        "pc-fax-standard-colour",
        "ghostscript",
        "scanned in colour, faxed by Ghostscript at 204 × 98 dpi",
        _pc_fax(fine=False, colour=True),
    ),
    CaptureKind(
        "pc-fax-fine-grey",
        "ghostscript",
        "scanned grey, faxed by Ghostscript at 204 × 196 dpi",
        _pc_fax(fine=True, colour=False),
    ),
    CaptureKind(
        "pc-fax-fine-colour",
        "ghostscript",
        "scanned in colour, faxed by Ghostscript at 204 × 196 dpi",
        _pc_fax(fine=True, colour=True),
    ),
    *(
        CaptureKind(f"augraphy-{wear}", "augraphy", f"augraphy's {wear}", _worn(wear))
        for wear in WEARS
    ),
    CaptureKind(
        "augraphy-worn-copy",
        "augraphy",
        "augraphy: ink wear, a dirty copier or scanner, and handling, at once",
        _worn_copy,
    ),
)

SHEETS: tuple[Sheet, ...] = (
    Sheet("genuine", matched(), "signed, and stamped by a company", False, signed),
    Sheet(
        "genuine-no-stamp-ticked",
        matched(),
        "a company's page signed, the no-stamp box ticked",
        True,
        _no_stamp_ticked_sheet,
    ),
    *(
        Sheet(s.name, s.expect, s.description, s.name == "fraud-missing-stamp", sheet)
        for s, sheet in (
            (SCENARIOS["fraud-missing-signature"], _unsigned_sheet),
            (SCENARIOS["fraud-missing-stamp"], _unstamped_sheet),
            (SCENARIOS["fraud-crossed-out-value"], _crossed_out_sheet),
            (SCENARIOS["fraud-written-in-value"], _written_in_sheet),
            (SCENARIOS["fraud-edited-pdf-value"], _edited_pdf_sheet),
            (SCENARIOS["fraud-copied-qr"], _copied_qr_sheet),
            (SCENARIOS["fraud-altered-qr"], _altered_qr_sheet),
        )
    ),
)
