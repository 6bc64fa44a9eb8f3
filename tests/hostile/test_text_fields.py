"""Text that prints as nothing or reorders what follows it (NUL and other control characters,
the bidi overrides, isolates and marks, zero-width characters) is refused in every text field a
caller sends, with a 422 naming the field; a reason may still hold several lines."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from cesja.db.models import CaseRow, ScanRow
from tests.cesja.flow import case_in, create_case, runtime_of
from tests.cesja.sent_pages import upload
from tests.cesja.web.conftest import ORIGIN, sign_in
from tests.conftest import CASE_BODY, REGISTRAR, STAFF
from tests.ocr import samples as s

# What is refused, by what it is: each is put into the middle of a field's value.
REFUSED = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 next line": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first strong isolate": "\u2068",
    "right-to-left mark": "\u200f",
    "zero width space": "\u200b",
    "byte order mark": "\ufeff",
    "line separator": "\u2028",
    "private use": "\ue000",
}
# ...and, in a one-line field, line breaks and tabs.
NOT_IN_ONE_LINE = {"line feed": "\n", "carriage return": "\r", "tab": "\t"}


def text_fields(value: Any, path: str = "") -> Iterator[str]:
    """The path of every text in a body, as the API names fields (`new_registrant.name`)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from text_fields(item, f"{path}{key}.")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from text_fields(item, f"{path}{index}.")
    elif isinstance(value, str):
        yield path[:-1]


def spoilt(body: dict[str, Any], path: str, char: str) -> dict[str, Any]:
    """`body` with `char` put after the first character of the text at `path`."""
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    holder: Any = body
    for part in parents:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    key: Any = int(last) if isinstance(holder, list) else last
    holder[key] = holder[key][:1] + char + holder[key][1:]
    return body


def count(client: TestClient, table: type[Any]) -> int:
    with Session(runtime_of(client).engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


BODY = {**CASE_BODY, "external_ref": "REG-42"}
FIELDS = list(text_fields(BODY))


def assert_refused(answer: Any, field: str) -> None:
    assert answer.status_code == 422, (field, answer.text)
    named = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert field in named, (field, answer.json())
    assert f"{field}: " in " ".join(answer.json()["detail"])


@pytest.mark.parametrize("what", list(REFUSED) + list(NOT_IN_ONE_LINE))
def test_a_new_case_with_such_a_character_in_any_field_is_refused_naming_it(
    client: TestClient, what: str
) -> None:
    """GIVEN the contract's example case with an external reference
    WHEN it is sent with one such character in one of its text fields, for every field in turn
    (domains, the reference, each party's name, representatives, address, e-mail, phone and
    identifiers)
    THEN each is answered 422 naming that field by its path, and no case is created.
    """
    char = {**REFUSED, **NOT_IN_ONE_LINE}[what]
    assert {"external_ref", "new_registrant.name", "domains.1", "current_registrant.nip"} <= set(
        FIELDS
    )

    for field in FIELDS:
        answer = client.post("/api/v1/cases", json=spoilt(BODY, field, char), headers=REGISTRAR)
        assert_refused(answer, field)

    assert count(client, CaseRow) == 0


def test_the_message_says_which_character_and_where(client: TestClient) -> None:
    """GIVEN a registrar's reference that hides a right-to-left override ("REG-‮24" shows as
    "REG-42")
    WHEN the case is sent
    THEN the answer names the field, the character by its code and name, and its position.
    """
    answer = client.post(
        "/api/v1/cases", json={**BODY, "external_ref": "REG-\u202e24"}, headers=REGISTRAR
    )

    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        "external_ref: holds U+202E (RIGHT-TO-LEFT OVERRIDE) at character 5: control and "
        "direction-changing characters are not accepted"
    ]


@pytest.mark.parametrize("party", ["current_registrant", "new_registrant"])
def test_a_reissue_with_such_a_character_is_refused_naming_the_field(
    client: TestClient, party: str
) -> None:
    """GIVEN a case waiting for documents
    WHEN it is reissued with a right-to-left override or a NUL in a party's name, or a NUL in
    a domain
    THEN each is answered 422 naming the field, and the form stays at version 1.
    """
    case = create_case(client)
    for path, char in [(f"{party}.name", "\u202e"), (f"{party}.address.city", "\x00")]:
        body = {party: spoilt(BODY, path, char)[party]}
        answer = client.post(f"/api/v1/cases/{case['id']}/reissue", json=body, headers=REGISTRAR)
        assert_refused(answer, path)
    answer = client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"domains": ["przyk\x00lad.pl"]},
        headers=REGISTRAR,
    )
    assert_refused(answer, "domains.0")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["form_version"] == 1


@pytest.mark.parametrize("what", list(REFUSED))
def test_a_reason_with_such_a_character_is_refused_and_changes_nothing(
    client: TestClient, what: str
) -> None:
    """GIVEN a case in review
    WHEN staff decide a check, reject or cancel it, with such a character in the reason
    THEN each is answered 422 naming `reason`, and nothing is recorded.
    """
    case = case_in(client, "in_review")["id"]
    trail = client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json()
    reason = f"Podpis{REFUSED[what]} nieczytelny"

    for action, body in [
        ("checks/current_registrant.signature_present", {"decision": "accept"}),
        ("reject", {}),
        ("cancel", {}),
    ]:
        answer = client.post(
            f"/api/v1/cases/{case}/{action}", json={**body, "reason": reason}, headers=STAFF
        )
        assert_refused(answer, "reason")

    assert client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json() == trail


def test_a_reason_may_hold_several_lines(client: TestClient) -> None:
    """GIVEN a case in review
    WHEN staff accept a check with a reason of three lines, sent with CR LF as a browser's
    text area sends them, and a tab
    THEN it is accepted and the audit trail keeps the lines, as LF.
    """
    case = case_in(client, "in_review")["id"]

    answer = client.post(
        f"/api/v1/cases/{case}/checks/current_registrant.signature_present",
        json={"decision": "accept", "reason": "Podpis okazany:\r\n- w oddziale\r\n-\tosobiście"},
        headers=STAFF,
    )

    assert answer.status_code == 200, answer.text
    events = client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json()
    decided = next(e for e in events if e["type"] == "check_decided")
    assert decided["data"]["reason"] == "Podpis okazany:\n- w oddziale\n-\tosobiście"


def test_a_back_office_reason_with_a_direction_override_is_refused_on_the_page(
    client: TestClient,
) -> None:
    """GIVEN staff signed in to the back office, and a case in review
    WHEN they accept a check with a reason holding a right-to-left override, then with a
    reason of two lines from the text area (CR LF)
    THEN the first comes back as the case page saying the reason holds a forbidden
    character, with nothing recorded; the second is recorded, its lines as LF.
    """
    case = case_in(client, "in_review")["id"]
    assert sign_in(client).status_code == 303
    url = f"/cases/{case}/checks/current_registrant.signature_present"
    trail = client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json()

    refused = client.post(
        url,
        data={"decision": "accept", "reason": "Zgoda \u202eonaw"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "zmieniające kierunek" in refused.text
    assert client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json() == trail

    accepted = client.post(
        url,
        data={"decision": "accept", "reason": "Podpis okazany\r\nw oddziale"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    events = client.get(f"/api/v1/cases/{case}/events", headers=STAFF).json()
    decided = next(e for e in events if e["type"] == "check_decided")
    assert decided["data"]["reason"] == "Podpis okazany\nw oddziale"


@pytest.mark.parametrize("what", list(REFUSED) + list(NOT_IN_ONE_LINE))
def test_a_scan_whose_sender_holds_such_a_character_is_refused_and_not_kept(
    client: TestClient, what: str
) -> None:
    """GIVEN a fax gateway that passes on a caller id
    WHEN it uploads a fax whose `sender` holds such a character
    THEN the answer is 422 naming `sender`, and no scan is kept; the same fax with a plain
    sender is accepted.
    """
    fax = s.save_tiff(runtime_of(client).settings.data_dir / "fax.tiff", [s.fax_page(400)])
    char = {**REFUSED, **NOT_IN_ONE_LINE}[what]

    answer = upload(client, fax.read_bytes(), channel="fax", sender=f"+48 22{char} 111 22 33")

    assert_refused(answer, "sender")
    assert count(client, ScanRow) == 0
    accepted = upload(client, fax.read_bytes(), channel="fax", sender="+48 22 111 22 33")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["sender"] == "+48 22 111 22 33"
