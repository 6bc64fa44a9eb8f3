"""What a form prints: the case data as documents sees it, and each field box's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from documents.layout import PARTIES, PARTY_FIELD_NAMES, Party


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str


@dataclass(frozen=True)
class PartyData:
    """One registrant, exactly as submitted (Unicode, Polish letters included)."""

    kind: str  # "person" | "company"
    name: str
    address: Address
    email: str
    phone: str | None = None
    pesel: str | None = None
    nip: str | None = None
    regon: str | None = None
    krs: str | None = None
    representatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendTo:
    """Where the signed form goes back to: printed in the instructions."""

    postal_address: str
    fax_number: str
    customer_url: str
    # Each party's own link, (party, url), printed on that party's page instead of the case's.
    party_urls: tuple[tuple[str, str], ...] = ()

    def url_for(self, party: str) -> str:
        """The link printed on this party's page."""
        return dict(self.party_urls).get(party, self.customer_url)


@dataclass(frozen=True)
class FormData:
    """Everything one version of a case's form prints."""

    case_id: str
    form_version: int
    domains: tuple[str, ...]
    current_registrant: PartyData
    new_registrant: PartyData
    deadline: date
    send_to: SendTo
    extra: dict[str, str] = field(default_factory=dict)
    # The id of the key this version's page codes are signed with (`page_code.KEY_IDS`).
    key_id: str = "1"

    def party(self, party: Party) -> PartyData:
        return self.current_registrant if party == "current_registrant" else self.new_registrant


EMPTY = "—"


def id_number_text(party: PartyData) -> str:
    """The party's main identifier as printed: PESEL for a person, NIP for a company."""
    if party.kind == "person":
        return party.pesel or EMPTY
    return party.nip or EMPTY


def party_field_text(party: PartyData, field_name: str) -> str:
    """The exact text printed in one of a party's field boxes."""
    addr = party.address
    values = {
        "name": party.name,
        "id_number": id_number_text(party),
        "regon": party.regon or EMPTY,
        "krs": party.krs or EMPTY,
        "representatives": ", ".join(party.representatives) or EMPTY,
        "street": addr.street,
        "postal_city": f"{addr.postal_code} {addr.city}, {addr.country}",
        "email": party.email,
        "phone": party.phone or EMPTY,
    }
    return values[field_name]


def printed_values(form: FormData) -> dict[str, str]:
    """The text of every field box, keyed like `layout.FIELD_BOXES`.

    The renderer prints exactly this and the reader compares what it reads with exactly
    this, so the two can never disagree about what a box should say.
    """
    values = {"domains": ", ".join(form.domains)}
    for party in PARTIES:
        data = form.party(party)
        for field_name in PARTY_FIELD_NAMES:
            values[f"{party}.{field_name}"] = party_field_text(data, field_name)
    return values
