"""A page of an electronically signed PDF as a `PageReading`: recognised before any OCR, routed
by the case and version its first revision names, read from its bytes and signatures."""

from __future__ import annotations

import time
from pathlib import Path

from documents import page_code
from documents.layout import PARTY_OF_PAGE
from ocr.esign import TrustOptions, belongs_to, looks_signed
from ocr.reading import Lookup, PageReading


def read_signed_page(
    path: Path, index: int, *, key: page_code.Keys, lookup: Lookup, trust: TrustOptions, scan: str
) -> PageReading | None:
    """Page `index` (from 0) of a signed PDF of one of our forms; None when the file carries
    no signature or names no case of ours: then it is a scan like any other."""
    started = time.perf_counter()
    if not looks_signed(path):
        return None
    from ocr.pades import read_claim, read_signed_form  # pyHanko: a second to import

    data = path.read_bytes()
    claimed = read_claim(data)
    if claimed is None:
        return None
    reader, claim = claimed
    form = lookup(claim.case_id)
    if form is None:
        return None
    party = PARTY_OF_PAGE.get(index + 1)
    reading = PageReading(
        index=index, outcome="unmatched", case_id=claim.case_id, routed_by="signed_pdf"
    )
    reading.form_version = claim.form_version
    if party is None:
        reading.detail = (
            f"page {index + 1} of an electronically signed file of case {claim.case_id}, "
            "whose form has two pages"
        )
        return reading
    reading.party = party
    if claim.form_version < form.form_version:
        reading.outcome = "stale_version"
        reading.detail = (
            f"an electronically signed file of form version {claim.form_version}; the case "
            f"is at version {form.form_version}, so it no longer counts"
        )
        return reading
    if claim.form_version > form.form_version:
        reading.outcome = "invalid_code"
        reading.detail = f"the signed file claims form version {claim.form_version}, never issued"
        return reading
    signed = read_signed_form(reader, data, form, party, key=key, trust=trust, scan=scan)
    reading.signed = signed
    reading.timings_ms["signatures"] = (time.perf_counter() - started) * 1000
    if not belongs_to(signed, form, party):
        # The other party's signed copy: this page was neither signed nor meant to be by
        # its party, and counts for nothing (its party sends its own).
        reading.outcome = "blank"
        reading.detail = (
            f"page {index + 1} of an electronically signed file that the "
            f"{party.replace('_', ' ')} did not sign"
        )
        return reading
    reading.outcome = "matched"
    return reading
