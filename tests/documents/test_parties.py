"""Generated cases: every one is a case the service itself accepts, and they cover every kind."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from documents.form_data import FormData, PartyData, printed_values
from documents.simulate.parties import random_form
from tests.conftest import REGISTRAR

CASES = 60


def registrant_body(party: PartyData) -> dict[str, Any]:
    """The party as the registrar's system would send it: only the fields it has."""
    body: dict[str, Any] = {
        "kind": party.kind,
        "name": party.name,
        "address": dataclasses.asdict(party.address),
        "email": party.email,
    }
    for name in ("phone", "pesel", "nip", "regon", "krs"):
        if getattr(party, name) is not None:
            body[name] = getattr(party, name)
    if party.representatives:
        body["representatives"] = list(party.representatives)
    return body


def case_body(form: FormData) -> dict[str, Any]:
    return {
        "domains": list(form.domains),
        "current_registrant": registrant_body(form.current_registrant),
        "new_registrant": registrant_body(form.new_registrant),
    }


def test_generated_cases_pass_the_api_unchanged(client: TestClient) -> None:
    """GIVEN 60 generated cases (120 parties)
    WHEN each is posted to the API as a registrar would
    THEN every one is created (check digits, postal codes, e-mail, IDNA-2008 domains and the
    form's room for every value all hold), and the service stores each value exactly as
    generated: the generator already writes what the service's own normalisation would."""
    for seed in range(CASES):
        body = case_body(random_form(np.random.default_rng(seed)))
        answer = client.post("/api/v1/cases", json=body, headers=REGISTRAR)
        assert answer.status_code == 201, f"seed {seed}: {answer.text}"
        stored = answer.json()
        assert stored["domains"] == body["domains"], f"seed {seed}"
        for party in ("current_registrant", "new_registrant"):
            assert stored[party] == body[party], f"seed {seed}, {party}"


def test_generated_cases_cover_every_kind_of_party_and_long_values() -> None:
    """GIVEN 300 generated cases THEN among their parties are people and companies, companies
    with and without REGON and KRS and with one to four representatives, parties abroad;
    internationalised domains, cases of one and of five domains; and values long enough for
    the form to wrap them (a name over 100 characters, four representatives)."""
    forms = [random_form(np.random.default_rng(seed)) for seed in range(300)]
    parties = [form.party(p) for form in forms for p in ("current_registrant", "new_registrant")]
    companies = [p for p in parties if p.kind == "company"]
    assert 0.3 < len(companies) / len(parties) < 0.7
    assert any(p.regon for p in companies) and any(not p.regon for p in companies)
    assert any(p.krs for p in companies) and any(not p.krs for p in companies)
    assert {len(p.representatives) for p in companies} == {1, 2, 3, 4}
    assert any(p.address.country != "PL" for p in parties)
    assert any(len(p.regon or "") == 14 for p in companies)
    domains = [d for form in forms for d in form.domains]
    assert any(not d.isascii() for d in domains) and any(d.isascii() for d in domains)
    assert {len(form.domains) for form in forms} == {1, 2, 3, 4, 5}
    assert max(len(p.name) for p in companies) > 100
    names = {printed_values(form)["current_registrant.name"] for form in forms}
    assert len(names) > 250  # real variety, not a handful of names over and over


def test_the_same_seed_gives_the_same_case() -> None:
    """GIVEN one seed THEN the case drawn is the same every time, and another seed's differs."""
    assert random_form(np.random.default_rng(5)) == random_form(np.random.default_rng(5))
    assert random_form(np.random.default_rng(5)) != random_form(np.random.default_rng(6))
