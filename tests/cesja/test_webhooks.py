"""The transfer-ready notice end to end: signed POSTs to a local receiver, retried under one
webhook-id, stopped by 410, dead after the last attempt, and sent again by staff."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from cesja import workers
from cesja.db.models import JobRow, WebhookDeliveryRow
from tests.cesja.flow import case_in, event_types, runtime_of
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.conftest import INTAKE, REGISTRAR, STAFF

ServiceFactory = Callable[..., tuple[TestClient, Receiver]]


@pytest.fixture
def service(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceFactory]:
    """The service with its webhook pointed at a local receiver answering from a script;
    waits between attempts scaled to nothing unless a test asks for them."""
    opened: list[Any] = []

    def start(script: list[int | str], **env: str) -> tuple[TestClient, Receiver]:
        from cesja.app import create_app

        hook = receiver(script)
        registrar = hook.__enter__()
        opened.append(hook)
        settings = {
            "CESJA_WEBHOOK_URL": registrar.url,
            "CESJA_WEBHOOK_SECRET": SECRET,
            "CESJA_WEBHOOK_RETRY_SCALE": "0",
            **env,
        }
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        client = TestClient(create_app())
        opened.append(client)
        client.__enter__()
        return client, registrar

    yield start
    for thing in reversed(opened):
        thing.__exit__(None, None, None)


def delivery_of(client: TestClient, case_id: str) -> dict[str, Any]:
    listed = client.get(f"/api/v1/webhooks?case_id={case_id}", headers=STAFF).json()
    assert listed["count"] == 1, listed
    detail = client.get(f"/api/v1/webhooks/{listed['items'][0]['id']}", headers=STAFF)
    assert detail.status_code == 200
    return detail.json()  # type: ignore[no-any-return]


def test_failures_are_retried_under_one_webhook_id_until_delivered(
    service: ServiceFactory,
) -> None:
    """GIVEN a receiver that fails the first three POSTs (500, 503, no answer in time)
    WHEN a case becomes transfer_ready and the workers run
    THEN the fourth POST is accepted; all four carry the same webhook-id and a signature
    the reference library verifies, the notice is the contract's (its `audit_head` the hash of
    the event that made the case ready), and it is delivered once.
    """
    client, registrar = service(
        [500, 503, "hang"], CESJA_WEBHOOK_TIMEOUT_SECONDS="0.3", CESJA_WEBHOOK_MAX_ATTEMPTS="5"
    )
    registrar.hang_seconds = 1.0
    case = case_in(client, "transfer_ready")

    workers.drain(runtime_of(client))

    assert len(registrar.received) == 4
    ids = {r.webhook_id for r in registrar.received}
    delivery = delivery_of(client, case["id"])
    assert ids == {delivery["id"]} and delivery["id"].startswith("msg_")
    assert all(r.verified for r in registrar.received)
    notice = registrar.received[-1].payload
    assert notice["type"] == "cesja.transfer_ready"
    trail = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    became_ready = next(e for e in trail if e["data"].get("after") == "transfer_ready")
    assert notice["data"] == {
        "case_id": case["id"],
        "external_ref": "REG-42",
        "domains": case["domains"],
        "new_registrant": case["new_registrant"],
        # The registrar holds the head of the trail as it was when the case became ready.
        "audit_head": became_ready["hash"],
    }
    assert delivery["status"] == "delivered" and delivery["attempts"] == 4
    assert delivery["delivered_at"] is not None and delivery["next_attempt_at"] is None
    assert [(a["number"], a["outcome"], a["status_code"]) for a in delivery["history"]] == [
        (1, "retry", 500),
        (2, "retry", 503),
        (3, "retry", None),
        (4, "delivered", 204),
    ]
    assert "no answer in time" in delivery["history"][2]["error"]
    assert SECRET.removeprefix("whsec_") not in str(delivery)
    types = event_types(client, case["id"])
    assert types.count("webhook_scheduled") == 1 and types.count("webhook_delivered") == 1

    # Delivered once: nothing is left to send.
    workers.drain(runtime_of(client))
    assert len(registrar.received) == 4


def test_410_stops_for_good_and_staff_may_send_it_again(service: ServiceFactory) -> None:
    """GIVEN a receiver that answers 410 Gone
    WHEN the notice is sent
    THEN it is not tried again; staff see it as gone and may re-send it, same webhook-id.
    """
    client, registrar = service([410])
    case = case_in(client, "transfer_ready")

    workers.drain(runtime_of(client))
    workers.drain(runtime_of(client))

    assert len(registrar.received) == 1
    delivery = delivery_of(client, case["id"])
    assert delivery["status"] == "gone" and delivery["last_status"] == 410
    assert "webhook_gone" in event_types(client, case["id"])

    assert client.post(f"/api/v1/webhooks/{delivery['id']}/resend", headers=STAFF).is_success
    workers.drain(runtime_of(client))
    assert [r.webhook_id for r in registrar.received] == [delivery["id"]] * 2
    assert delivery_of(client, case["id"])["status"] == "delivered"


def test_the_last_failure_marks_it_dead_and_staff_resend_it(service: ServiceFactory) -> None:
    """GIVEN a receiver down for the three attempts the service is allowed
    WHEN the notice has been tried three times
    THEN it is dead, listed for staff under ?status=dead; re-sent, its attempts count from 1
    again under the same webhook-id, and it is delivered.
    """
    client, registrar = service([500, 500, 502], CESJA_WEBHOOK_MAX_ATTEMPTS="3")
    case = case_in(client, "transfer_ready")

    workers.drain(runtime_of(client))

    dead = client.get("/api/v1/webhooks?status=dead", headers=STAFF).json()
    assert dead["count"] == 1
    assert dead["items"][0]["case_id"] == case["id"]
    assert dead["items"][0]["attempts"] == 3
    assert "502" in dead["items"][0]["last_error"]
    assert client.get("/api/v1/webhooks?status=pending", headers=STAFF).json()["count"] == 0
    trail = client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    assert trail[-1]["type"] == "webhook_dead"
    assert (trail[-1]["data"]["before"], trail[-1]["data"]["after"]) == ("pending", "dead")

    webhook_id = dead["items"][0]["id"]
    resent = client.post(f"/api/v1/webhooks/{webhook_id}/resend", headers=STAFF)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending" and resent.json()["attempts"] == 0
    again = client.post(f"/api/v1/webhooks/{webhook_id}/resend", headers=STAFF)
    assert again.status_code == 409, "a pending notice is not sent twice"

    workers.drain(runtime_of(client))

    assert [r.webhook_id for r in registrar.received] == [webhook_id] * 4
    delivery = delivery_of(client, case["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert [a["number"] for a in delivery["history"]] == [1, 2, 3, 1]
    resent_event = next(
        e
        for e in client.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
        if e["type"] == "webhook_resent"
    )
    assert resent_event["actor"].startswith("staff:")
    assert resent_event["data"]["previous_attempts"] == 3


def test_waits_between_attempts_grow_and_are_kept_in_the_database(
    service: ServiceFactory,
) -> None:
    """GIVEN the default schedule (scale 1)
    WHEN the first attempt fails
    THEN the next is due 5 to 10 seconds later, as a job in the database, and is not run
    before then.
    """
    client, registrar = service([500], CESJA_WEBHOOK_RETRY_SCALE="1")
    case = case_in(client, "transfer_ready")
    runtime = runtime_of(client)

    workers.drain(runtime)

    delivery = delivery_of(client, case["id"])
    assert len(registrar.received) == 1 and delivery["status"] == "pending"
    with Session(runtime.engine) as session:
        row = session.get_one(WebhookDeliveryRow, delivery["id"])
        assert row.next_attempt_at is not None and row.last_attempt_at is not None
        wait = row.next_attempt_at - row.last_attempt_at
        assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)
        due = session.exec(
            select(JobRow)
            .where(JobRow.kind == "deliver_webhook")
            .where(col(JobRow.done_at).is_(None))
        ).all()
        assert [(j.ref, j.run_at) for j in due] == [(row.id, row.next_attempt_at)]


def test_a_notice_is_withdrawn_when_the_case_left_transfer_ready(service: ServiceFactory) -> None:
    """GIVEN a transfer_ready case whose notice has not gone out yet
    WHEN the registrar cancels the case before the workers run
    THEN the notice is never sent, it is marked withdrawn, and it cannot be re-sent.
    """
    client, registrar = service([])
    case = case_in(client, "transfer_ready")
    client.post(f"/api/v1/cases/{case['id']}/cancel", json={"reason": "x"}, headers=REGISTRAR)

    workers.drain(runtime_of(client))

    assert registrar.received == []
    delivery = delivery_of(client, case["id"])
    assert delivery["status"] == "withdrawn"
    assert "webhook_withdrawn" in event_types(client, case["id"])
    answer = client.post(f"/api/v1/webhooks/{delivery['id']}/resend", headers=STAFF)
    assert answer.status_code == 409


def test_entering_transfer_ready_again_sends_one_new_notice(service: ServiceFactory) -> None:
    """GIVEN a case that was transfer_ready, fell back to review and was accepted again
    WHEN the workers run
    THEN only the notice of the latest entry is sent; the earlier one is withdrawn.
    """
    client, registrar = service([])
    case = case_in(client, "transfer_ready")
    check = f"/api/v1/cases/{case['id']}/checks/new_registrant.fields_match"
    for decision in ("reject", "accept"):
        answer = client.post(check, json={"decision": decision, "reason": "r"}, headers=STAFF)
        assert answer.status_code == 200
    assert answer.json()["state"] == "transfer_ready"

    workers.drain(runtime_of(client))

    listed = client.get(f"/api/v1/webhooks?case_id={case['id']}", headers=STAFF).json()
    statuses = [item["status"] for item in listed["items"]]  # newest first
    assert statuses == ["delivered", "withdrawn"]
    assert [r.webhook_id for r in registrar.received] == [listed["items"][0]["id"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("get", "/{id}"), ("post", "/{id}/resend")],
)
def test_only_staff_see_and_resend_notices(service: ServiceFactory, method: str, path: str) -> None:
    """GIVEN a dead notice
    WHEN anyone but staff asks for it or re-sends it
    THEN 401 without a valid key, 403 for the registrar and intake.
    """
    client, _ = service([500], CESJA_WEBHOOK_MAX_ATTEMPTS="1")
    case_in(client, "transfer_ready")
    workers.drain(runtime_of(client))
    webhook_id = client.get("/api/v1/webhooks", headers=STAFF).json()["items"][0]["id"]
    url = "/api/v1/webhooks" + path.format(id=webhook_id)
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        (REGISTRAR, 403),
        (INTAKE, 403),
        (STAFF, 200),
    ):
        assert client.request(method, url, headers=headers).status_code == status, headers
