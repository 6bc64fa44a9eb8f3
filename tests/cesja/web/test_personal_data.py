"""Staff and the parties' personal data: lists show a PESEL masked, the case page in full, and
every look at a case's personal data by staff is in its audit trail, which still verifies and
still sends its notice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cesja import workers
from cesja.cli import app as cli
from tests.cesja.flow import both_pages, create_case, runtime_of
from tests.cesja.receiver import SECRET, receiver
from tests.cesja.web.conftest import sign_in
from tests.conftest import REGISTRAR, STAFF

PESEL = "92110804566"  # the new registrant's, in the contract's example


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service on either database, signed in to the back office; `cesja` commands run in
    the test read the same database."""
    from cesja.app import create_app

    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    with TestClient(create_app()) as client:
        assert sign_in(client).status_code == 303
        yield client


def views(client: TestClient, case_id: str) -> list[dict[str, object]]:
    trail = client.get(f"/api/v1/cases/{case_id}/events", headers=REGISTRAR).json()
    return [e for e in trail if e["type"] == "personal_data_viewed"]


def test_lists_mask_a_pesel_and_the_case_page_shows_it(service: TestClient) -> None:
    """GIVEN a case whose new registrant is a person
    WHEN staff list the queue, and search it by the full PESEL a customer reads out
    THEN each list shows the PESEL masked after the date of birth and never in full; the case
    page shows it in full."""
    case = create_case(service)
    for queue in (service.get("/"), service.get("/", params={"q": PESEL})):
        assert queue.status_code == 200
        assert case["id"] in queue.text
        assert "921108*****" in queue.text
        assert PESEL not in queue.text.replace(f'value="{PESEL}"', "")
    assert PESEL in service.get(f"/cases/{case['id']}").text


def test_every_look_at_a_case_by_staff_is_in_its_trail(service: TestClient) -> None:
    """GIVEN a case
    WHEN staff open its page and its form, read its JSON and form with a staff key, and the
    registrar reads both
    THEN the trail holds one `personal_data_viewed` event for each look by staff, naming who
    looked, where and when, and none for the registrar; the case's last change is as it was;
    `cesja audit verify` finds every trail intact."""
    case = create_case(service)
    before = service.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()

    assert service.get(f"/cases/{case['id']}").status_code == 200
    assert service.get(f"/api/v1/cases/{case['id']}", headers=STAFF).status_code == 200
    assert service.get(f"/cases/{case['id']}/form.pdf").status_code == 200
    assert service.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=STAFF).status_code == 200
    assert service.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR)
    after = service.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()

    seen = views(service, case["id"])
    assert [e["data"]["view"] for e in seen] == ["case_page", "case_json", "form_pdf", "form_pdf"]
    assert all(re.fullmatch(r"staff:[0-9a-f]{8}", str(e["actor"])) for e in seen)
    assert all(e["at"] for e in seen)
    assert after["updated_at"] == before["updated_at"]
    page = service.get(f"/cases/{case['id']}").text
    assert "wgląd w dane osobowe" in page
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert service.get("/cases/CS-NONE-NONE").status_code == 404


def test_looks_between_the_pages_do_not_stop_the_notice(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a service that notifies the registrar, and a case staff keep looking at while
    its pages arrive
    WHEN the last page brings it to transfer_ready and the workers run
    THEN the notice is delivered once, signed, and the trail verifies."""
    from cesja.app import create_app

    with receiver([]) as registrar:
        monkeypatch.setenv("CESJA_WEBHOOK_URL", registrar.url)
        monkeypatch.setenv("CESJA_WEBHOOK_SECRET", SECRET)
        with TestClient(create_app()) as client:
            case = create_case(client)
            assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).status_code == 200
            assert both_pages(runtime_of(client), case["id"]) == "transfer_ready"
            assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).status_code == 200

            workers.drain(runtime_of(client))

            assert len(registrar.received) == 1 and registrar.received[0].verified
            assert len(views(client, case["id"])) == 2
            assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 0
