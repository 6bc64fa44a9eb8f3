"""Staff sign in through the registrar's identity provider (OpenID Connect): a real provider
on 127.0.0.1, the browser's way there and back followed step by step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cesja.app import create_app
from cesja.casework import staff
from tests.cesja.flow import runtime_of
from tests.cesja.web.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider

FAILED = "Logowanie przez dostawcę tożsamości nie powiodło się."


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def office(
    request: pytest.FixtureRequest,
    data_dir: Path,
    idp: IdentityProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The service with single sign-on through `idp`, and Anna's account, on either database."""
    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    monkeypatch.setenv("CESJA_PUBLIC_URL", "http://testserver")
    monkeypatch.setenv("CESJA_OIDC_ISSUER", idp.issuer)
    monkeypatch.setenv("CESJA_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CESJA_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    with TestClient(create_app()) as client:
        with Session(runtime_of(client).engine) as session:
            staff.add_staff(session, "anna", "Anna Nowak", "correct horse battery staple")
            session.commit()
        yield client


def through_the_provider(office: TestClient, *, state: str | None = None) -> httpx.Response:
    """The browser's way: to the provider (signed in there already) and back with a code."""
    start = office.get("/sign-in/sso", params={"next": "/unmatched"}, follow_redirects=False)
    assert start.status_code == 303, start.text
    back = httpx.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    path = back.headers["location"].removeprefix("http://testserver")
    if state is not None:
        path = path.split("&state=")[0] + f"&state={state}"
    return office.get(path, follow_redirects=False)


def test_a_member_of_staff_signs_in_through_the_registrars_identity_provider(
    office: TestClient,
) -> None:
    """GIVEN single sign-on configured and an account `anna`
    WHEN Anna chooses it on the sign-in page and her provider vouches for her
    THEN she is in the back office as herself, on the page she asked for."""
    assert "Zaloguj przez logowanie firmowe (SSO)" in office.get("/sign-in").text

    answer = through_the_provider(office)

    assert answer.status_code == 303 and answer.headers["location"] == "/unmatched"
    page = office.get("/unmatched")
    assert page.status_code == 200 and "pracownik anna" in page.text


def test_a_person_the_provider_knows_but_the_office_does_not_is_refused(
    office: TestClient, idp: IdentityProvider
) -> None:
    """GIVEN a person the provider signs in, without a staff account WHEN they come back
    THEN they are refused (403), told to ask for an account, and nothing is open to them."""
    idp.user = "mallory"

    answer = through_the_provider(office)

    assert answer.status_code == 403
    assert "nie ma aktywnego konta" in answer.text and "mallory" in answer.text
    assert office.get("/", follow_redirects=False).status_code == 303  # to the sign-in


@pytest.mark.parametrize("spoiled", ["audience", "nonce", "signature", "expired", "issuer"])
def test_an_id_token_that_does_not_hold_lets_no_one_in(
    office: TestClient, idp: IdentityProvider, spoiled: str
) -> None:
    """GIVEN an ID token made for another client, for another sign-in, signed with a key the
    provider does not publish, expired, or from another issuer
    WHEN it comes back THEN nobody is signed in, and the page says the sign-in failed."""
    idp.spoil = spoiled

    answer = through_the_provider(office)

    assert answer.status_code == 401 and FAILED in answer.text
    assert office.get("/", follow_redirects=False).status_code == 303


def test_an_answer_for_a_sign_in_started_elsewhere_is_refused(office: TestClient) -> None:
    """GIVEN a code and a state that belong to another browser's sign-in (login CSRF)
    WHEN this browser is sent to the callback with them THEN nobody is signed in."""
    answer = through_the_provider(office, state="a-state-this-browser-never-had")

    assert answer.status_code == 401 and FAILED in answer.text
    assert office.get("/", follow_redirects=False).status_code == 303
