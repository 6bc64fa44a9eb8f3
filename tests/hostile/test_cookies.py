"""Whatever a browser sends as the back office's cookie, every page answers as to someone
signed out: to the sign-in form, never with a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cesja.web.staff_session import COOKIE
from tests.cesja.flow import create_case
from tests.cesja.web.conftest import ORIGIN

# Cookie values as bytes on the wire (browsers send UTF-8; the server reads Latin-1).
ODD_VALUES: dict[str, bytes] = {
    "non-ascii-mac": "staff:0a1b2c3d|4102444800|żółć€".encode(),
    "non-ascii-everywhere": "stąff:żółw|٣٣٣|ę".encode(),
    "latin-1-bytes": b"staff:0a1b2c3d|4102444800|\xe9\xff\xa0",
    "empty": b"",
    "only-separators": b"||",
    "too-many-separators": b"staff:0a1b2c3d|4102444800|mac|more",
    "no-separator": b"staff:0a1b2c3d",
    "one-separator": b"staff:0a1b2c3d|4102444800",
    "huge": b"staff:" + b"A" * 60_000 + b"|4102444800|" + b"B" * 43,
    "huge-expiry": b"staff:0a1b2c3d|" + b"9" * 5000 + b"|mac",
    "negative-expiry": b"staff:0a1b2c3d|-1|mac",
    "superscript-expiry": "staff:0a1b2c3d|²³|mac".encode(),
    "expired-shape": b"staff:0a1b2c3d|0|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "quoted": b'"staff:0a1b2c3d|4102444800|mac"',
    "backslashes": b'"\\\\\\"',
    "control-characters": b"staff:\x01\x7f|\x1b[2J|\x08",
    "another-role": b"registrar:0a1b2c3d|4102444800|mac",
}
# The whole Cookie header, where the value's shape is not the odd part.
ODD_HEADERS: dict[str, bytes] = {
    "same-name-twice": f"{COOKIE}=a|b|c; {COOKIE}=staff:x|1|y".encode(),
    "name-without-value": COOKIE.encode(),
    "semicolons-only": b";;;",
    "equals-only": b"=",
}

PAGES = ["/", "/cases/{case}", "/cases/{case}/form.pdf", "/unmatched", "/webhooks"]
FILES = ["/evidence/1/page.jpg", "/scans/SC-0000000000000000/file"]
POSTS = [
    "/cases/{case}/checks/new_registrant.signature_present",
    "/cases/{case}/reject",
    "/cases/{case}/cancel",
    "/webhooks/WH-NONE/resend",
]


def _cookie_headers() -> dict[str, bytes]:
    headers = {name: f"{COOKIE}=".encode() + value for name, value in ODD_VALUES.items()}
    return {**headers, **ODD_HEADERS}


@pytest.mark.parametrize("what", list(_cookie_headers()))
def test_any_cookie_value_is_treated_as_signed_out_on_every_back_office_page(
    client: TestClient, what: str
) -> None:
    """GIVEN a case, and a browser holding an odd back-office cookie (not ASCII, empty, huge,
    with too few or too many separators, an expiry that is no number, quoted, with control
    characters, or twice)
    WHEN it opens every page, image and file of the back office, and posts every form
    THEN no answer is a server error: pages send it to the sign-in form, images and files
    answer 401, posts send it to sign in without changing anything, the sign-in form is
    shown, and signing out works.
    """
    case_id = create_case(client)["id"]
    headers = {"Cookie": _cookie_headers()[what]}

    for page in [p.format(case=case_id) for p in PAGES]:
        answer = client.get(page, headers=headers, follow_redirects=False)
        assert answer.status_code == 303, (page, answer.status_code, answer.text[:300])
        assert answer.headers["location"].startswith("/sign-in"), page
    for file in FILES:
        answer = client.get(file, headers=headers, follow_redirects=False)
        assert answer.status_code == 401, (file, answer.status_code, answer.text[:300])
    for post in [p.format(case=case_id) for p in POSTS]:
        answer = client.post(
            post,
            data={"decision": "accept", "reason": "przyjęte"},
            headers={**headers, **ORIGIN},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (post, answer.status_code, answer.text[:300])
        assert answer.headers["location"] == "/sign-in", post
    form = client.get("/sign-in", headers=headers)
    assert form.status_code == 200 and 'type="password"' in form.text
    out = client.post("/sign-out", headers={**headers, **ORIGIN}, follow_redirects=False)
    assert out.status_code == 303
