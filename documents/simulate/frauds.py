"""Forgeries the reader must catch: an edited PDF, a QR code copied from another case or altered."""

from __future__ import annotations

import re
import string
from dataclasses import replace

import numpy as np

from documents import layout
from documents.form_data import EMPTY, Address, FormData, PartyData
from documents.simulate.paper import Paper, print_qr

_BASE32 = string.ascii_uppercase + "234567"
_CLASSES = (string.digits, string.ascii_uppercase, _BASE32)
# CESJA1:<case id>:<version>:<party>:<page>:<mac>; the parts one may change, with their classes.
_CODE = re.compile(
    r"CESJA1:CS-([0-9A-Z]{4})-([0-9A-Z]{4}):([0-9]{1,4}):(?:CR|NR):[12]:([A-Z2-7]{16})"
)


def edited_value_form(form: FormData, field: str, new_value: str) -> FormData:
    """`form` with the value of `field` changed and nothing else: the same case and version, so
    the page code stays valid, as when someone edits the downloaded PDF before printing it.

    `field` is a key of `layout.FIELD_BOXES` (`domains`, `new_registrant.id_number`…), and
    `new_value` is written as the form would print it (`domains` as `a.pl, b.pl`; `postal_city`
    as `00-950 Warszawa, PL`; `representatives` comma-separated).
    """
    if field not in layout.FIELD_BOXES:
        raise ValueError(f"no field {field!r} on the form")
    if field == "domains":
        return replace(form, domains=tuple(_split(new_value)))
    party_name, name = field.split(".", 1)
    party = form.current_registrant if party_name == "current_registrant" else form.new_registrant
    edited = _edited_party(party, name, new_value)
    if party_name == "current_registrant":
        return replace(form, current_registrant=edited)
    return replace(form, new_registrant=edited)


def _edited_party(party: PartyData, name: str, value: str) -> PartyData:
    if name == "id_number":
        return replace(party, pesel=value) if party.kind == "person" else replace(party, nip=value)
    if name == "representatives":
        return replace(party, representatives=tuple(_split(value)))
    if name == "street":
        return replace(party, address=replace(party.address, street=value))
    if name == "postal_city":
        return replace(party, address=_postal_city(party.address, value))
    if name == "name":
        return replace(party, name=value)
    if name == "email":
        return replace(party, email=value)
    optional = None if value == EMPTY else value
    if name == "phone":
        return replace(party, phone=optional)
    if name == "regon":
        return replace(party, regon=optional)
    if name == "krs":
        return replace(party, krs=optional)
    raise ValueError(f"no party field {name!r} on the form")


def _postal_city(address: Address, value: str) -> Address:
    """`00-950 Warszawa, PL` back into the address's postal code, city and country."""
    place, _, country = value.rpartition(", ")
    if not place:
        place, country = value, address.country
    postal_code, _, city = place.partition(" ")
    return replace(address, postal_code=postal_code, city=city, country=country)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def paste_qr(paper: Paper, text: str) -> None:
    """Cover the page's QR code with the symbol for `text`, exactly where the renderer puts it:
    the box and its quiet zone whited out, then the new modules."""
    print_qr(paper, text, layout.QR_CODE, layout.QR_QUIET_ZONE_MODULES)


def with_one_character_changed(code_text: str, rng: np.random.Generator) -> str:
    """`code_text` (a page code) with one character of its case id, version or MAC changed to
    another of the same kind (digit for digit, letter for letter, base32 for base32), so that
    it still looks well-formed and only its MAC gives it away."""
    match = _CODE.fullmatch(code_text)
    if match is None:
        raise ValueError(f"not a page code: {code_text!r}")
    group = int(rng.integers(1, 5))
    start, end = match.span(group)
    position = int(rng.integers(start, end))
    old = code_text[position]
    alphabet = _BASE32 if group == 4 else next(c for c in _CLASSES if old in c)
    choices = [c for c in alphabet if c != old]
    if group == 3 and position == start:
        choices = [c for c in choices if c != "0"]  # a version never starts with 0
    new = choices[int(rng.integers(len(choices)))]
    return code_text[:position] + new + code_text[position + 1 :]
