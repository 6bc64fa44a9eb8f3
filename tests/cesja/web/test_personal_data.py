"""Staff and the parties' personal data: lists show a PESEL masked, the case page in full, and
every look at a case's personal data by staff is in its audit trail, which still verifies and
still sends its notice."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from cesja import workers
from cesja.cli import app as cli
from cesja.db.models import PageRow, utcnow
from cesja.web import back_office
from tests.cesja.flow import both_pages, create_case, runtime_of
from tests.cesja.receiver import SECRET, receiver
from tests.cesja.sent_mail import form_pdf, message, send
from tests.cesja.sent_pages import upload
from tests.cesja.test_staff_accounts import PASSWORD, staff_command
from tests.cesja.test_staff_accounts import sign_in as sign_in_as
from tests.cesja.web.conftest import sign_in
from tests.conftest import INTAKE, REGISTRAR, STAFF

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


def test_a_look_at_a_case_s_images_files_and_e_mails_is_in_its_trail_once_a_look(
    service: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a case whose page 1 came by fax and page 2 by e-mail, and Anna's staff account
    WHEN a member of staff opens the case page and every image it shows; then Anna, signed in
    with her password, opens an image of page 1 without the case page, then every other
    image of the case, then one again eleven minutes later; downloads the fax; opens the
    e-mail's page; and the registrar and the intake read the case, its scans and the e-mail
    THEN the first look is one `case_page` event, its images adding none; Anna's are one
    `page_images` (naming the scan and page), one more eleven minutes later, a `scan_file`
    for the download and a `message` for the e-mail, each under `staff:@anna`; the machines'
    reads add none; the case page lists them, and `cesja audit verify` finds every trail
    intact."""
    case = create_case(service)
    fax = upload(service, form_pdf(service, case["id"], pages=(0,)), channel="fax")
    mail = message(
        files=(("cesja.pdf", form_pdf(service, case["id"], pages=(1,)), "application/pdf"),)
    )
    taken = send(service, mail)
    assert fax.status_code == 202 and taken.status_code == 202, taken.text
    workers.drain(runtime_of(service))
    assert staff_command("add", "anna", "--name", "Anna Nowak", password=PASSWORD).returncode == 0

    page = service.get(f"/cases/{case['id']}").text
    images = sorted(set(re.findall(r"/evidence/[0-9]+/[a-z_/]+\.(?:jpg|png)", page)))
    assert len(images) > 3, images
    assert all(service.get(image).status_code == 200 for image in images)
    assert [e["data"]["view"] for e in views(service, case["id"])] == ["case_page"]

    service.cookies.clear()
    assert sign_in_as(service, "anna", PASSWORD) == 303
    with Session(runtime_of(service).engine) as session:
        (fax_page,) = session.exec(select(PageRow.id).where(PageRow.scan_id == fax.json()["id"]))
    (first,) = [i for i in images if i.startswith(f"/evidence/{fax_page}/page.")]
    assert service.get(first).status_code == 200
    assert all(service.get(image).status_code == 200 for image in images)
    later = utcnow() + timedelta(minutes=11)
    monkeypatch.setattr(back_office, "utcnow", lambda: later)
    assert service.get(images[0]).status_code == 200
    assert service.get(f"/scans/{fax.json()['id']}/file").status_code == 200
    assert service.get(f"/messages/{taken.json()['id']}").status_code == 200
    for reader in (REGISTRAR, INTAKE):
        service.get(f"/api/v1/cases/{case['id']}", headers=reader)
        service.get(f"/api/v1/scans/{fax.json()['id']}", headers=reader)
        service.get(f"/api/v1/messages/{taken.json()['id']}", headers=reader)

    anna = [e for e in views(service, case["id"]) if e["actor"] == "staff:@anna"]
    assert [e["data"]["view"] for e in anna] == [
        "page_images",
        "page_images",
        "scan_file",
        "message",
    ]
    assert anna[0]["data"]["scan_id"] == fax.json()["id"] and anna[0]["data"]["page_index"] == 0
    assert anna[2]["data"] == {"view": "scan_file", "scan_id": fax.json()["id"]}
    assert anna[3]["data"] == {"view": "message", "message_id": taken.json()["id"]}
    assert len(views(service, case["id"])) == 5
    shown = html.unescape(service.get(f"/cases/{case['id']}").text)
    assert "obrazy stron sprawy" in shown and "pobrany plik skanu" in shown
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


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
