"""Back office and registrar actions on a case: every state against every action, decisions on
checks, the audit trail, and who may do what."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cesja.flow import STATES, add_page, case_in, create_case, event_types, runtime_of
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF

SIGNATURE = "current_registrant.signature_present"


def _reissue_body() -> dict[str, Any]:
    new = copy.deepcopy(CASE_BODY["new_registrant"])
    new["phone"] = "+48 12 345 67 89"
    return {"new_registrant": new}


# action: (path after the case, body, headers, the states it moves from → the state it leads to)
ACTIONS: dict[str, tuple[str, dict[str, Any] | None, dict[str, str], dict[str, str]]] = {
    "decide": (
        f"checks/{SIGNATURE}",
        {"decision": "reject", "reason": "the signature is a printed image"},
        STAFF,
        {s: "in_review" for s in ("awaiting_documents", "in_review", "transfer_ready")},
    ),
    "reject": (
        "reject",
        {"reason": "the new registrant's identity could not be confirmed"},
        STAFF,
        {s: "rejected" for s in ("awaiting_documents", "in_review", "transfer_ready")},
    ),
    "cancel": (
        "cancel",
        {"reason": "the customer withdrew the request"},
        REGISTRAR,
        {s: "cancelled" for s in ("awaiting_documents", "in_review", "transfer_ready")},
    ),
    "transfer-completed": ("transfer-completed", None, REGISTRAR, {"transfer_ready": "completed"}),
    "reissue": (
        "reissue",
        _reissue_body(),
        STAFF,
        {s: "awaiting_documents" for s in ("awaiting_documents", "in_review")},
    ),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_in_every_state(client: TestClient, state: str, action: str) -> None:
    """GIVEN a case brought into `state` by the API and stored page readings
    WHEN `action` is sent
    THEN a legal action moves it where the table says and is recorded with who did it;
    an illegal one gets 409 naming the state and what it would need, and changes nothing.
    """
    path, body, headers, moves = ACTIONS[action]
    case = case_in(client, state)
    events_before = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()

    answer = client.post(f"/api/v1/cases/{case['id']}/{path}", json=body, headers=headers)

    after = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    if state in moves:
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == moves[state]
        assert answer.json()["transfer_allowed"] is False
        new_events = after[len(events_before) :]
        assert new_events, "a change must be recorded"
        actor = "registrar" if headers is REGISTRAR else "staff"
        assert all(e["actor"].startswith(f"{actor}:") for e in new_events)
        assert "dev-" not in str(new_events), "the audit trail must never hold the key"
        if moves[state] != state or action == "reissue":
            changed = [e for e in new_events if e["data"].get("before") is not None]
            assert changed, new_events
        if action == "reissue":
            assert answer.json()["form_version"] == 2
            assert new_events[0]["type"] == "form_reissued"
            assert new_events[0]["data"]["before"]["state"] == state
            assert new_events[0]["data"]["after"]["state"] == "awaiting_documents"
    else:
        assert answer.status_code == 409, answer.text
        problem = answer.json()
        assert problem["state"] == state
        assert state in problem["needs"] and problem["needs"] == problem["message"]
        assert after == events_before
        fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
        assert fetched["state"] == state


def test_an_illegal_transition_says_where_it_would_be_possible(client: TestClient) -> None:
    """GIVEN a case still waiting for documents
    WHEN the registrar confirms the transfer
    THEN 409 says the transfer can only be confirmed from transfer_ready, and why not now.
    """
    case = create_case(client)
    answer = client.post(f"/api/v1/cases/{case['id']}/transfer-completed", headers=REGISTRAR)
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "transition_not_allowed",
        "message": answer.json()["needs"],
        "state": "awaiting_documents",
        "event": "complete",
        "needs": "Confirming the transfer is only possible in transfer_ready; the case is "
        "awaiting_documents: some checks still wait for pages from the parties.",
    }


def test_registrar_confirms_the_transfer(client: TestClient) -> None:
    """GIVEN a case whose checks all passed
    WHEN the registrar says the transfer was executed
    THEN the case is completed, transfer is no longer allowed, and the trail says who did it.
    """
    case = case_in(client, "transfer_ready")
    assert case["transfer_allowed"] is True
    answer = client.post(f"/api/v1/cases/{case['id']}/transfer-completed", headers=REGISTRAR)
    assert answer.status_code == 200
    assert answer.json()["state"] == "completed" and answer.json()["transfer_allowed"] is False
    last = client.get(f"/api/v1/cases/{case['id']}/events", headers=REGISTRAR).json()[-1]
    assert last["type"] == "state_changed"
    assert last["data"] == {"event": "complete", "before": "transfer_ready", "after": "completed"}
    assert last["actor"].startswith("registrar:")


def test_staff_accept_a_failed_check_and_the_transfer_is_released(client: TestClient) -> None:
    """GIVEN a case in review because the current registrant's signature was not found
    WHEN staff accept that check with a reason
    THEN the check is accepted with the reason, the case is transfer_ready, and the trail
    holds the decision (before failed, after accepted) followed by the state change.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    add_page(runtime, case["id"], "current_registrant", signature_present=False)
    assert add_page(runtime, case["id"], "new_registrant") == "in_review"

    answer = client.post(
        f"/api/v1/cases/{case['id']}/checks/{SIGNATURE}",
        json={"decision": "accept", "reason": "  signed in blue ink, faint on the scan  "},
        headers=STAFF,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "transfer_ready"
    check = next(c for c in answer.json()["checks"] if c["name"] == SIGNATURE)
    assert check["status"] == "accepted"
    assert "signed in blue ink, faint on the scan" in check["detail"]
    trail = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    decided, changed = trail[-3], trail[-2]
    assert decided["type"] == "check_decided"
    assert decided["data"] == {
        "check": SIGNATURE,
        "decision": "accept",
        "reason": "signed in blue ink, faint on the scan",
        "form_version": 1,
        "before": "failed",
        "after": "accepted",
    }
    assert changed["type"] == "state_changed"
    assert (changed["data"]["before"], changed["data"]["after"]) == ("in_review", "transfer_ready")
    assert trail[-1]["type"] == "webhook_skipped"  # no CESJA_WEBHOOK_URL in this test


def test_a_rejected_check_after_the_notice_withdraws_the_permission(client: TestClient) -> None:
    """GIVEN a transfer_ready case
    WHEN staff reject one of its checks
    THEN the case falls back to in_review and transfer is no longer allowed.
    """
    case = case_in(client, "transfer_ready")
    answer = client.post(
        f"/api/v1/cases/{case['id']}/checks/new_registrant.fields_match",
        json={"decision": "reject", "reason": "PESEL on the page differs by one digit"},
        headers=STAFF,
    )
    assert answer.status_code == 200
    assert answer.json()["state"] == "in_review"
    assert answer.json()["transfer_allowed"] is False


@pytest.mark.parametrize(
    ("name", "body", "status", "error", "says"),
    [
        (
            "new_registrant.stamp_present",
            {"decision": "accept", "reason": "ok"},
            404,
            "unknown_check",
            "its checks are current_registrant.page_received",
        ),
        ("no.such", {"decision": "accept", "reason": "ok"}, 404, "unknown_check", "no check"),
        (SIGNATURE, {"decision": "accept", "reason": "   "}, 422, "invalid_input", "blank"),
        (SIGNATURE, {"decision": "accept"}, 422, "invalid_input", "reason"),
        (SIGNATURE, {"decision": "accept", "reason": "x" * 2001}, 422, "invalid_input", "2000"),
        (SIGNATURE, {"decision": "maybe", "reason": "ok"}, 422, "invalid_input", "decision"),
        (
            SIGNATURE,
            {"decision": "accept", "reason": "ok", "extra": 1},
            422,
            "invalid_input",
            "extra",
        ),
    ],
)
def test_a_bad_decision_is_refused_and_changes_nothing(
    client: TestClient, name: str, body: dict[str, Any], status: int, error: str, says: str
) -> None:
    """GIVEN an open case (the new registrant is a person: no stamp check)
    WHEN staff send a decision on an unknown check, or without a proper reason
    THEN it is refused with a message that says what is wrong, and nothing is recorded.
    """
    case = create_case(client)
    before = event_types(client, case["id"])
    answer = client.post(f"/api/v1/cases/{case['id']}/checks/{name}", json=body, headers=STAFF)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert says in str(answer.json()), answer.json()
    assert event_types(client, case["id"]) == before


def test_the_audit_trail_is_chained_oldest_first(client: TestClient) -> None:
    """GIVEN a case that was created, read, decided on and cancelled
    WHEN its events are listed
    THEN they come oldest first, numbered from 1, each linked to the hash of the one before.
    """
    case = create_case(client)
    add_page(runtime_of(client), case["id"], "new_registrant")
    client.post(
        f"/api/v1/cases/{case['id']}/checks/{SIGNATURE}",
        json={"decision": "reject", "reason": "no signature"},
        headers=STAFF,
    )
    client.post(
        f"/api/v1/cases/{case['id']}/cancel", json={"reason": "customer gave up"}, headers=STAFF
    )
    trail = client.get(f"/api/v1/cases/{case['id']}/events", headers=REGISTRAR).json()
    assert [e["type"] for e in trail] == [
        "case_created",
        "page_read",
        "check_decided",
        "state_changed",
        "state_changed",
    ]
    assert [e["seq"] for e in trail] == [1, 2, 3, 4, 5]
    assert trail[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(trail))
    assert [e["at"] for e in trail] == sorted(e["at"] for e in trail)
    assert set(trail[0]) == {"seq", "type", "actor", "at", "data", "prev_hash", "hash"}
    assert trail[-1]["data"] == {
        "event": "cancel",
        "before": "in_review",
        "after": "cancelled",
        "reason": "customer gave up",
    }


def test_actions_on_a_missing_case_are_404(client: TestClient) -> None:
    for path in ("events",):
        assert client.get(f"/api/v1/cases/CS-NONE-NONE/{path}", headers=STAFF).status_code == 404
    answer = client.post(
        "/api/v1/cases/CS-NONE-NONE/cancel", json={"reason": "x"}, headers=REGISTRAR
    )
    assert answer.status_code == 404


NOBODY: dict[str, str] = {}
WRONG = {"Authorization": "Bearer not-a-key"}


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "refused"),
    [
        ("post", f"checks/{SIGNATURE}", {"decision": "accept", "reason": "ok"}, STAFF, REGISTRAR),
        ("post", f"checks/{SIGNATURE}", {"decision": "accept", "reason": "ok"}, STAFF, INTAKE),
        ("post", "reject", {"reason": "no"}, STAFF, REGISTRAR),
        ("post", "reject", {"reason": "no"}, STAFF, INTAKE),
        ("post", "cancel", {"reason": "no"}, REGISTRAR, INTAKE),
        ("post", "cancel", {"reason": "no"}, STAFF, INTAKE),
        ("post", "transfer-completed", None, REGISTRAR, STAFF),
        ("post", "transfer-completed", None, REGISTRAR, INTAKE),
        ("get", "events", None, REGISTRAR, INTAKE),
        ("get", "events", None, STAFF, INTAKE),
    ],
)
def test_roles_on_case_actions(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: dict[str, str],
    refused: dict[str, str],
) -> None:
    """GIVEN a transfer_ready case
    WHEN an action is sent without a key, with an unknown key, or by a role that may not
    THEN 401, 401 and 403 with nothing changed; the role that may gets past the door.
    """
    case = case_in(client, "transfer_ready")
    url = f"/api/v1/cases/{case['id']}/{path}"
    for headers, status in ((NOBODY, 401), (WRONG, 401), (refused, 403)):
        answer = client.request(method, url, json=body, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["state"] == (
        "transfer_ready"
    )
    assert client.request(method, url, json=body, headers=allowed).status_code == 200
