"""Finding a case by what a caller has at hand: `GET /api/v1/cases?q=` and the back office's
search box match its number, a domain, the registrar's reference, a party's name typed with
or without Polish letters, NIP, PESEL, REGON, KRS and e-mail, on both databases."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import idna
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient

from cesja.app import create_app
from cesja.config import Settings
from cesja.db.engine import MIGRATIONS
from tests.conftest import CASE_BODY, REGISTRAR


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[TestClient]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with TestClient(create_app(Settings(database_url=url) if url else None)) as client:
        yield client


def other_parties() -> dict[str, Any]:
    """A second case: another company and another person, another domain and reference."""
    body = copy.deepcopy(CASE_BODY)
    body["domains"] = ["kwiaty-ogrodowe.pl"]
    body["external_ref"] = "ORD/2026/77"
    body["current_registrant"].update(
        name="Ogrody Wschodnie S.A.",
        nip="1234563218",
        regon=None,
        krs=None,
        representatives=["Anna Nowak"],
    )
    body["current_registrant"]["email"] = "kontakt@ogrody.example"
    body["new_registrant"].update(name="Jan Kowalski", pesel="44051401458")
    body["new_registrant"]["email"] = "jan.k@example.org"
    return body


def found(client: TestClient, query: str) -> list[str]:
    answer = client.get("/api/v1/cases", params={"q": query}, headers=REGISTRAR)
    assert answer.status_code == 200, answer.text
    return [case["id"] for case in answer.json()["items"]]


def test_a_case_is_found_by_what_a_caller_has_at_hand(service: TestClient) -> None:
    """GIVEN the contract's example case and another with other parties
    WHEN the registrar searches by each thing a phoning customer might read out
    THEN exactly the case it belongs to is found; words narrow the search down, and a search
    for something neither holds finds nothing."""
    example = service.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR).json()["id"]
    other = service.post("/api/v1/cases", json=other_parties(), headers=REGISTRAR).json()["id"]

    for query, expected in [
        (example, example),  # the case number as printed
        (other.lower(), other),
        ("żółw.pl", example),  # a domain in Unicode, without diacritics, as xn--
        ("zolw", example),
        (idna.encode("żółw.pl", uts46=True).decode(), example),
        ("KWIATY-ogrodowe", other),
        ("reg-42", example),  # the registrar's reference
        ("ORD/2026/77", other),
        ("Zażółć Gęślą Jaźń", example),  # a name with its letters, and typed without them
        ("zazolc gesla jazn", example),
        ("malgorzata zolkiewska", example),
        ("brzeczyszczykiewicz", example),  # a company's representative
        ("KOWALSKI", other),
        ("526-025-09-95", example),  # NIP as printed on invoices, and compact
        ("5260250995", example),
        ("123 456 32 18", other),
        ("92110804566", example),  # PESEL
        ("44051401458", other),
        ("012345675", example),  # REGON
        ("0000123456", example),  # KRS
        ("m.zolkiewska@example.com", example),  # e-mail
        ("kontakt@OGRODY", other),
    ]:
        assert found(service, query) == [expected], query

    assert sorted(found(service, "example")) == sorted([example, other])
    assert found(service, "example kowalski") == [other]
    assert found(service, "kowalski zolw") == []
    assert found(service, "100%") == []
    assert found(service, "_") == []


def test_a_search_is_a_line_of_text_or_a_422_that_says_so(client: TestClient) -> None:
    """GIVEN the API WHEN a search holds a control character or is longer than 200 characters
    THEN it is refused 422 naming `q`; an empty one lists every case."""
    client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
    for query in ["abc\x00def", "x" * 201]:
        answer = client.get("/api/v1/cases", params={"q": query}, headers=REGISTRAR)
        assert answer.status_code == 422, answer.text
        assert "q" in answer.text
    assert client.get("/api/v1/cases", params={"q": " "}, headers=REGISTRAR).json()["count"] == 1


def test_cases_made_before_the_search_line_are_found_after_the_upgrade(
    client: TestClient, data_dir: Path
) -> None:
    """GIVEN a case stored by a version of the service without the search line (the schema
    taken back to revision 0005) WHEN the database is migrated again THEN the case is found by
    its party's name without diacritics."""
    case = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR).json()["id"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{data_dir / 'cesja.sqlite3'}")
    command.downgrade(config, "0005")
    command.upgrade(config, "head")
    assert found(client, "zolkiewska cwik") == [case]
