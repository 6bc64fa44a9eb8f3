"""CESJA_REQUIRE_ORIGINAL: faxed pages clear their checks only provisionally; the transfer
waits for the originals by post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cesja.flow import PARTIES, add_page, create_case, event_types, runtime_of
from tests.conftest import STAFF


@pytest.fixture
def client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_REQUIRE_ORIGINAL", "true")
    with TestClient(create_app()) as c:
        yield c


def test_a_faxed_case_waits_for_the_originals_by_post(client: TestClient) -> None:
    """GIVEN originals are required
    WHEN both parties' pages arrive by fax, all of them clean
    THEN the case stays awaiting_documents with every check passed but provisional, and no
    notice goes out; once the originals arrive by post it is transfer_ready.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    for party in PARTIES:
        assert add_page(runtime, case["id"], party, channel="fax") == "awaiting_documents"

    faxed = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    assert faxed["transfer_allowed"] is False
    assert {(c["status"], c["provisional"]) for c in faxed["checks"]} == {("passed", True)}
    assert all("the original by post is awaited" in c["detail"] for c in faxed["checks"])
    assert "webhook_skipped" not in event_types(client, case["id"])

    assert add_page(runtime, case["id"], "current_registrant", channel="post") == (
        "awaiting_documents"
    )
    assert add_page(runtime, case["id"], "new_registrant", channel="post") == "transfer_ready"

    posted = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    assert posted["transfer_allowed"] is True
    assert {(c["status"], c["provisional"]) for c in posted["checks"]} == {("passed", False)}
    # A faxed copy sent after the original does not make it provisional again.
    assert add_page(runtime, case["id"], "new_registrant", channel="fax") == "transfer_ready"


def test_without_the_setting_a_fax_is_enough(data_dir: Path) -> None:
    """GIVEN originals are not required (the default)
    WHEN both pages arrive by fax
    THEN the case is transfer_ready.
    """
    from cesja.app import create_app

    with TestClient(create_app()) as client:
        case = create_case(client)
        states = [add_page(runtime_of(client), case["id"], p, channel="fax") for p in PARTIES]
    assert states == ["awaiting_documents", "transfer_ready"]
