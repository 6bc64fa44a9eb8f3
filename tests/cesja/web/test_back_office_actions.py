"""What staff do through the back office: decide a check, reject or cancel a case, send a
stuck notice again. The same rules as the JSON API, the same audit trail, and a refusal shown
as a sentence on the page, not an error page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cesja import workers
from cesja.api.deps import caller_for_key
from cesja.config import Settings
from tests.cesja.flow import case_in, create_case, runtime_of
from tests.cesja.receiver import SECRET, receiver
from tests.cesja.web.conftest import ORIGIN, sign_in
from tests.conftest import STAFF

SIGNATURE = "current_registrant.signature_present"


def post(client: TestClient, url: str, **form: str) -> Any:
    return client.post(url, data=form, headers=ORIGIN, follow_redirects=False)


def case_of(client: TestClient, case_id: str) -> dict[str, Any]:
    return client.get(f"/api/v1/cases/{case_id}", headers=STAFF).json()  # type: ignore[no-any-return]


def events_of(client: TestClient, case_id: str) -> list[dict[str, Any]]:
    return client.get(f"/api/v1/cases/{case_id}/events", headers=STAFF).json()  # type: ignore[no-any-return]


def status_of(case: dict[str, Any], check: str) -> str:
    return next(c["status"] for c in case["checks"] if c["name"] == check)  # type: ignore[no-any-return]


def test_a_decision_in_the_ui_changes_the_case_and_is_signed_by_the_staff_member(
    staff: TestClient,
) -> None:
    """GIVEN a case in review because the current registrant's page has no signature
    WHEN staff accept that check through the UI with a reason
    THEN the case page they are sent to shows the check accepted and the new state, and the
    audit trail holds the decision under the same staff actor the API would record.
    """
    case = case_in(staff, "in_review")["id"]

    answer = post(
        staff,
        f"/cases/{case}/checks/{SIGNATURE}",
        decision="accept",
        reason="  Podpis na oryginale, okazany w oddziale.  ",
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/cases/{case}?done=accept"
    shown = staff.get(answer.headers["location"]).text
    assert "Sprawdzenie zaakceptowane." in shown
    assert "czeka na dokumenty" in shown
    after = case_of(staff, case)
    assert after["state"] == "awaiting_documents"
    assert status_of(after, SIGNATURE) == "accepted"
    decided = next(e for e in events_of(staff, case) if e["type"] == "check_decided")
    staff_actor = caller_for_key(Settings(), "dev-staff")
    assert staff_actor is not None
    assert decided["actor"] == staff_actor.actor
    assert decided["data"]["reason"] == "Podpis na oryginale, okazany w oddziale."
    assert (decided["data"]["before"], decided["data"]["after"]) == ("failed", "accepted")


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"decision": "accept", "reason": "   "}, 422, "Podaj powód"),
        ({"decision": "accept"}, 422, "Podaj powód"),
        ({"decision": "accept", "reason": "x" * 2001}, 422, "najwyżej 2000 znaków"),
        ({"decision": "accept", "reason": "ok\x00"}, 422, "znaki sterujące"),
        ({"decision": "maybe", "reason": "ok"}, 422, "Wybierz decyzję"),
    ],
)
def test_a_decision_without_a_proper_reason_is_explained_and_changes_nothing(
    staff: TestClient, form: dict[str, str], status: int, message: str
) -> None:
    """GIVEN a case in review
    WHEN staff send a decision with a blank, missing, too long or garbled reason, or no
    decision
    THEN the case page comes back saying what is missing, and nothing was recorded.
    """
    case = case_in(staff, "in_review")["id"]
    trail = events_of(staff, case)

    answer = post(staff, f"/cases/{case}/checks/{SIGNATURE}", **form)

    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text
    assert f"Sprawa {case}" in answer.text
    assert answer.headers["hx-push-url"] == f"/cases/{case}"
    assert events_of(staff, case) == trail


def test_an_illegal_action_shows_what_it_would_need_as_a_message(staff: TestClient) -> None:
    """GIVEN a case that staff rejected through the UI
    WHEN they try to reject it again, cancel it, or decide one of its checks
    THEN each time the case page comes back (409) saying in Polish what the action would need
    and where the case stands, and the case stays rejected.
    """
    case = case_in(staff, "in_review")["id"]
    rejected = post(staff, f"/cases/{case}/reject", reason="Podpis podrobiony.")
    assert rejected.status_code == 303
    assert "Sprawa odrzucona." in staff.get(rejected.headers["location"]).text
    trail = events_of(staff, case)

    again = post(staff, f"/cases/{case}/reject", reason="jeszcze raz")
    cancel = post(staff, f"/cases/{case}/cancel", reason="rezygnacja")
    decide = post(staff, f"/cases/{case}/checks/{SIGNATURE}", decision="accept", reason="ok")

    for answer in (again, cancel, decide):
        assert answer.status_code == 409
        assert answer.headers["content-type"].startswith("text/html")
        assert "Nic nie zmieniono." in answer.text
        assert "odrzucona" in answer.text
    assert "Odrzucenie sprawy jest możliwe tylko w stanie" in again.text
    assert "Anulowanie sprawy jest możliwe tylko w stanie" in cancel.text
    for answer in (again, cancel):
        assert "sprawa jest w stanie „odrzucona”: biuro ją odrzuciło" in answer.text
    assert "Sprawa jest w stanie „odrzucona” i jest zamknięta" in decide.text
    for answer in (again, cancel, decide):  # the API's English sentence is not shown
        assert "possible" not in answer.text and "closed" not in answer.text
    assert events_of(staff, case) == trail
    last = next(e for e in reversed(trail) if e["type"] == "state_changed")
    assert (last["data"]["after"], last["data"]["reason"]) == ("rejected", "Podpis podrobiony.")


def test_staff_cancel_a_case_with_a_reason(staff: TestClient) -> None:
    """GIVEN a case waiting for documents
    WHEN staff cancel it through the UI
    THEN it is cancelled with their reason, and its page no longer offers any action.
    """
    case = create_case(staff)["id"]

    answer = post(staff, f"/cases/{case}/cancel", reason="Klient wycofał wniosek.")

    assert answer.status_code == 303
    page = staff.get(answer.headers["location"]).text
    assert "Sprawa anulowana." in page
    assert 'action="/cases/' not in page
    assert case_of(staff, case)["state"] == "cancelled"
    changed = [e for e in events_of(staff, case) if e["type"] == "state_changed"]
    assert changed[-1]["data"]["reason"] == "Klient wycofał wniosek."


def test_an_unknown_case_or_check_is_a_page_not_an_error(staff: TestClient) -> None:
    """GIVEN a case
    WHEN staff open a case that does not exist, or decide a check the case does not have
    THEN they get a page (404) saying so.
    """
    case = case_in(staff, "in_review")["id"]

    missing = staff.get("/cases/CS-0000-0000")
    unknown = post(staff, f"/cases/{case}/checks/no.such", decision="accept", reason="ok")

    assert missing.status_code == 404
    assert "Nie znaleziono sprawy CS-0000-0000" in missing.text
    assert unknown.status_code == 404
    assert "Nic nie zmieniono. Sprawa nie ma takiego sprawdzenia." in unknown.text


@pytest.fixture
def refusing_registrar(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service whose registrar answers the transfer-ready notice with 410 Gone once."""
    from cesja.app import create_app

    with receiver([410]) as registrar:
        monkeypatch.setenv("CESJA_WEBHOOK_URL", registrar.url)
        monkeypatch.setenv("CESJA_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("CESJA_WEBHOOK_RETRY_SCALE", "0")
        with TestClient(create_app()) as client:
            assert sign_in(client).status_code == 303
            yield client


def test_staff_resend_a_notice_the_registrar_refused(refusing_registrar: TestClient) -> None:
    """GIVEN a transfer-ready case whose notice the registrar answered with 410 Gone
    WHEN staff open the notices page and press "send again"
    THEN the notice was listed with its button; it is pending again under the same id, the
    case's trail records the re-send by them, and a second press is refused with a message.
    """
    client = refusing_registrar
    case = case_in(client, "transfer_ready")["id"]
    workers.drain(runtime_of(client))
    listed = client.get("/api/v1/webhooks?status=gone", headers=STAFF).json()["items"]
    assert [d["case_id"] for d in listed] == [case]
    notice = listed[0]["id"]
    page = client.get("/webhooks").text
    assert notice in page and f'action="/webhooks/{notice}/resend"' in page

    answer = post(client, f"/webhooks/{notice}/resend")

    assert answer.status_code == 303
    assert "Powiadomienie zostanie wysłane ponownie." in client.get(answer.headers["location"]).text
    assert client.get(f"/api/v1/webhooks/{notice}", headers=STAFF).json()["status"] == "pending"
    resent = events_of(client, case)[-1]
    assert resent["type"] == "webhook_resent"
    assert resent["actor"].startswith("staff:")
    again = post(client, f"/webhooks/{notice}/resend")
    assert again.status_code == 409
    assert (
        "Nic nie zmieniono. Ponownie wysłać można tylko powiadomienie niedostarczone albo "
        "odrzucone" in again.text
    )
    assert again.headers["hx-push-url"] == "/webhooks"


@pytest.mark.postgres
def test_the_queue_and_a_decision_work_on_postgresql(
    data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the service on PostgreSQL (the scale-out mode) with a case in review
    WHEN staff search the queue for it and accept its failed check through the UI
    THEN it is found, and the decision moves it on, as on the embedded default.
    """
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_DATABASE_URL", pg_url)
    with TestClient(create_app()) as client:
        assert sign_in(client).status_code == 303
        case = case_in(client, "in_review")["id"]
        assert case in client.get("/?q=żółw&state=in_review").text

        answer = post(client, f"/cases/{case}/checks/{SIGNATURE}", decision="accept", reason="ok")

        assert answer.status_code == 303
        assert case_of(client, case)["state"] == "awaiting_documents"
