"""From a case row to what its form prints, and the PDF itself."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from cesja.casework import customer_links
from cesja.config import Settings
from cesja.db.models import CaseRow
from cesja.errors import Conflict
from documents import Address, FormData, PartyData, SendTo, render_form


def party_data(raw: dict[str, Any]) -> PartyData:
    addr = raw["address"]
    return PartyData(
        kind=raw["kind"],
        name=raw["name"],
        address=Address(addr["street"], addr["postal_code"], addr["city"], addr["country"]),
        email=raw["email"],
        phone=raw.get("phone"),
        pesel=raw.get("pesel"),
        nip=raw.get("nip"),
        regon=raw.get("regon"),
        krs=raw.get("krs"),
        representatives=tuple(raw.get("representatives") or ()),
    )


def printable(data: dict[str, Any]) -> FormData:
    """Case data as the form would print it, to check that it fits before a case exists."""
    return FormData(
        case_id="CS-0000-0000",
        form_version=1,
        domains=tuple(data["domains"]),
        current_registrant=party_data(data["current_registrant"]),
        new_registrant=party_data(data["new_registrant"]),
        deadline=date(2000, 1, 1),
        send_to=SendTo(postal_address="", fax_number="", customer_url=""),
    )


def customer_url(settings: Settings, case: CaseRow) -> str:
    return f"{settings.public_url.rstrip('/')}/c/{case.customer_token}"


def issued_form(session: Session, case: CaseRow, settings: Settings) -> FormData:
    """The case's current form as the service issues it: each party's page with its link."""
    return form_data(case, settings, customer_links.party_urls(session, settings, [case])[case.id])


def issued_pdf(session: Session, case: CaseRow, settings: Settings) -> bytes:
    """The PDF of `issued_form`: the same bytes whoever asks (an e-signed copy is compared
    with them byte for byte)."""
    return form_pdf(case, settings, customer_links.party_urls(session, settings, [case])[case.id])


def form_data(case: CaseRow, settings: Settings, party_urls: Mapping[str, str]) -> FormData:
    """The current form version of a case, as the documents layer prints and reads it, each
    party's page printing its own link (`party_urls`, by party)."""
    return FormData(
        case_id=case.id,
        form_version=case.form_version,
        domains=tuple(case.domains),
        current_registrant=party_data(case.current_registrant),
        new_registrant=party_data(case.new_registrant),
        # The deadline is a midnight; the last day to send is the day before it.
        deadline=(case.deadline - timedelta(microseconds=1)).date(),
        send_to=SendTo(
            postal_address=settings.return_postal_address,
            fax_number=settings.return_fax,
            customer_url=customer_url(settings, case),
            party_urls=tuple(sorted(party_urls.items())),
        ),
        key_id=case.page_key_id,
    )


# Forms drawn lately, kept per process: a form is fetched again and again (the registrar's
# system, then the customer, then again when the post is slow), the same bytes each time
# (reportlab's invariant mode), and drawing one costs 10-20 ms of CPU; about 70 KB each.
FORMS_KEPT = 128
_drawn: OrderedDict[tuple[str, int, bytes], tuple[FormData, bytes]] = OrderedDict()
_drawn_lock = threading.Lock()


class KeyRetired(Conflict):
    """A form version whose page-code key was retired: it can no longer be printed."""

    code = "form_key_retired"


def form_pdf(case: CaseRow, settings: Settings, party_urls: Mapping[str, str]) -> bytes:
    """The PDF of the case's current form version, each party's link on its page, its codes
    signed with the key the version was issued under."""
    form = form_data(case, settings, party_urls)
    secret = settings.keys.keys.get(case.page_key_id)
    if secret is None:
        raise KeyRetired(
            f"form version {case.form_version} of case {case.id} was issued under key "
            f"{case.page_key_id}, which has been retired; reissue the form to print it under "
            "the current key"
        )
    key = (case.id, case.form_version, secret)
    with _drawn_lock:
        kept = _drawn.get(key)
        if kept is not None and kept[0] == form:
            _drawn.move_to_end(key)
            return kept[1]
    pdf = render_form(form, {case.page_key_id: secret})
    with _drawn_lock:
        _drawn[key] = (form, pdf)
        _drawn.move_to_end(key)
        while len(_drawn) > FORMS_KEPT:
            _drawn.popitem(last=False)
    return pdf
