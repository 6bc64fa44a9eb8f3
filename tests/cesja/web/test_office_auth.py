"""Who gets into the back office: staff sign in with their key and hold a signed cookie; no page,
image or post works without it, with another role's key, or from another site."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cesja.config import Settings
from cesja.db.models import EvidenceRow, PageRow, ScanRow, utcnow
from cesja.web.staff_session import COOKIE
from tests.cesja.flow import case_in, create_case, event_types, runtime_of
from tests.cesja.web.conftest import ORIGIN, sign_in
from tests.conftest import REGISTRAR, STAFF

PAGES = ["/", "/cases/{case}", "/cases/{case}/form.pdf", "/unmatched", "/webhooks"]
FILES = ["/evidence/{page}/page.jpg", "/scans/{scan}/file"]
POSTS: list[tuple[str, dict[str, str]]] = [
    (
        "/cases/{case}/checks/new_registrant.signature_present",
        {"decision": "accept", "reason": "x"},
    ),
    ("/cases/{case}/reject", {"reason": "x"}),
    ("/cases/{case}/cancel", {"reason": "x"}),
    ("/webhooks/WH-NONE/resend", {}),
]


def _stored_page(client: TestClient) -> tuple[int, str]:
    """A scan with one page and its image in the database, as the reader stores them."""
    with Session(runtime_of(client).engine) as session:
        scan = ScanRow(
            id="SC-TEST",
            sha256="0" * 64,
            channel="fax",
            media_type="image/png",
            size=1,
            received_at=utcnow(),
        )
        page = PageRow(
            scan_id=scan.id,
            index=0,
            outcome="unmatched",
            reading={},
            created_at=utcnow(),
        )
        session.add(scan)
        session.flush()
        session.add(page)
        session.flush()
        assert page.id is not None
        session.add(EvidenceRow(page_id=page.id, name="page.jpg", image=b"\xff\xd8\xff"))
        session.commit()
        return page.id, scan.id


def _urls(templates: list[str], case: str, page: int = 1, scan: str = "SC-TEST") -> list[str]:
    return [t.format(case=case, page=page, scan=scan) for t in templates]


def test_staff_sign_in_with_their_key_and_the_cookie_never_holds_it(client: TestClient) -> None:
    """GIVEN the sign-in form
    WHEN staff send their key
    THEN they are sent to the queue with an HttpOnly, SameSite=Strict cookie that holds a
    random session id: never the key, nor even whom it names.
    """
    form = client.get("/sign-in")
    assert form.status_code == 200
    assert 'type="password"' in form.text

    answer = sign_in(client)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert re.match(rf"{COOKIE}=[A-Za-z0-9_-]{{43}};", cookie), cookie
    assert "staff:" not in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "dev-staff" not in cookie
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        ("not-a-key", 401, "Nieprawidłowy klucz"),
        ("dev-registrar", 403, "nie należy do pracownika"),
        ("dev-intake", 403, "nie należy do pracownika"),
    ],
)
def test_a_wrong_or_non_staff_key_is_told_so_and_gets_no_cookie(
    client: TestClient, key: str, status: int, message: str
) -> None:
    """GIVEN the sign-in form
    WHEN someone sends an unknown key, or the key of the registrar or the fax gateway
    THEN the form comes back saying why, and no session cookie is set.
    """
    answer = sign_in(client, key)

    assert answer.status_code == status
    assert message in answer.text
    assert "set-cookie" not in answer.headers
    assert client.get("/", follow_redirects=False).status_code == 303


def test_nothing_opens_without_the_staff_cookie(service: TestClient) -> None:
    """GIVEN a case and a stored page image, and a caller who is not signed in (with or
    without a registrar's or even the staff API key as a bearer token)
    WHEN it asks for any back-office page, image or file
    THEN pages send it to sign in (and back afterwards), images and files answer 401.
    """
    case = create_case(service)["id"]
    page_id, _ = _stored_page(service)
    for headers in ({}, REGISTRAR, STAFF):
        for url in _urls(PAGES, case, page_id):
            answer = service.get(url, headers=headers, follow_redirects=False)
            assert answer.status_code == 303, url
            assert answer.headers["location"].startswith("/sign-in"), url
        for url in _urls(FILES, case, page_id):
            assert service.get(url, headers=headers).status_code == 401, url

    back = service.get(f"/cases/{case}", follow_redirects=False).headers["location"]
    assert back == f"/sign-in?next=/cases/{case}"


def test_a_made_up_or_altered_session_id_is_refused(service: TestClient) -> None:
    """GIVEN a session id of the right shape that the server never gave out, one character
    of a real one changed, and a cookie of the old signed shape
    WHEN each is sent to the queue
    THEN each is sent to sign in: only an id of a session the server keeps opens the UI.
    """
    real = sign_in(service).cookies[COOKIE]
    forged = {
        "made-up": secrets.token_urlsafe(32),
        "altered": real[:-1] + ("A" if real[-1] != "A" else "B"),
        "old-shape": "staff:abcd1234|4102444800|" + "A" * 43,
    }
    for name, value in forged.items():
        service.cookies.set(COOKIE, value)
        answer = service.get("/", follow_redirects=False)
        assert answer.status_code == 303, name
    service.cookies.set(COOKIE, real)
    assert service.get("/", follow_redirects=False).status_code == 200


def test_a_removed_key_ends_its_sessions(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN staff signed in with a key
    WHEN the service restarts with that key no longer in CESJA_API_KEYS
    THEN their cookie no longer opens the back office.
    """
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_API_KEYS", "staff:old-staff-key-1234,registrar:r-key-1234")
    with TestClient(create_app()) as before:
        assert sign_in(before, "old-staff-key-1234").status_code == 303
        cookie = before.cookies[COOKIE]
        assert before.get("/").status_code == 200

    monkeypatch.setenv("CESJA_API_KEYS", "staff:new-staff-key-5678,registrar:r-key-1234")
    with TestClient(create_app()) as after:
        after.cookies.set(COOKIE, cookie)
        assert after.get("/", follow_redirects=False).status_code == 303


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[TestClient]:
    from cesja.app import create_app

    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    with TestClient(create_app(Settings(database_url=url) if url else None)) as client:
        yield client


def test_signing_out_ends_the_session_on_the_server(service: TestClient) -> None:
    """GIVEN staff signed in, and a copy of their cookie taken meanwhile
    WHEN they sign out
    THEN the cookie is cleared, the sign-in form says so, the queue needs a sign-in again, and
    the copied cookie no longer opens anything either, while another session goes on.
    """
    assert sign_in(service).status_code == 303
    copied = service.cookies[COOKIE]
    with TestClient(service.app) as other:
        assert sign_in(other).status_code == 303
        answer = service.post("/sign-out", headers=ORIGIN, follow_redirects=False)

        assert answer.status_code == 303
        assert COOKIE not in service.cookies
        assert "Wylogowano" in service.get(answer.headers["location"]).text
        assert service.get("/", follow_redirects=False).status_code == 303
        service.cookies.set(COOKIE, copied)
        assert service.get("/", follow_redirects=False).status_code == 303
        assert other.get("/", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(("path", "form"), POSTS)
def test_a_post_from_another_site_is_refused_and_changes_nothing(
    staff: TestClient, path: str, form: dict[str, str]
) -> None:
    """GIVEN signed-in staff and a case
    WHEN a form is posted to a back-office action from another origin (or a cross-site
    request without Origin), or without the cookie
    THEN the first two are refused with 403, the last is sent to sign in, and the case and
    its audit trail are as they were.
    """
    case = create_case(staff)["id"]
    url = path.format(case=case)
    trail = event_types(staff, case)

    other_site = staff.post(url, data=form, headers={"Origin": "https://evil.example"})
    cross_site = staff.post(url, data=form, headers={"Sec-Fetch-Site": "cross-site"})
    cookie = staff.cookies[COOKIE]
    staff.cookies.clear()
    signed_out = staff.post(url, data=form, headers=ORIGIN, follow_redirects=False)
    staff.cookies.set(COOKIE, cookie)

    assert other_site.status_code == 403
    assert "nie został wysłany z tej strony" in other_site.text
    assert cross_site.status_code == 403
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in")
    assert event_types(staff, case) == trail
    assert staff.get(f"/api/v1/cases/{case}", headers=STAFF).json()["state"] == "awaiting_documents"


def test_sign_in_and_sign_out_posts_must_come_from_our_pages(client: TestClient) -> None:
    """GIVEN another site that posts the sign-in form (login CSRF) or the sign-out form
    WHEN the service receives them
    THEN both are refused and no cookie is set.
    """
    evil = {"Origin": "https://evil.example"}
    signed = client.post("/sign-in", data={"key": "dev-staff"}, headers=evil)
    out = client.post("/sign-out", headers=evil)

    assert signed.status_code == 403
    assert "set-cookie" not in signed.headers
    assert out.status_code == 403


@pytest.mark.parametrize(
    ("next_", "lands_on"),
    [
        ("/cases/CS-0000-0000", "/cases/CS-0000-0000"),
        ("//evil.example/phish", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/api/v1/cases", "/"),
    ],
)
def test_after_signing_in_only_our_own_pages_are_next(
    client: TestClient, next_: str, lands_on: str
) -> None:
    """GIVEN a sign-in link carrying where to go next
    WHEN staff sign in
    THEN they land there only if it is a back-office page of ours, else on the queue.
    """
    answer = client.post(
        "/sign-in",
        data={"key": "dev-staff", "next": next_},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert answer.headers["location"] == lands_on


def test_pages_are_never_cached_or_framed(staff: TestClient) -> None:
    """GIVEN signed-in staff
    WHEN they open a page
    THEN it forbids caching and framing and allows scripts only from the service itself.
    """
    case = case_in(staff, "in_review")["id"]
    answer = staff.get(f"/cases/{case}")
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert re.search(r"script-src 'self'(;|$)", answer.headers["content-security-policy"])
