"""Reading one page: route it, align it, read its values, find its ink. The pipeline's list.

Each step is a small function; `read_page` runs them in order and turns what they find into
a `PageReading`, the evidence the case's checks are computed from.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np

from documents import FormData, InvalidCode, layout, page_code, printed_values, raster
from documents import value_boxes as printed_value_boxes
from documents.form_data import EMPTY
from documents.layout import Box, Party
from documents.render import (
    case_number_box,
    case_number_text,
    printed_case_number,
    printed_lines,
    printed_value_lines,
    render_blank_page,
    render_values,
)
from ocr import align, blobs, ink, route, unfold
from ocr._exec import tesseract
from ocr.case_number import follow_case_number
from ocr.descreen import FINE_MIN_DPI, Descreened, descreen, whole_letters
from ocr.esign import SignedForm
from ocr.fields import OCR_PX_PER_MM, FieldReading, read_case_number, read_field
from ocr.folds import LOST_SHARE, VALUES_NOTE_START, MovedLines, moved_lines
from ocr.specks import NO_DIRT, PEN_GREY, Dirt, without_dirt
from ocr.streaks import Streaks, find_streaks

if TYPE_CHECKING:
    from ocr.pages import PageImage

# "unreadable": the page could not be decoded or read within its budget (`cesja` says why).
Outcome = Literal["matched", "unmatched", "blank", "stale_version", "invalid_code", "unreadable"]
Lookup = Callable[[str], FormData | None]

EVIDENCE_DPI = 100.0
# The page a reviewer zooms into: at the scan's own resolution, up to this (a 600 dpi scan at
# its own would be 35 megapixels to send for one look).
ZOOM_MAX_DPI = 300.0
# A 300 dpi page is 1.8 MB at 90, 1.3 MB at 80: the paper's grain, not the writing, takes it.
ZOOM_JPEG_QUALITY = 80
# The zoom image is for a person's eyes: resampled as an affine map where that moves nothing
# by more than this (scan pixels), as on a scanner's or a fax's pages.
ZOOM_NEAR_PX = 0.5
# Around a value's close-up: room for what was written above or below a crossed-out line, or
# beside it, which the value's own box cuts off.
CLOSE_UP_MARGIN_MM = (3.0, 6.0)  # left and right, above and below
_BLANK_MAX_INK_MM2 = 25.0


@dataclass
class PageReading:
    """What one page turned out to be and, for a page of a case, what was seen on it."""

    index: int
    outcome: Outcome
    detail: str = ""
    case_id: str | None = None
    party: Party | None = None
    form_version: int | None = None
    # "signed_pdf": an electronically signed file of the form, read from its signatures.
    routed_by: Literal["qr", "case_number", "staff", "signed_pdf"] | None = None
    aligned: bool = False
    fields: dict[str, FieldReading] = field(default_factory=dict)
    signature: ink.InkFinding | None = None
    stamp: ink.InkFinding | None = None
    alterations: dict[str, ink.InkFinding] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, bytes] = field(default_factory=dict)
    # An electronically signed file: what its bytes and signatures show, in place of ink.
    signed: SignedForm | None = None

    @property
    def code_valid(self) -> bool:
        if self.signed is not None:
            return self.signed.passes("page_received")
        return self.routed_by == "qr"

    @property
    def fields_match(self) -> bool:
        if self.signed is not None:
            return self.signed.passes("fields_match")
        return bool(self.fields) and all(f.verdict != "mismatch" for f in self.fields.values())

    @property
    def signature_present(self) -> bool:
        if self.signed is not None:
            return self.signed.passes("signature_present")
        return self.signature is not None and bool(self.signature.present)

    @property
    def stamp_present(self) -> bool | None:
        if self.signed is not None:
            has_stamp = "stamp_present" in self.signed.verdicts
            return self.signed.passes("stamp_present") if has_stamp else None
        return None if self.stamp is None else bool(self.stamp.present)

    @property
    def altered_fields(self) -> list[str]:
        return [name for name, found in self.alterations.items() if bool(found.present)]

    @property
    def unaltered(self) -> bool:
        if self.signed is not None:
            return self.signed.passes("unaltered")
        return self.aligned and not self.altered_fields

    @property
    def mismatched_fields(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.verdict == "mismatch"]

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        index: int,
        case_id: str | None = None,
        party: Party | None = None,
        form_version: int | None = None,
    ) -> PageReading:
        """A reading as `to_dict` stored it, with what is stored beside it (its place in its
        file, the case, party and form version it was routed to). What `to_dict` writes that
        can be derived (fields_match, signature_present, …) is derived again here."""
        signature, stamp, signed = data.get("signature"), data.get("stamp"), data.get("signed")
        return cls(
            index=index,
            outcome=data["outcome"],
            detail=data.get("detail") or "",
            case_id=case_id,
            party=party,
            form_version=form_version,
            routed_by=data.get("routed_by"),
            aligned=bool(data.get("aligned")),
            fields={
                name: FieldReading.from_dict(name, value)
                for name, value in (data.get("fields") or {}).items()
            },
            signature=ink.InkFinding.from_dict(signature) if signature else None,
            stamp=ink.InkFinding.from_dict(stamp) if stamp else None,
            alterations={
                name: ink.InkFinding.from_dict(found)
                for name, found in (data.get("alterations") or {}).items()
            },
            timings_ms=dict(data.get("timings_ms") or {}),
            signed=SignedForm.from_dict(signed) if signed else None,
        )

    def to_dict(self) -> dict[str, object]:
        """The reading as stored with the page (JSON); the evidence images are kept apart."""
        return {
            "outcome": self.outcome,
            "detail": self.detail,
            "routed_by": self.routed_by,
            "code_valid": self.code_valid,
            "aligned": self.aligned,
            "fields_match": self.fields_match,
            "signature_present": self.signature_present,
            "stamp_present": self.stamp_present,
            "unaltered": self.unaltered,
            "altered_fields": self.altered_fields,
            "fields": {name: f.to_dict() for name, f in self.fields.items()},
            "signature": self.signature.to_dict() if self.signature else None,
            "stamp": self.stamp.to_dict() if self.stamp else None,
            "alterations": {
                name: found.to_dict() for name, found in self.alterations.items() if found.ink_mm2
            },
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "signed": self.signed.to_dict() if self.signed else None,
        }


class _Clock:
    def __init__(self, reading: PageReading):
        self.reading = reading
        self.last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.reading.timings_ms[step] = (now - self.last) * 1000
        self.last = now


def read_page(
    page: PageImage,
    *,
    key: page_code.Keys,
    lookup: Lookup,
    tessdata: Path | None = None,
    assigned: page_code.PageCode | None = None,
) -> PageReading:
    """Everything the service can tell about one page of a received file.

    `assigned`: the case and party a person said the page is (its code and case number could
    not be read), with the form version it is to be read against, as if its code said so.
    """
    reading = PageReading(index=page.index, outcome="unmatched")
    clock = _Clock(reading)
    # A black-and-white page has no uneven light to take out.
    flat, overview = (
        (page.gray, None) if page.bilevel else align.flatten_illumination(page.gray, page.dpi)
    )
    # Streaks are a fax's: dirt on the sender's glass. Looked for elsewhere, the edge of a
    # photographed page or a shadow would pass for one.
    clean, streaks = ink.remove_streaks(flat, page.dpi) if page.bilevel else (flat, 0)
    # A PC fax's halftone screen over grey paper would be ink everywhere, dot by dot: the
    # party's ink is judged on the page with its screen taken off.
    screen = descreen(clean, page.dpi, page.coarse_dpi) if page.bilevel else None
    lost_lines = 0
    if screen is not None and not screen.found:
        # Not on a screened page: its rows of dots, with blank rows between, are alike.
        clean, lost_lines = ink.fill_lost_lines(clean, page.coarse_dpi, page.dpi)
    # What was taken off or mended before anything was read, said in the reading.
    mended = tuple(
        note
        for count, note in (
            (streaks, f"{streaks} streak column(s) removed"),
            (lost_lines, f"{lost_lines} lost scan line(s) filled in"),
        )
        if count
    )
    candidates = _upright_first(align.candidate_alignments(clean, page.dpi, overview), [], clean)
    clock.lap("align")
    if assigned is not None:
        if not candidates:
            reading.detail = "the form's corner markers were not found: it cannot be read"
            return reading
        # No code says which way up the page lies: it is read each way, and the way whose
        # fields read as the form printed them is the page.

        def read_lying(alignment: align.Alignment) -> PageReading:
            read = PageReading(index=page.index, outcome="unmatched", aligned=True)
            read.routed_by, read.timings_ms = "staff", dict(reading.timings_ms)
            return _read_routed(
                read,
                page,
                clean,
                mended,
                screen,
                alignment,
                assigned,
                lookup,
                tessdata,
                _Clock(read),
            )

        return max(
            map(read_lying, candidates),
            key=lambda read: sum(f.verdict == "match" for f in read.fields.values()),
        )
    # Where the layout puts the code, on each way up the page may lie: a small upright crop
    # reads in a fraction of a millisecond; the whole page only when that finds nothing. A
    # screened page's code is looked for on the page with its screen taken off too: a fine
    # PC fax draws each module as a grid of dots with holes, which zxing-cpp cannot read.
    looks = [clean] if screen is None or not screen.found else [clean, screen.page]
    codes: list[route.FoundCode] = []
    for candidate in candidates:
        codes = _code_in_box(looks, candidate)
        if codes:
            candidates = [candidate] + [c for c in candidates if c is not candidate]
            break
    else:
        codes = _ours(route.find_codes(page.gray))
        candidates = _upright_first(candidates, codes, clean)
    clock.lap("route")
    if not candidates:
        return _unaligned(reading, clean, page.dpi, codes, key)
    reading.aligned = True
    alignment = candidates[0]
    code = _verify(reading, codes, key)
    if code is None and reading.outcome != "invalid_code":
        # A fold sheared the symbol past zxing's grid: followed by its function patterns, its
        # modules read from the page (60 ms a page, paid only by a page no reader decoded).
        code = _verify(reading, _ours(route.read_code_by_its_patterns(clean, alignment)), key)
    if reading.outcome == "invalid_code":
        return reading
    if code is None:
        routed = _route_by_case_number(reading, clean, candidates, key, lookup, tessdata)
        if routed is None:
            reading.detail = reading.detail or "no readable page code and no readable case number"
            aligned = alignment.warp_page(clean, ink.INK_DPI)
            _keep_page_image(reading, aligned)
            return reading
        code, alignment = routed
    clock.lap("code")
    return _read_routed(
        reading, page, clean, mended, screen, alignment, code, lookup, tessdata, clock
    )


def _read_routed(
    reading: PageReading,
    page: PageImage,
    clean: np.ndarray,
    mended: tuple[str, ...],
    screen: Descreened | None,
    alignment: align.Alignment,
    code: page_code.PageCode,
    lookup: Lookup,
    tessdata: Path | None,
    clock: _Clock,
) -> PageReading:
    """The page read against the form its code (or a person) names."""
    form = lookup(code.case_id)
    if form is None:
        reading.detail = f"the page names case {code.case_id}, which does not exist"
        return reading
    reading.case_id, reading.party, reading.form_version = (
        code.case_id,
        code.party,
        code.form_version,
    )
    if code.form_version < form.form_version:
        reading.outcome = "stale_version"
        reading.detail = (
            f"printed from form version {code.form_version}; the case is at version "
            f"{form.form_version}, so this page no longer counts"
        )
        return reading
    if code.form_version > form.form_version:
        reading.outcome = "invalid_code"
        reading.detail = f"the page claims form version {code.form_version}, never issued"
        return reading
    if reading.routed_by == "qr" and code.key_id != form.key_id:
        # A key kept to read forms printed before a rotation signs nothing issued after it.
        reading.outcome = "invalid_code"
        reading.detail = (
            f"the page code is signed with key {code.key_id}, but form version "
            f"{form.form_version} was issued under key {form.key_id}: the code was forged"
        )
        return reading
    reading.outcome = "matched"
    judged = screen.page if screen is not None and screen.found else clean
    screened = screen is not None and screen.found
    masks = _ink_masks(
        judged, alignment, form, code.party, grey=not page.bilevel, screened=screened
    )
    clock.lap("masks")
    # A fold moved parts of the page past what the markers fix: the values are read, and
    # their zones' ink judged, where the fold put them (`ocr.unfold`); the page a person
    # looks at is as sent.
    as_sent, masks_as_sent = alignment, masks
    alignment, masks, smoother = _unfolded(
        judged, alignment, form, code.party, masks, grey=not page.bilevel, screened=screened
    )
    # A value that did not read as printed through the fold's finer displacement is read
    # again through the smoother one and as sent: the finer one, following a crease, bends a
    # letter under it (an i read as I, a t as ı, an l as /). A forged character is the same
    # ink every way it is aligned; where the shapes saw another character, only the shapes
    # seeing the printed one through another alignment count (see `_read_fields`).
    also = [(smoother, masks), (as_sent, masks_as_sent)] if alignment is not as_sent else []
    clock.lap("unfold")
    letters = [_without_streaks(clean, alignment, masks.streaks)]
    if screen is not None and screen.found:
        # A screened page sent at a standard fax's 98 lines an inch has its values read from
        # its letters made whole (`descreen.whole_letters`): each letter is a few rows of dots
        # and holes, and read as they came, every such page went to review. Black and white,
        # as the glyphs and tesseract expect a fax (the grey page, blurred, tesseract reads an
        # o as ø). At a fine fax's 196 lines the shapes compare surer as they came (twice the
        # values confirmed by shape over the bench's fine PC faxes, four cases): they are read
        # so first, and a value that did not read as printed, and whose shapes showed no other
        # character, again from the letters made whole (tesseract, reading a fine screen's
        # hollow letters, took an l of a domain for i or ł).
        whole = whole_letters(clean, page.dpi, page.coarse_dpi)
        letters = whole if page.coarse_dpi < FINE_MIN_DPI else [letters[0], *whole]
    _read_fields(
        reading,
        letters,
        alignment,
        form,
        masks,
        tessdata,
        bilevel=page.bilevel,
        lines_per_inch=page.coarse_dpi,
        also=also,
    )
    clock.lap("fields")
    company = form.party(code.party).kind == "company"
    moved, rules_moved = _find_ink(reading, masks, company=company, as_sent=masks_as_sent)
    clock.lap("ink")
    _keep_evidence(
        reading, clean, page.dpi, as_sent, masks.aligned, zoom=_in_doubt(reading, company=company)
    )
    clock.lap("evidence")
    taken_off = [reading.detail] if reading.detail else []
    taken_off.extend(mended)
    if masks.streaks is not None and masks.streaks.found:
        taken_off.append(masks.streaks.describe())
    if masks.dirt.found:
        taken_off.append(masks.dirt.describe())
    if moved.found:
        taken_off.append(moved.describe())
    if rules_moved.found:
        taken_off.append(rules_moved.describe(VALUES_NOTE_START))
    if screen is not None and screen.found and screen.screened_share:
        taken_off.append(
            f"a halftone screen over {screen.screened_share:.0%} of the page read as the grey "
            "it stands for"
        )
    elif screen is not None and screen.found:
        taken_off.append(
            f"a halftone screen in the marks ({screen.dotted_ink:.0%} of the ink in dots) read "
            "as the grey it stands for"
        )
    reading.detail = "; ".join(taken_off)
    return reading


def _ours(codes: list[route.FoundCode]) -> list[route.FoundCode]:
    return [c for c in codes if page_code.is_ours(c.text)]


def _code_in_box(looks: list[np.ndarray], alignment: align.Alignment) -> list[route.FoundCode]:
    """Our codes where the layout puts the code, on the first look at the page that has any."""
    for look in looks:
        codes = _ours(route.read_code_in_box(look, alignment))
        if codes:
            return codes
    return []


def _upright_first(
    alignments: list[align.Alignment], codes: list[route.FoundCode], page: np.ndarray
) -> list[align.Alignment]:
    """The ways the marker rectangle can lie, likeliest first: the one with our QR code
    top right; without a code, the one whose QR box looks most like a QR symbol."""
    for code in codes:
        for candidate in alignments:
            if align.nearest_marker(candidate, *code.centre) == 1:
                return [candidate] + [a for a in alignments if a is not candidate]

    def qr_likeness(candidate: align.Alignment) -> float:
        crop = candidate.warp(page, layout.QR_CODE, px_per_mm=4.0)
        return -abs(float(np.mean(crop < 128)) - 0.5)

    return sorted(alignments, key=qr_likeness, reverse=True)


def _verify(
    reading: PageReading, codes: list[route.FoundCode], key: page_code.Keys
) -> page_code.PageCode | None:
    """The first code on the page whose MAC holds; a code of ours that fails is a forgery."""
    failure = None
    for found in codes:
        try:
            code = page_code.decode(found.text, key)
        except InvalidCode as err:
            failure = err
            continue
        reading.routed_by = "qr"
        return code
    if failure is not None:
        reading.outcome = "invalid_code"
        reading.detail = failure.message
    return None


@dataclass(frozen=True)
class _PrintedNumber:
    """A reading of the printed case number: the case ids it may name, likeliest first, and
    the form version and page where read; `sure` when it names one case, version and page."""

    case_ids: list[str]
    version: int | None
    page: int | None
    sure: bool


def _printed_numbers(
    page: np.ndarray, alignment: align.Alignment, tessdata: Path | None
) -> Iterator[_PrintedNumber]:
    """The printed case number read each way there is, cheapest first: by tesseract, place
    by place where the layout puts it, then followed along the line where a fold moved it."""
    crop = alignment.warp(page, layout.CASE_NUMBER, OCR_PX_PER_MM)
    read = route.parse_case_number(tesseract.read_zone(crop, dpi=300, tessdata=tessdata).text)
    if read is None or read.page not in layout.PARTY_OF_PAGE or not read.form_version:
        # Tesseract lost a character of it (a fax): read it place by place, by its shapes.
        by_shape = read_case_number(page, alignment)
        read = route.parse_case_number(by_shape) if by_shape else None
    if read is not None and read.page in layout.PARTY_OF_PAGE and read.form_version:
        yield _PrintedNumber([read.case_id], read.form_version, read.page, sure=True)
    followed = follow_case_number(page, alignment)
    if followed is not None:
        yield _PrintedNumber(followed.case_ids(), followed.version, followed.page, followed.sure)


def _route_by_case_number(
    reading: PageReading,
    page: np.ndarray,
    alignments: list[align.Alignment],
    key: page_code.Keys,
    lookup: Lookup,
    tessdata: Path | None,
) -> tuple[page_code.PageCode, align.Alignment] | None:
    """The fallback route: the case number printed in readable text under the title.

    A case it names that exists is confirmed, where it can be, by the QR symbol registered
    onto the code printed for that case (`route.read_code_as_printed`): a symbol that decodes
    so is the page's code, read, and vouches for it as any code read does (`routed_by` "qr"),
    as does one that reads as another valid code of ours. A number read surely routes the page
    unconfirmed too, not vouched for by any code (`routed_by` "case_number"), unless the symbol
    is another case's code (a copied one: then the page is not routed); one read unsurely (a
    place that could be either of two characters) routes only confirmed.
    """
    forms: dict[str, FormData | None] = {}
    unknown = None  # a case that a surely read number names, which does not exist
    for alignment in alignments:
        for number in _printed_numbers(page, alignment, tessdata):
            for case_id in number.case_ids:
                if case_id not in forms:
                    forms[case_id] = lookup(case_id)
                form = forms[case_id]
                if form is None:
                    unknown = unknown or (case_id if number.sure else None)
                    continue
                code = _confirm_by_code(reading, page, alignment, form, number, key)
                if code is None and number.sure:
                    assert number.version is not None and number.page is not None
                    code = page_code.PageCode(
                        case_id=case_id,
                        form_version=number.version,
                        party=layout.PARTY_OF_PAGE[number.page],
                        key_id=form.key_id,
                    )
                    if _another_code_there(page, alignment, form, code, key):
                        reading.detail = (
                            f"the QR code on the page is not the one printed for case {case_id}: "
                            "it may have been put there from another page"
                        )
                        return None
                    reading.routed_by = "case_number"
                    reading.detail = (
                        "the QR code could not be read; routed by the printed case number"
                    )
                if code is not None:
                    return code, alignment
    if unknown is not None:
        reading.detail = f"the page names case {unknown}, which does not exist"
    return None


def _another_code_there(
    page: np.ndarray,
    alignment: align.Alignment,
    form: FormData,
    printed: page_code.PageCode,
    key: page_code.Keys,
) -> bool:
    """Whether the page, which its printed number routes to a case of the current version,
    carries another code of ours than the one printed for it: a QR code copied onto it from
    another case's page and folded past reading. (Of an older version, the key it was printed
    under is not known here, and such a page does not count anyway.)"""
    if printed.form_version != form.form_version:
        return False
    try:
        text = page_code.encode(printed, key)
    except KeyError:  # the key the case's form was issued under is retired
        return False
    return route.another_code_there(page, alignment, text)


def _confirm_by_code(
    reading: PageReading,
    page: np.ndarray,
    alignment: align.Alignment,
    form: FormData,
    number: _PrintedNumber,
    key: page_code.Keys,
) -> page_code.PageCode | None:
    """The page code printed for the case `number` names, if the QR symbol on the page,
    registered onto it, reads as it: for the version and page read first, then the case's
    current version and the other page. A symbol that reads as another valid code of ours
    routes the page by that code.

    A registered symbol that reads as a code of ours whose MAC fails is passed over, not
    judged a forgery: under a fold, a decoder that corrects errors can land on a wrong
    codeword, and a genuine page must not be called forged for it (the page is still routed
    only by its number, which no code vouches for).
    """
    versions = [v for v in dict.fromkeys((number.version, form.form_version)) if v]
    pages = sorted(layout.PARTY_OF_PAGE, key=lambda p: p != number.page)
    for version in versions:
        if version > form.form_version:
            continue
        for page_number in pages:
            printed = page_code.PageCode(
                case_id=form.case_id,
                form_version=version,
                party=layout.PARTY_OF_PAGE[page_number],
                key_id=form.key_id,
            )
            try:
                text = page_code.encode(printed, key)
            except KeyError:  # the key the case's form was issued under is retired
                return None
            found = _ours(route.read_code_as_printed(page, alignment, text))
            if any(f.text == text for f in found):
                # The symbol decodes, error correction and all, as the code printed for the
                # number: the page's own code, read (see `route.read_code_as_printed`).
                reading.routed_by = "qr"
                reading.detail = (
                    "the QR code, folded past reading as it lies, was read once registered "
                    "onto the code printed for the case number"
                )
                return printed
            for other in found:
                try:
                    code = page_code.decode(other.text, key)
                except InvalidCode:
                    continue
                reading.routed_by = "qr"
                return code
    return None


def _unaligned(
    reading: PageReading,
    page: np.ndarray,
    dpi: float,
    codes: list[route.FoundCode],
    key: page_code.Keys,
) -> PageReading:
    """A page without the form's corner markers: blank, foreign, or ours but unusable."""
    ours = [c for c in codes if page_code.is_ours(c.text)]
    code = _verify(reading, ours, key)
    if reading.outcome == "invalid_code":
        return reading
    if code is not None:
        reading.outcome = "matched"
        reading.case_id, reading.party, reading.form_version = (
            code.case_id,
            code.party,
            code.form_version,
        )
        reading.detail = (
            "the page code was read, but the corner markers were not found: the page "
            "cannot be checked; send it again, whole and unfolded"
        )
        return reading
    if _ink_mm2(page, dpi) < _BLANK_MAX_INK_MM2:
        reading.outcome = "blank"
        reading.detail = "no ink on the page"
    else:
        reading.detail = "not a page of a Cesja form (no page code, no corner markers)"
    return reading


def _ink_mm2(page: np.ndarray, dpi: float) -> float:
    """Ink on a page, ignoring specks smaller than a square millimetre."""
    scale = min(1.0, 75.0 / dpi)
    small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = (small < 128).astype(np.uint8)
    _, area = blobs.areas(mask)
    mm2_per_px = (25.4 / (dpi * scale)) ** 2
    areas = area[1:] * mm2_per_px
    return float(areas[areas >= 1.0].sum())


@dataclass(frozen=True)
class _Masks:
    """Ink of the aligned scan and of the page as printed, both at INK_DPI, and the aligned
    scan itself (grey, as it came), which the evidence is made from; on a grey page, the
    streaks and a copier's specks taken off before its ink was judged."""

    observed: np.ndarray
    expected: ink.ExpectedInk
    aligned: np.ndarray
    streaks: Streaks | None = None
    dirt: Dirt = NO_DIRT
    with_dirt: np.ndarray | None = None  # `observed` before the copier's specks were taken off
    pen_dark: np.ndarray | None = None  # where the page is as dark as a pen's stroke comes out
    # Ink at a lighter grey (`ink.faint_mask`), where a company's pale stamp is looked for:
    # made for a company's page only.
    faint: np.ndarray | None = None
    # The streaks' dots in `observed`, sharp or not (`Streaks.dots`): not a value's alteration.
    streak_dots: np.ndarray | None = None


# How far a fax's dots are smoothed to find a pale stamp's grey in them (at ink.INK_DPI). Of
# five stamps our faxes' genuine pages lost (20 cases), 0.20–0.27 mm found two, a fine fax's
# and a standard one's; 0.14 and 0.34 mm one.
_FAX_DOTS_PX = 0.24 * ink.PX_PER_MM


def _ink_masks(
    page: np.ndarray,
    alignment: align.Alignment,
    form: FormData,
    party: Party,
    *,
    grey: bool,
    screened: bool = False,
) -> _Masks:
    """The ink of `page` aligned, and the page as printed. `grey`: a grey page (a scan or a
    photograph); `screened`: a fax whose halftone screen was taken off, made grey."""
    expected = expected_ink(form, party)
    aligned = alignment.warp_page(page, ink.INK_DPI)
    h = min(expected.mask.shape[0], aligned.shape[0])
    w = min(expected.mask.shape[1], aligned.shape[1])
    expected, aligned = expected.cropped(h, w), aligned[:h, :w]
    company = form.party(party).kind == "company"
    if not grey:
        # A fax's streaks are its scanner's, along the scan: `ink.remove_streaks` took them.
        observed = ink.ink_mask(aligned)
        if not company:
            return _Masks(observed, expected, aligned)
        # A screened fax made grey (`screened`) has its pale stamps' letters in its greys.
        # Another fax is black and white, a pale stamp on it a scatter of dots where the
        # fax's halftoning met its grey: smoothed, they are grey again where its letters and
        # frame were.
        dots = aligned if screened else cv2.GaussianBlur(aligned, (0, 0), _FAX_DOTS_PX)
        return _Masks(observed, expected, aligned, faint=ink.faint_mask(dots, observed))
    # A printer's or copier's streaks lie along the page: they are looked for on it aligned.
    printed = _not_compared(expected.grown)
    streaks = find_streaks(aligned, printed, ink.PX_PER_MM)
    lifted = streaks.lifted(aligned)
    raw = ink.ink_mask(lifted)
    observed = streaks.without_streak_marks(raw, aligned, printed)
    # A pale stamp's ring, or a signature's strokes, may be as pale as the dirt: in the
    # signing area only the dirt's small marks are taken.
    signing = ink.SIGNING_AREA.pixels(ink.INK_DPI)
    cleaned, dirt = without_dirt(observed, aligned, printed, ink.PX_PER_MM, stamped=signing)
    pen_dark = (lifted < PEN_GREY).astype(np.uint8)
    return _Masks(
        cleaned,
        expected,
        aligned,
        streaks,
        dirt,
        observed if dirt.found else None,
        pen_dark,
        ink.faint_mask(lifted, cleaned, taken=raw & (1 - cleaned)) if company else None,
        streaks.dots(cleaned, aligned, printed) if streaks.found else None,
    )


def _unfolded(
    page: np.ndarray,
    alignment: align.Alignment,
    form: FormData,
    party: Party,
    masks: _Masks,
    *,
    grey: bool,
    screened: bool = False,
) -> tuple[align.Alignment, _Masks, align.Alignment]:
    """On a page a fold moved where its values are, the alignment its values are read
    through and the ink judged, each with the displacement the fold left there (see
    `ocr.unfold`), and the alignment of that ink (its smoother displacement); as they were
    on any other page, and where that does not bring the printing onto the scan's ink."""
    zones = [*ink.value_zones().values(), layout.CASE_NUMBER]
    observed, printed = masks.observed, masks.expected.mask
    before = unfold.in_place(observed, printed, ink.INK_DPI, zones)
    if before >= unfold.IN_PLACE_MIN:
        return alignment, masks, alignment
    flow = unfold.Flow.of(observed, printed, ink.PX_PER_MM)
    for_ink = flow.displacement(unfold.INK_SMOOTH_MM, zones)
    for_letters = flow.displacement(unfold.LETTERS_SMOOTH_MM, zones)
    if for_ink is None or for_letters is None:
        return alignment, masks, alignment
    again = _ink_masks(
        page,
        dataclasses.replace(alignment, displacement=for_ink),
        form,
        party,
        grey=grey,
        screened=screened,
    )
    after = unfold.in_place(again.observed, printed, ink.INK_DPI, zones)
    if after < before + unfold.GAIN_MIN:
        return alignment, masks, alignment
    return (
        dataclasses.replace(alignment, displacement=for_letters),
        again,
        dataclasses.replace(alignment, displacement=for_ink),
    )


def _not_compared(printed: np.ndarray) -> np.ndarray:
    """`printed` (the form's own ink, widened) with the parts of the page the reader never
    compares ink on: the page code and the instructions, printed for the case."""
    mask = printed.copy()
    for box in (layout.QR_CODE, layout.INSTRUCTIONS):
        x0, y0, x1, y1 = box.pixels(ink.INK_DPI)
        mask[max(0, y0) : y1, max(0, x0) : x1] = 1
    return mask


def _without_streaks(
    page: np.ndarray, alignment: align.Alignment, streaks: Streaks | None
) -> np.ndarray:
    """The scan with the grey of the bands found on it aligned divided out, for reading its
    values: the bands' gain, found over the layout, mapped back onto the scan."""
    if streaks is None or not streaks.found:
        return page
    gain = streaks.gain_image()
    if np.all(gain == 1.0):  # only dotted strips: their dots are left to the reading
        return page
    scale = np.diag([streaks.px_per_mm, streaks.px_per_mm, 1.0])
    scan_to_gain = scale @ np.linalg.inv(alignment.to_image)
    on_scan = cv2.warpPerspective(
        gain,
        scan_to_gain,
        (page.shape[1], page.shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.clip(page.astype(np.float32) * on_scan, 0, 255).astype(np.uint8)


def _read_fields(
    reading: PageReading,
    pages: list[np.ndarray],  # the page's letters, each way they can be drawn, surest first
    alignment: align.Alignment,
    form: FormData,
    masks: _Masks,
    tessdata: Path | None,
    *,
    bilevel: bool,
    lines_per_inch: float | None = None,
    also: list[tuple[align.Alignment, _Masks]] | None = None,
) -> None:
    """Each value read (`read_field`) through `alignment`, and where every way of drawing its
    letters read something else, through each of `also` (the same page aligned otherwise,
    with its ink) in turn; a value read as printed through none of them is looked at as
    `alignment` showed it. Where the shapes saw another character, only the shapes seeing
    the printed one through another alignment outweigh them."""
    assert reading.party is not None
    boxes = printed_value_boxes(form)
    values = printed_values(form)
    # The printed case number must agree with the code: a QR code pasted from another case
    # routes the page there, and this is where it shows.
    values["case_number"] = case_number_text(
        form.case_id, form.form_version, layout.PAGE_OF_PARTY[reading.party]
    )
    boxes["case_number"] = case_number_box(form, reading.party)
    # Where each character of a one-line value is, to check it shape by shape.
    printed = printed_lines(form)
    printed["case_number"] = printed_case_number(form, reading.party)
    printed_several = printed_value_lines(form)
    for name, expected in values.items():
        # The value as the first way of drawing the letters shows it; another way's only
        # where that one read something else and the shapes did not tell it apart: each is
        # the same ink, and any that reads as printed is an honest reading of it. Where the
        # shapes found another character, that stands for this alignment; through another
        # one (a fold's displacement bends the letters under a crease) only the shapes, seeing
        # the printed character clearly, outweigh it: OCR, which takes an I for an l, does not.
        value: FieldReading | None = None
        contradicted = False
        for index, (aligned, its_masks) in enumerate([(alignment, masks), *(also or [])]):
            # An empty value ("—") is not read; it is the alteration check's to see ink there.
            offset = (0.0, 0.0)
            if expected != EMPTY:
                offset = ink.local_offset(its_masks.observed, its_masks.expected, boxes[name])
            for page in pages:
                found = read_field(
                    page,
                    aligned,
                    name,
                    expected,
                    boxes[name],
                    offset=offset,
                    printed=printed.get(name),
                    printed_lines=printed_several.get(name, ()),
                    bilevel=bilevel,
                    lines_per_inch=lines_per_inch,
                    tessdata=tessdata,
                )
                if found.verdict != "mismatch" or found.method == "glyphs":
                    break
                value = value or found  # a person looks at the first way's reading
            if found.verdict != "mismatch" and (not contradicted or found.method == "glyphs"):
                value = found
                break
            if found.method == "glyphs" and found.verdict == "mismatch":
                contradicted = True
                if index == 0:
                    value = found  # the shapes' other character, through the first alignment
        assert value is not None
        reading.fields[name] = value


# Pages of one case come together, mostly in one file; an expected page is 6.5 MB.
_expected_cache: OrderedDict[tuple[str, int, str], ink.ExpectedInk] = OrderedDict()
_expected_lock = threading.Lock()
_EXPECTED_CACHE_SIZE = 4


def expected_ink(form: FormData, party: Party) -> ink.ExpectedInk:
    """The ink of the page as printed, at INK_DPI, where the reader compares it: the blank
    page of the form (the same for every case of these kinds of parties, made once) with this
    case's values on it."""
    cache_key = (form.case_id, form.form_version, party)
    with _expected_lock:
        if cache_key in _expected_cache:
            _expected_cache.move_to_end(cache_key)
            return _expected_cache[cache_key]
    blank = _blank_ink(party, form.current_registrant.kind, form.new_registrant.kind)
    expected = blank.with_values(raster.render_gray(render_values(form, party), 1, ink.INK_DPI))
    with _expected_lock:
        _expected_cache[cache_key] = expected
        while len(_expected_cache) > _EXPECTED_CACHE_SIZE:
            _expected_cache.popitem(last=False)
    return expected


@cache
def _blank_ink(party: Party, current_kind: str, new_kind: str) -> ink.ExpectedInk:
    return ink.ExpectedInk.of(
        raster.render_gray(render_blank_page(party, current_kind, new_kind), 1, ink.INK_DPI)
    )


def _find_ink(
    reading: PageReading, masks: _Masks, *, company: bool, as_sent: _Masks | None = None
) -> tuple[MovedLines, MovedLines]:
    """The signature, the stamp and the alterations; and the form's lines a fold moved in the
    signing area and among the values, which were left aside (for the reading's note).
    `as_sent`: on a page a fold moved, the ink as the markers alone align it (`masks` then
    follow the fold)."""
    # A fax's lines lost and doubled move a box's edge by a pixel or two, which the lines a
    # fold moved would be looked for in: they are looked for on grey pages (over the bench's
    # faxes, a stamp cut there was lost once).
    signing = ink.signing_ink(
        masks.observed,
        masks.expected,
        company=company,
        folded=masks.streaks is not None,
        with_dirt=masks.with_dirt,
        pen_dark=masks.pen_dark,
        faint=masks.faint,
        grey=masks.aligned if masks.streaks is not None else None,
    )
    reading.signature = signing.signature
    reading.stamp = signing.stamp
    folded = as_sent is not None and as_sent is not masks
    rules = MovedLines.nothing(masks.observed.shape, ink.PX_PER_MM)
    if folded:
        # On the page read where the fold moved it, a crease bends a rule of the form under
        # the values further than the smooth displacement follows (a tent of the domains'
        # rule 2 mm into their zone): taken off as in the signing area (`ocr.folds`).
        rules = moved_lines(
            masks.observed, masks.expected.mask, masks.expected.grown, _VALUES_AREA, ink.PX_PER_MM
        )
    if rules.found:
        without_rules = dataclasses.replace(masks, observed=masks.observed & (1 - rules.mask))
        reading.alterations = _alterations(without_rules, rules)
    else:
        reading.alterations = _alterations(masks)
    if as_sent is not None and folded:
        # Each zone's ink is judged where its printing best lies (as `ink.extra_ink` looks
        # for it within 1.5 mm): as the fold moved it, or as the markers put it. A rule of the
        # form beside a zone, bent into it by a crease the flow did not follow, lies as sent
        # (a genuine worn copy's domains, 45 mm of it). Ink the form did not print is there
        # either way.
        unmoved = _alterations(as_sent)
        reading.alterations = {
            name: unmoved[name] if found.present and not unmoved[name].present else found
            for name, found in reading.alterations.items()
        }
    reading.evidence["party_ink.png"] = _png(255 - signing.extra * 255)
    return signing.moved, rules


# The values' part of the page: every value's zone (`ink.value_zones`, 49–191 × 48.5–166 mm)
# and the rules 2–4 mm around them.
_VALUES_AREA = Box(45.0, 46.0, 150.0, 122.0)


def _alterations(masks: _Masks, rules: MovedLines | None = None) -> dict[str, ink.InkFinding]:
    """Each zone's alterations (`ink.alterations`); `rules`: the form's lines a fold moved,
    taken off `masks` already: a zone under them past `LOST_SHARE` cannot be told unaltered."""
    blind = masks.streaks.blind() if masks.streaks is not None else None
    observed = masks.observed
    if masks.streak_dots is not None:
        observed = observed & (1 - masks.streak_dots)
    found = ink.alterations(observed, masks.expected, ink.field_zones(), blind)
    if rules is None:
        return found
    # A fold moves the form's lines where they are printed, in the value's box; the zone
    # reaching on beyond it has none to lose.
    for name, zone in ink.value_zones().items():
        lost = rules.share_of(zone)
        if lost > LOST_SHARE:
            was = found[name]
            found[name] = ink.InkFinding(
                True,
                was.ink_mm2,
                was.width_mm,
                was.height_mm,
                f"a fold moved the form's lines over {lost:.0%} of it: what is written there "
                "cannot be told",
            )
    return found


def _in_doubt(reading: PageReading, *, company: bool) -> bool:
    """Whether the page itself fails a check a person then decides: a value not read as
    printed, a change by hand, no signature, or no stamp on a company's page."""
    stamped = reading.stamp_present or not company
    return not (
        reading.fields_match and reading.unaltered and reading.signature_present and stamped
    )


def _keep_evidence(
    reading: PageReading,
    page: np.ndarray,
    dpi: float,
    alignment: align.Alignment,
    aligned: np.ndarray,
    *,
    zoom: bool,
) -> None:
    """The aligned page (small, and with `zoom` at the scan's own resolution too), the signing
    area, and a close-up of each value that did not read as printed or has ink on it, with a
    margin: what the person who reviews the page needs to look at. (Close-ups of values that
    matched would cost every page the time and the space.) `aligned` is the page already
    aligned at INK_DPI.

    The page at the scan's own resolution is for a person deciding what the machine doubted
    on it: a 300 dpi page resampled and written as JPEG is 30 of a page's 240 ms of CPU
    (bench/ingest.py), and most pages pass every check. A page that passes keeps the rest,
    and its file is kept whole."""
    _keep_page_image(reading, aligned)
    if zoom:
        whole = alignment.warp_page(page, min(dpi, ZOOM_MAX_DPI), near_px=ZOOM_NEAR_PX)
        reading.evidence["page_zoom.jpg"] = _jpeg(whole, ZOOM_JPEG_QUALITY)
    zones = dict(ink.field_zones())
    zones["case_number"] = layout.CASE_NUMBER
    doubtful = {n for n, f in reading.fields.items() if f.verdict == "mismatch"}
    doubtful |= set(reading.altered_fields)
    for name in sorted(doubtful):
        close_up = alignment.warp(page, _with_margin(zones[name]), 8.0)
        reading.evidence[f"zone/{name}.jpg"] = _jpeg(close_up)
    signing = alignment.warp(page, ink.SIGNING_AREA, 8.0)
    reading.evidence["zone/signing_area.jpg"] = _jpeg(signing)


def _with_margin(box: Box) -> Box:
    across, down = CLOSE_UP_MARGIN_MM
    x, y = max(0.0, box.x - across), max(0.0, box.y - down)
    right = min(layout.PAGE_WIDTH_MM, box.x + box.w + across)
    bottom = min(layout.PAGE_HEIGHT_MM, box.y + box.h + down)
    return Box(x, y, right - x, bottom - y)


def _keep_page_image(reading: PageReading, aligned: np.ndarray) -> None:
    """The whole page at EVIDENCE_DPI, resampled from the page aligned at INK_DPI.

    Sampling a 300 dpi scan directly keeps one pixel in nine and breaks thin strokes up; from
    150 dpi, bilinear comes within about a decibel of averaging the whole scan down (INTER_AREA
    here: no better to look at, and five times the time).
    """
    size = (
        round(layout.PAGE_WIDTH_MM * EVIDENCE_DPI / 25.4),
        round(layout.PAGE_HEIGHT_MM * EVIDENCE_DPI / 25.4),
    )
    reading.evidence["page.jpg"] = _jpeg(cv2.resize(aligned, size, interpolation=cv2.INTER_LINEAR))


# What a person looks at is a photograph of paper, grey and noisy (a resampled fax too):
# JPEG keeps it as a person sees it at a third of PNG's size and a quarter of its time; the
# original file is kept whole. The party's ink, a mask, is black and white: PNG, run-length.
_PNG_MASK = [
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_NONE,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
]


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    options = [cv2.IMWRITE_JPEG_QUALITY, quality]
    ok, data = cv2.imencode(".jpg", np.asarray(image, dtype=np.uint8), options)
    return data.tobytes() if ok else b""


def _png(mask: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", np.asarray(mask, dtype=np.uint8), _PNG_MASK)
    return data.tobytes() if ok else b""
