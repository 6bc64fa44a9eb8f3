"""The API's bodies: what comes in (checked field by field) and what goes out."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cesja.casework import identifiers
from cesja.text import PrintableLine, one_line

MAX_DOMAINS = 5
MAX_REPRESENTATIVES = 4


def _printed_line(value: str) -> str:
    """One line of text as it will be printed: printable (`cesja.text`), NFC, single spaces."""
    value = " ".join(unicodedata.normalize("NFC", one_line(value)).split())
    if not value:
        raise ValueError("must not be blank")
    return value


Line = Annotated[str, AfterValidator(_printed_line)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_min_length=1)


class AddressIn(_In):
    street: Line = Field(max_length=80)
    postal_code: Line = Field(max_length=16)
    city: Line = Field(max_length=60)
    country: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")


class RegistrantIn(_In):
    kind: Literal["person", "company"]
    name: Line = Field(max_length=160)
    pesel: PrintableLine | None = None
    nip: PrintableLine | None = None
    regon: PrintableLine | None = None
    krs: PrintableLine | None = None
    representatives: list[Line] = Field(default_factory=list, max_length=MAX_REPRESENTATIVES)
    address: AddressIn
    email: PrintableLine = Field(max_length=254)
    phone: PrintableLine | None = Field(default=None, max_length=32)


class CaseCreate(_In):
    domains: list[PrintableLine] = Field(min_length=1, max_length=MAX_DOMAINS)
    current_registrant: RegistrantIn
    new_registrant: RegistrantIn
    # The registrar's own reference, kept and sent back as it came (never printed).
    external_ref: PrintableLine | None = Field(default=None, max_length=200)
    # The language the parties are written to in (the e-mail notices); the form is Polish.
    language: Literal["pl", "en"] = "pl"


class CaseReissue(_In):
    domains: list[PrintableLine] | None = Field(default=None, min_length=1, max_length=MAX_DOMAINS)
    current_registrant: RegistrantIn | None = None
    new_registrant: RegistrantIn | None = None


class FieldProblem(BaseModel):
    field: str
    message: str


def _check(problems: list[FieldProblem], path: str, check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as err:
        problems.append(FieldProblem(field=path, message=str(err)))
        return value


def normalised_registrant(
    party: RegistrantIn, path: str, problems: list[FieldProblem]
) -> dict[str, object]:
    """One registrant checked beyond types and lengths, in canonical form (identifiers
    compact, e-mail normalised); what is wrong is added to `problems` by field path."""
    in_pl = party.address.country == "PL"
    if party.kind == "person" and in_pl and not party.pesel:
        problems.append(FieldProblem(field=f"{path}.pesel", message="required for a person in PL"))
    if party.kind == "company" and in_pl:
        if not party.nip:
            problems.append(
                FieldProblem(field=f"{path}.nip", message="required for a company in PL")
            )
        if not party.representatives:
            problems.append(
                FieldProblem(
                    field=f"{path}.representatives",
                    message="at least one person who signs for the company is required",
                )
            )
    if party.kind == "person" and (party.nip or party.regon or party.krs or party.representatives):
        problems.append(
            FieldProblem(
                field=f"{path}.kind",
                message="a person has no NIP, REGON, KRS or representatives; use kind company",
            )
        )
    if party.kind == "company" and party.pesel:
        problems.append(
            FieldProblem(field=f"{path}.pesel", message="a company has no PESEL; give its NIP")
        )
    data = party.model_dump(mode="json", exclude_unset=True)
    for name, check in (
        ("pesel", identifiers.check_pesel),
        ("nip", identifiers.check_nip),
        ("regon", identifiers.check_regon),
        ("krs", identifiers.check_krs),
    ):
        value = getattr(party, name)
        if value is not None:
            data[name] = _check(problems, f"{path}.{name}", check, value)
    if in_pl:
        data["address"]["postal_code"] = _check(
            problems,
            f"{path}.address.postal_code",
            identifiers.check_pl_postal_code,
            party.address.postal_code,
        )
    data["email"] = _check(problems, f"{path}.email", identifiers.check_email, party.email)
    if party.phone is not None:
        data["phone"] = _check(problems, f"{path}.phone", identifiers.check_phone, party.phone)
    for i, rep in enumerate(party.representatives):
        if len(rep) > 80:
            problems.append(
                FieldProblem(
                    field=f"{path}.representatives.{i}", message="longer than 80 characters"
                )
            )
    return data


def normalised_domains(domains: list[str], problems: list[FieldProblem]) -> list[str]:
    """Domains in their Unicode form, checked, duplicates refused."""
    seen: dict[str, int] = {}
    result = []
    for i, raw in enumerate(domains):
        name = _check(problems, f"domains.{i}", identifiers.check_domain, raw)
        if name in seen:
            problems.append(
                FieldProblem(
                    field=f"domains.{i}", message=f"the same domain as domains.{seen[name]}"
                )
            )
        seen.setdefault(name, i)
        result.append(name)
    return result


class CheckPublic(BaseModel):
    name: str
    status: Literal["pending", "passed", "failed", "accepted"]
    detail: str
    provisional: bool = False
    # With four eyes: who proposed accepting this failed check; a second person must confirm.
    proposed_by: str | None = None


class CasePublic(BaseModel):
    id: str
    state: str
    transfer_allowed: bool
    domains: list[str]
    external_ref: str | None
    language: str
    current_registrant: dict[str, object]
    new_registrant: dict[str, object]
    form_version: int
    deadline: datetime
    customer_url: str
    # Each party's own link: its page says what that party must do, and takes its uploads.
    customer_urls: dict[str, str]
    checks: list[CheckPublic]
    created_at: datetime
    updated_at: datetime


class CaseList(BaseModel):
    items: list[CasePublic]
    count: int


class Problem(BaseModel):
    """The body of every error answer: a stable code and a message saying what to do; invalid
    input also names each bad field, and a refused transition the state and what it needs."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    errors: list[FieldProblem] | None = None
    detail: list[str] | None = None
