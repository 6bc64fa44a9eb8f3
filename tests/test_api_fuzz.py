"""The JSON API under generated input (schemathesis against the app in-process): whatever a
caller sends, the service answers without a server error, and what it answers is what its
OpenAPI document says it answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, select

from cesja.db.models import WebhookDeliveryRow
from tests.cesja.flow import case_in, create_case, runtime_of
from tests.conftest import INTAKE, REGISTRAR, STAFF
from tests.ocr import samples as s

EXAMPLES = 50
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def service(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service with a webhook configured (never reached: no worker runs here)."""
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_WEBHOOK_URL", "http://127.0.0.1:9/never-called")
    monkeypatch.setenv("CESJA_WEBHOOK_SECRET", "whsec_" + "A" * 43 + "=")
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def existing(service: TestClient, tmp_path: Path) -> dict[str, str]:
    """Real ids for the path parameters: a live case, a scan, and a pending notice."""
    live = create_case(service)
    case_in(service, "transfer_ready")
    with Session(runtime_of(service).engine) as session:
        delivery = session.exec(select(WebhookDeliveryRow)).one()
    png = s.save_tiff(tmp_path / "fax.tiff", [s.fax_page(s.FAX_STANDARD_LINES)])
    scan = service.post(
        "/api/v1/scans",
        files={"file": ("fax.tiff", png.read_bytes())},
        data={"channel": "fax"},
        headers=INTAKE,
    )
    assert scan.status_code == 202, scan.text
    return {"case_id": live["id"], "scan_id": scan.json()["id"], "delivery_id": delivery.id}


@pytest.fixture
def operations(service: TestClient) -> list[APIOperation]:
    """The JSON operations of /api/v1, as the app's own OpenAPI document describes them."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", service.app)
    chosen = (
        loaded.include(path_regex=r"^/api/v1/")
        .exclude(method="POST", path="/api/v1/scans")  # multipart uploads: test_scans_api.py
        .exclude(method="POST", path="/api/v1/messages")  # raw e-mail: test_messages_api.py
        .exclude(path="/api/v1/cases/{case_id}/form.pdf")  # a PDF, not JSON
    )
    found = []
    for result in chosen.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"the OpenAPI document is not valid: {result.err()}")
        found.append(result.ok())
    return found


def caller_for(path: str) -> dict[str, str]:
    """Staff may do everything but confirm a transfer, which is the registrar's alone."""
    return REGISTRAR if path.endswith("/transfer-completed") else STAFF


def test_json_api_answers_generated_requests_as_documented(
    operations: list[APIOperation], existing: dict[str, str]
) -> None:
    """GIVEN the JSON endpoints of cases, back-office actions, scans and webhooks, called with
    the key of a role allowed to call each, and real ids in the path
    WHEN each is sent requests generated from the OpenAPI document, valid and invalid
    THEN no answer is a server error, and each answer's status, content type and body are
    ones the document declares for that operation.
    """
    failures: list[str] = []
    for operation in operations:
        fixed = {k: v for k, v in existing.items() if f"{{{k}}}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def answers_as_documented(case: Any) -> None:
                case.call_and_validate(headers=caller_for(case.path), checks=CHECKS)

            try:
                answers_as_documented()
            except (Exception, BaseExceptionGroup) as failure:
                failures.append(f"{operation.label} ({mode.value}):\n{failure}")

    assert len(operations) >= 12, [op.label for op in operations]
    assert not failures, "\n\n".join(failures)


def test_what_the_framework_refuses_is_answered_like_every_other_api_error(
    service: TestClient, existing: dict[str, str]
) -> None:
    """GIVEN the API
    WHEN a caller sends a body that is not text at all, asks for a path that does not exist,
    or uses a method a path does not have
    THEN each answer is the API's error body (a code and a message), as documented, and not
    the framework's own shape.
    """
    garbled = service.post(
        f"/api/v1/cases/{existing['case_id']}/cancel",
        content=b"\xff\xfe\x00reason",
        headers={**STAFF, "Content-Type": "application/json"},
    )
    unknown = service.get("/api/v1/nothing-here", headers=STAFF)
    wrong_method = service.delete(f"/api/v1/cases/{existing['case_id']}", headers=STAFF)

    assert (garbled.status_code, garbled.json()["error"]) == (400, "unreadable_body")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")
    assert "GET" in wrong_method.headers["allow"]
    for answer in (garbled, unknown, wrong_method):
        assert set(answer.json()) == {"error", "message"} and answer.json()["message"]
    documented = service.get("/openapi.json").json()
    cancel = documented["paths"]["/api/v1/cases/{case_id}/cancel"]["post"]["responses"]
    assert cancel["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
