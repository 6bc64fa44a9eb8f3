"""Retention, erasure and access: what was received for a case is destroyed once the case
has been over for CESJA_RETENTION_DAYS, or at once by `cesja erase` (refused while it is
open); the case keeps its decisions and audit trail, which records it, and still verifies.
`cesja export` writes everything held about a case as one archive."""

from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from cesja import workers
from cesja.casework import retention
from cesja.cli import app as cli
from cesja.db.models import CaseRow, PageRow
from cesja.workers.scheduler import schedule_periodic
from tests.cesja.esign_pki import CrlServer, Holder, Pki, make_pki, person, sign
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_mail import form_pdf, message, send
from tests.cesja.sent_pages import upload
from tests.cesja.test_esign import CURRENT, JAN_PESEL, NEW, STRANGER_PESEL, persons_case
from tests.cesja.web.conftest import sign_in
from tests.conftest import INTAKE, REGISTRAR, STAFF

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def serving(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service keeping what ended cases received for 30 days, on the database the test
    is run for, signed in to the back office; `cesja` commands run in the test use the same
    database."""
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_RETENTION_DAYS", "30")
    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    with TestClient(create_app()) as client:
        assert sign_in(client).status_code == 303
        yield client


@pytest.fixture(params=DATABASES)
def service(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service, on either database (see `serving`)."""
    yield from serving(request, monkeypatch)


@dataclass
class Signers:
    """A qualified trust service and two holders of its certificates."""

    pki: Pki
    jan: Holder  # the current registrant of `persons_case`
    stranger: Holder  # a party of no case: Adam Nowak


@pytest.fixture(scope="module")
def signers() -> Iterator[Signers]:
    """The test PKI, its CRLs and its qualified CA's OCSP answers served on this machine."""
    server = CrlServer()
    pki = make_pki(server.base)
    server.publish(pki.crls())
    server.answer_ocsp(pki.qca.ocsp_url, pki.qca, [])
    yield Signers(
        pki,
        jan=person(pki.qca, "Jan", "Kowalski", JAN_PESEL),
        stranger=person(pki.qca, "Adam", "Nowak", STRANGER_PESEL),
    )
    server.close()


@pytest.fixture(params=DATABASES)
def signing_service(
    request: pytest.FixtureRequest,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    signers: Signers,
) -> Iterator[TestClient]:
    """The service (see `serving`) trusting the test PKI's root for electronic signatures."""
    roots = data_dir.parent / "roots.pem"
    roots.write_bytes(signers.pki.roots_pem)
    monkeypatch.setenv("CESJA_TRUST_ROOTS", str(roots))
    yield from serving(request, monkeypatch)


def first_pages(client: TestClient, *cases: dict[str, Any]) -> bytes:
    """One PDF holding page 1 of each case's form, as one fax would bring them."""
    out = pypdf.PdfWriter()
    for case in cases:
        form = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content
        out.add_page(pypdf.PdfReader(io.BytesIO(form)).pages[0])
    buffer = io.BytesIO()
    out.write(buffer)
    return buffer.getvalue()


def received(client: TestClient, pdf: bytes) -> str:
    answer = client.post(
        "/api/v1/scans",
        files={"file": ("fax.pdf", pdf, "application/pdf")},
        data={"channel": "fax", "sender": "+48 22 111 22 33"},
        headers=INTAKE,
    )
    assert answer.status_code == 202, answer.text
    workers.drain(runtime_of(client))
    return str(answer.json()["id"])


def cancel(client: TestClient, case_id: str) -> None:
    answer = client.post(
        f"/api/v1/cases/{case_id}/cancel", json={"reason": "withdrawn"}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text


def images_of(client: TestClient, case_id: str) -> list[str]:
    """Where the back office shows the aligned picture of each page of the case."""
    with Session(runtime_of(client).engine) as session:
        ids = session.exec(select(PageRow.id).where(PageRow.case_id == case_id)).all()
    assert ids, "the case has no page"
    return [f"/evidence/{page_id}/page.jpg" for page_id in ids]


def read_text(client: TestClient, case_id: str) -> set[str]:
    """Every value printed or read on the case's pages, as the database holds them."""
    with Session(runtime_of(client).engine) as session:
        readings = session.exec(select(PageRow.reading).where(PageRow.case_id == case_id)).all()
    return {
        value
        for reading in readings
        for field in reading["fields"].values()
        for value in (field["expected"], field["read"])
        if value
    }


def checks(client: TestClient, case_id: str) -> list[tuple[str, str]]:
    case = client.get(f"/api/v1/cases/{case_id}", headers=REGISTRAR).json()
    return [(c["name"], c["status"]) for c in case["checks"]]


def destroyed_events(client: TestClient, case_id: str) -> list[dict[str, Any]]:
    trail = client.get(f"/api/v1/cases/{case_id}/events", headers=STAFF).json()
    return [e for e in trail if e["type"] == retention.DESTROYED]


def test_what_an_ended_case_received_is_destroyed_after_the_retention(
    service: TestClient,
) -> None:
    """GIVEN one fax holding page 1 of case A and page 1 of case B, both read; A cancelled,
    B still open
    WHEN the retention job runs 31 days after A ended
    THEN A's evidence images and the text read from its page are gone, its trail says what
    was destroyed and why, while its checks read as before and the fax is kept, B's page
    being in it; once B too has ended and 31 days passed, the fax file is gone; a second run
    destroys nothing more, and `cesja audit verify` finds every trail intact."""
    runtime = runtime_of(service)
    a, b = create_case(service), create_case(service)
    scan = received(service, first_pages(service, a, b))
    assert all(service.get(url).status_code == 200 for url in images_of(service, a["id"]))
    cancel(service, a["id"])
    checked = checks(service, a["id"])
    with Session(runtime.engine) as session:
        ended = session.get_one(CaseRow, a["id"]).updated_at
    assert retention.PURGE_ENDED_CASES in schedule_periodic(runtime.engine, runtime.settings)

    assert retention.purge_ended(runtime, now=ended + timedelta(days=29)) == []
    retention.purge_ended(runtime, now=ended + timedelta(days=31))

    for url in images_of(service, a["id"]):
        assert service.get(url).status_code == 404
    assert all(service.get(url).status_code == 200 for url in images_of(service, b["id"]))
    assert checks(service, a["id"]) == checked
    assert read_text(service, a["id"]) == set() and read_text(service, b["id"]) != set()
    page = service.get(f"/cases/{a['id']}")
    assert page.status_code == 200 and "/evidence/" not in page.text
    (event,) = destroyed_events(service, a["id"])
    assert event["actor"] == "system:retention"
    assert event["data"]["reason"] == "retention: 30 days"
    assert event["data"]["scans"] == [] and event["data"]["images"] >= 1
    assert service.get(f"/scans/{scan}/file").status_code == 200  # B needs it still

    cancel(service, b["id"])
    retention.purge_ended(runtime, now=ended + timedelta(days=62))
    assert service.get(f"/scans/{scan}/file").status_code == 404
    assert destroyed_events(service, b["id"])[0]["data"]["scans"] == [scan]
    assert retention.purge_ended(runtime, now=ended + timedelta(days=90)) == []
    assert len(destroyed_events(service, a["id"])) == 1
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_an_e_mail_an_ended_case_received_goes_with_its_files(service: TestClient) -> None:
    """GIVEN a case whose page 1 came by e-mail, verified, then cancelled
    WHEN the retention job runs 31 days later
    THEN the message's bytes are gone from the scan store and its subject, the sender's name
    and the file's name are wiped, while the sender's address and how it was verified stay
    (the page's checks read as before); the trail names the message."""
    runtime = runtime_of(service)
    case = create_case(service)
    mail = message(
        files=(
            ("Kowalski-cesja.pdf", form_pdf(service, case["id"], pages=(0,)), "application/pdf"),
        )
    )
    taken = send(service, mail)
    assert taken.status_code == 202, taken.text
    workers.drain(runtime)
    listed = service.get(f"/messages/{taken.json()['id']}").text
    assert "Podpisany formularz cesji" in listed and "Kowalski-cesja.pdf" in listed
    cancel(service, case["id"])
    checked = checks(service, case["id"])
    with Session(runtime.engine) as session:
        ended = session.get_one(CaseRow, case["id"]).updated_at
    raw = [
        p
        for p in runtime.settings.scan_store_dir.rglob("*")
        if p.is_file() and p.read_bytes() == mail.as_bytes()
    ]

    retention.purge_ended(runtime, now=ended + timedelta(days=31))

    assert raw and not any(p.exists() for p in raw)
    shown = service.get(f"/messages/{taken.json()['id']}")
    assert shown.status_code == 200
    assert "Podpisany formularz cesji" not in shown.text and "Kowalski-cesja.pdf" not in shown.text
    assert "biuro@example.pl" in shown.text
    assert checks(service, case["id"]) == checked
    (event,) = destroyed_events(service, case["id"])
    assert event["data"]["messages"] == [taken.json()["id"]]


def everything_held(client: TestClient) -> list[str]:
    """Every row of every table of the service's database, one line each, named by its table."""
    with runtime_of(client).engine.connect() as connection:
        return [
            f"{table.name}: {tuple(row)}"
            for table in SQLModel.metadata.sorted_tables
            for row in connection.execute(table.select())
        ]


def test_a_signed_file_s_signers_go_with_it(signing_service: TestClient, signers: Signers) -> None:
    """GIVEN a case between two people whose form came back signed electronically: by the
    current registrant, timestamped, and in the new registrant's field by a stranger; the
    case then cancelled
    WHEN the retention job runs 31 days later
    THEN no row of the database names the stranger or holds his PESEL, and the current
    registrant's name and PESEL are left only in the case's own data (the case and its form
    versions); the checks read as before, the current registrant's signature passed as a
    qualified one of his, the stranger's failed as not a party's, without their names; the
    case page shows the validation report without the signers (its certificate's issuer,
    qualified, timestamped), and `cesja audit verify` finds the trail intact."""
    service, runtime = signing_service, runtime_of(signing_service)
    case = persons_case(service)
    form = service.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content
    signed = sign(form, signers.jan, CURRENT, timestamper=signers.pki.timestamper())
    signed = sign(signed, signers.stranger, NEW)
    assert upload(service, signed, name="cesja.pdf", channel="upload").status_code == 202
    workers.drain(runtime)
    said = {
        c["name"]: c
        for c in service.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["checks"]
    }
    current, new = (
        said["current_registrant.signature_present"],
        said["new_registrant.signature_present"],
    )
    assert current["status"] == "passed" and "Jan Kowalski" in current["detail"]
    assert new["status"] == "failed" and "Adam Nowak" in new["detail"]
    held = "\n".join(everything_held(service))
    assert "Nowak" in held and STRANGER_PESEL in held
    cancel(service, case["id"])
    checked = checks(service, case["id"])
    with Session(runtime.engine) as session:
        ended = session.get_one(CaseRow, case["id"]).updated_at

    retention.purge_ended(runtime, now=ended + timedelta(days=31))

    held_now = everything_held(service)
    assert not [line for line in held_now if "Nowak" in line or STRANGER_PESEL in line]
    naming_jan = [line for line in held_now if "Kowalski" in line or JAN_PESEL in line]
    assert naming_jan and {line.split(":")[0] for line in naming_jan} <= {"cases", "form_versions"}
    assert checks(service, case["id"]) == checked
    said = {
        c["name"]: c
        for c in service.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["checks"]
    }
    assert said["current_registrant.signature_present"]["detail"].startswith(
        "Signed electronically by [erased] with a qualified electronic signature"
    )
    assert said["new_registrant.signature_present"]["detail"].startswith(
        "Signed by [erased], [erased]: not a party"
    )
    page = html.unescape(service.get(f"/cases/{case['id']}").text)
    assert "PNOPL-" not in page and "Nowak" not in page
    # The current registrant's signature's report, found by its certificate.
    der = signers.jan.cert.public_bytes(serialization.Encoding.DER)
    at = page.index(hashlib.sha256(der).hexdigest())
    report = page[page.rindex("<table", 0, at) : page.index("</table>", at)]
    assert "usunięto z tym, co otrzymano" in report
    assert "Cesja Test Qualified CA" in report and "kwalifikowany" in report
    assert "Znacznik czasu</th><td>20" in report
    assert "Podpisane elektronicznie przez [dane usunięte] kwalifikowanym podpisem" in page
    verified = CliRunner().invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_the_audit_trail_holds_no_personal_data_of_its_own(service: TestClient) -> None:
    """GIVEN a case, then its new registrant's e-mail address corrected (a new form version)
    WHEN its trail is read THEN no party's name, identifier, address or phone is in it; each
    value is a keyed hash, the same for a value that stayed and another for the one changed."""
    case = create_case(service)
    corrected = {**case["new_registrant"], "email": "nowy.adres@example.com"}
    answer = service.post(
        f"/api/v1/cases/{case['id']}/reissue", json={"new_registrant": corrected}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text

    trail = service.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()

    said = json.dumps(trail, ensure_ascii=False)
    for party in (case["current_registrant"], corrected):
        for value in (party["name"], party["email"], party.get("pesel"), party.get("nip")):
            assert not value or value not in said, value
        assert party["address"]["street"] not in said
    (reissued,) = [e for e in trail if e["type"] == "form_reissued"]
    before, after = reissued["data"]["before"], reissued["data"]["after"]
    assert after["new_registrant"]["kind"] == "person"
    assert after["new_registrant"]["name"].startswith("hmac-sha256:")
    assert after["new_registrant"]["name"] == before["new_registrant"]["name"]
    assert after["new_registrant"]["email"] != before["new_registrant"]["email"]


def test_erasure_is_refused_while_the_case_is_open(service: TestClient) -> None:
    """GIVEN a case whose page was received
    WHEN the operator runs `cesja erase` for it while it is open, then again once cancelled
    THEN the first is refused saying the case is open and nothing is destroyed; the second
    destroys the file and the images at once, whatever the retention, and the trail records
    the reason given."""
    case = create_case(service)
    scan = received(service, first_pages(service, case))
    runner = CliRunner()
    erase = ["erase", "--case", case["id"], "--reason", "RODO art. 17, wniosek z 1.12.2026"]

    refused = runner.invoke(cli, erase)
    assert refused.exit_code == 1
    assert "still open" in refused.output
    assert service.get(f"/scans/{scan}/file").status_code == 200
    assert destroyed_events(service, case["id"]) == []

    cancel(service, case["id"])
    done = runner.invoke(cli, erase)

    assert done.exit_code == 0, done.output
    assert service.get(f"/scans/{scan}/file").status_code == 404
    assert all(service.get(url).status_code == 404 for url in images_of(service, case["id"]))
    (event,) = destroyed_events(service, case["id"])
    assert event["data"]["reason"] == "erasure: RODO art. 17, wniosek z 1.12.2026"
    assert event["actor"] == "operator:cli"
    assert runner.invoke(cli, erase).exit_code == 0  # once destroyed, nothing more to do


def test_an_export_holds_everything_about_the_case(service: TestClient, tmp_path: Path) -> None:
    """GIVEN a case whose page arrived by fax
    WHEN the operator runs `cesja export` for it, then again to the same file
    THEN the archive holds the case's data, its audit trail (which verifies and records the
    export), the page with its sender, the fax as received and the evidence images, and what
    it writes itself names no customer link's token; the second run refuses to overwrite it."""
    case = create_case(service)
    pdf = first_pages(service, case)
    scan = received(service, pdf)
    out = tmp_path / "export.zip"

    done = CliRunner().invoke(cli, ["export", "--case", case["id"], "--out", str(out)])
    again = CliRunner().invoke(cli, ["export", "--case", case["id"], "--out", str(out)])

    assert done.exit_code == 0, done.output
    assert again.exit_code == 1 and "exists already" in again.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("case.json"))
        trail = json.loads(archive.read("events.json"))
        pages = json.loads(archive.read("pages.json"))
        assert archive.read(f"scans/{scan}.pdf") == pdf
        said = "".join(archive.read(n).decode() for n in names if n.endswith(".json"))
    assert data["new_registrant"]["pesel"] == "92110804566"
    assert trail[0]["type"] == "case_created"
    assert trail[-1]["type"] == "data_exported" and trail[-1]["actor"] == "operator:cli"
    assert pages[0]["sender"] == "+48 22 111 22 33"
    assert any(name.startswith("evidence/") for name in names)
    tokens = [case["customer_url"], *case["customer_urls"].values()]
    assert all(url.rsplit("/", 1)[1] not in said for url in tokens)
    assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 0
