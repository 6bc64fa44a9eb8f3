"""POST and GET /api/v1/scans as a fax gateway or scanner station uses them: every accepted
type, the same file twice, every refusal with what the sender is told and nothing kept, the
roles, and what each page of a mixed batch turned out to be once the workers have read it."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlmodel import Session, func, select

from cesja import workers
from cesja.db.models import JobRow, PageRow, ScanRow, utcnow
from cesja.intake.processing import READ_PAGE, page_ref
from cesja.runtime import Runtime
from documents import page_code
from documents.simulate import (
    blank_page,
    foreign_page,
    paste_qr,
    rotate,
    to_pdf,
    with_one_character_changed,
)
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import clean_scan, form_of, signed_form, upload
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF
from tests.ocr import samples as s

ACCEPTED_TYPES = ("PDF", "TIFF", "PNG", "JPEG")


def make_client(monkeypatch: pytest.MonkeyPatch, **env: str) -> TestClient:
    """The service as configured by `env` (CESJA_ names without the prefix), workers off."""
    from cesja.app import create_app

    for name, value in env.items():
        monkeypatch.setenv(f"CESJA_{name}", value)
    return TestClient(create_app())


def stored_files(runtime: Runtime) -> list[Path]:
    """Every file in the scan store, its scratch space included."""
    return sorted(p for p in runtime.store.root.rglob("*") if p.is_file())


def rows(runtime: Runtime) -> tuple[int, int]:
    """How many scans and page jobs the database holds."""
    with Session(runtime.engine) as session:
        scans = session.exec(select(func.count()).select_from(ScanRow)).one()
        page_jobs = session.exec(
            select(func.count()).select_from(JobRow).where(JobRow.kind == READ_PAGE)
        ).one()
    return scans, page_jobs


def assert_nothing_kept(runtime: Runtime) -> None:
    assert stored_files(runtime) == []
    assert rows(runtime) == (0, 0)


def read_all(client: TestClient) -> None:
    workers.drain(runtime_of(client))


def scan_status(client: TestClient, scan_id: str, headers: dict[str, str] = INTAKE) -> Any:
    answer = client.get(f"/api/v1/scans/{scan_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- files of every accepted kind ---------------------------------------------------------------


def _image_bytes(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _tiff_bytes(pages: list[Image.Image], **options: Any) -> bytes:
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], **options)
    return out.getvalue()


def _vector_letter(pages: int) -> bytes:
    """A born-digital letter: pages of text drawn as vectors, no image, no code."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    for number in range(1, pages + 1):
        canvas.setFont("Helvetica", 14)
        for line in range(30):
            canvas.drawString(72, 760 - 22 * line, f"Strona {number}, wiersz {line + 1}: tekst.")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One file of each kind the contract accepts, none of them a page of any case."""
    folder = tmp_path_factory.mktemp("uploads")
    standard = s.fax_page(s.FAX_STANDARD_LINES)
    fine = s.fax_page(s.FAX_FINE_LINES)
    grey_300 = s.page_image(s.a4_pixels(300))
    colour_200 = s.page_image(s.a4_pixels(200), mode="RGB", colour=True)
    scanned = s.save_scanned_pdf(
        folder / "scanned.pdf", [s.jpeg_page(grey_300), s.jpeg_page(colour_200)]
    )
    return {
        "scanned-pdf-2-pages.pdf": scanned.read_bytes(),
        "vector-pdf-3-pages.pdf": _vector_letter(3),
        "fax-fine-g4-dpi-2-pages.tiff": _tiff_bytes(
            [fine, fine], compression="group4", dpi=(204, 196)
        ),
        "fax-fine-g4-no-dpi.tiff": _tiff_bytes([fine], compression="group4"),
        "fax-standard-g3-dpi.tiff": _tiff_bytes([standard], compression="group3", dpi=(204, 98)),
        "fax-standard-g3-no-dpi-3-pages.tiff": _tiff_bytes([standard] * 3, compression="group3"),
        "scan-300dpi-grey.png": _image_bytes(grey_300, "PNG", dpi=(300, 300)),
        "scan-200dpi-colour.jpg": _image_bytes(colour_200, "JPEG", quality=85, dpi=(200, 200)),
    }


@pytest.mark.parametrize(
    ("name", "media_type", "page_count"),
    [
        ("scanned-pdf-2-pages.pdf", "application/pdf", 2),
        ("vector-pdf-3-pages.pdf", "application/pdf", 3),
        ("fax-fine-g4-dpi-2-pages.tiff", "image/tiff", 2),
        ("fax-fine-g4-no-dpi.tiff", "image/tiff", 1),
        ("fax-standard-g3-dpi.tiff", "image/tiff", 1),
        ("fax-standard-g3-no-dpi-3-pages.tiff", "image/tiff", 3),
        ("scan-300dpi-grey.png", "image/png", 1),
        ("scan-200dpi-colour.jpg", "image/jpeg", 1),
    ],
)
def test_each_supported_type_is_accepted_and_read_page_by_page(
    client: TestClient, sample_files: dict[str, bytes], name: str, media_type: str, page_count: int
) -> None:
    """GIVEN a file of a kind the contract accepts, holding pages of no case
    WHEN it is uploaded, and the workers have read it
    THEN the answer is 202 with its id, its sha256 and status queued; the scan then ends done
    with one page per page of the file, each unmatched (no case's code on it).
    """
    data = sample_files[name]
    answer = upload(client, data, name=name, channel="fax", sender="+48 22 111 22 33")

    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["id"].startswith("SC-")
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["status"] == "queued"
    assert body["pages"] == []
    assert (body["media_type"], body["channel"], body["sender"]) == (
        media_type,
        "fax",
        "+48 22 111 22 33",
    )

    read_all(client)
    scan = scan_status(client, body["id"])
    assert scan["status"] == "done", scan
    assert [p["index"] for p in scan["pages"]] == list(range(page_count))
    assert {p["outcome"] for p in scan["pages"]} == {"unmatched"}


def test_vector_pdf_of_the_form_is_routed_to_its_case(client: TestClient) -> None:
    """GIVEN the case's own form PDF, sent back unprinted (printed to PDF, not to paper)
    WHEN it is uploaded and read
    THEN both its pages are the case's, one per party, and nothing was signed on them.
    """
    case = create_case(client)
    form_pdf = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content

    answer = upload(client, form_pdf, name="cesja.pdf", channel="email")
    assert answer.status_code == 202, answer.text
    assert answer.json()["media_type"] == "application/pdf"
    read_all(client)

    pages = scan_status(client, answer.json()["id"])["pages"]
    assert [(p["case_id"], p["party"], p["form_version"], p["outcome"]) for p in pages] == [
        (case["id"], "current_registrant", 1, "matched"),
        (case["id"], "new_registrant", 1, "matched"),
    ]
    checks = {
        c["name"]: c["status"]
        for c in client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["checks"]
    }
    assert checks["current_registrant.page_received"] == "passed"
    assert checks["current_registrant.signature_present"] == "failed"
    assert checks["new_registrant.signature_present"] == "failed"


def test_same_bytes_again_are_the_same_scan_and_read_once(
    client: TestClient, sample_files: dict[str, bytes]
) -> None:
    """GIVEN a three-page fax that was uploaded once
    WHEN the gateway sends the very same bytes again, before and after it was read
    THEN each answer is 200 with the first scan's id; there is one scan, one job a page, and
    its pages are read once.
    """
    runtime = runtime_of(client)
    data = sample_files["fax-standard-g3-no-dpi-3-pages.tiff"]
    first = upload(client, data, name="fax-0001.tiff", channel="fax")
    assert first.status_code == 202, first.text

    again = upload(client, data, name="fax-0001-resent.tiff", channel="fax")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "queued"

    read_all(client)
    after_reading = upload(client, data, name="fax-0001.tiff", channel="fax")
    assert after_reading.status_code == 200, after_reading.text
    assert after_reading.json()["id"] == first.json()["id"]
    assert after_reading.json()["status"] == "done"
    assert [p["index"] for p in after_reading.json()["pages"]] == [0, 1, 2]

    assert rows(runtime) == (1, 3)
    assert workers.drain(runtime) == 0, "nothing is left to read"
    with Session(runtime.engine) as session:
        pages = session.exec(select(func.count()).select_from(PageRow)).one()
    assert pages == 3
    assert len(stored_files(runtime)) == 1


def test_a_page_whose_reading_ends_its_worker_every_time_is_unreadable_with_the_reason(
    client: TestClient, sample_files: dict[str, bytes]
) -> None:
    """GIVEN a three-page fax whose second page ended the worker process reading it as many
    times as a page may be tried (what a crash in native code leaves behind: its job leased,
    the lease run out, no failure recorded), and another upload behind it
    WHEN a worker next looks for work
    THEN it does not read that page again: the page is unreadable and says why, the other
    pages are read, the scan is failed naming the page; the other upload is read.
    """
    runtime = runtime_of(client)
    crashing = upload(client, sample_files["fax-standard-g3-no-dpi-3-pages.tiff"], channel="fax")
    other = upload(client, sample_files["scan-300dpi-grey.png"], channel="post")
    assert crashing.status_code == other.status_code == 202
    tries = workers.job_kinds(runtime.settings)[READ_PAGE].max_attempts
    with Session(runtime.engine) as session:
        job = session.exec(
            select(JobRow).where(JobRow.ref == page_ref(crashing.json()["id"], 1))
        ).one()
        job.attempts = tries
        job.leased_by = "another-host:4242"
        job.leased_until = utcnow() - timedelta(seconds=1)
        session.add(job)
        session.commit()

    read_all(client)

    failed = scan_status(client, crashing.json()["id"])
    assert failed["status"] == "failed"
    assert "1 of 3 page(s) could not be read" in failed["error"], failed["error"]
    assert (
        f"page 2: reading it was given up: the worker running it stopped {tries} time(s)"
        in (failed["error"])
    )
    assert "a person should look at it" in failed["error"]
    assert [p["outcome"] for p in failed["pages"]] == ["unmatched", "unreadable", "unmatched"]
    assert scan_status(client, other.json()["id"])["status"] == "done"
    assert workers.drain(runtime) == 0, "the given-up page is not tried again"


def test_type_is_judged_by_content_not_by_name(client: TestClient, tmp_path: Path) -> None:
    """GIVEN a PDF saved under a name ending in .png and sent as image/png
    WHEN it is uploaded
    THEN it is accepted as the PDF it is.
    """
    pdf = s.save_pdf_pages(tmp_path / "scan.png", 1).read_bytes()
    answer = client.post(
        "/api/v1/scans",
        files={"file": ("scan.png", pdf, "image/png")},
        data={"channel": "upload"},
        headers=INTAKE,
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["media_type"] == "application/pdf"


def _zip_holding_a_pdf() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("scan.pdf", b"%PDF-1.4\n%%EOF\n")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("wniosek.docx", None, "ZIP archive"),
        ("scans.zip", _zip_holding_a_pdf(), "ZIP archive"),
        ("scan.gif", b"GIF89a" + b"\x00" * 64, "GIF"),
        ("scan.pdf", b"<!DOCTYPE html><html><body>%PDF-1.4</body></html>", "web page"),
        ("scan.pdf", b"", "empty"),
    ],
    ids=["docx", "zip-holding-a-pdf", "gif", "html-named-pdf", "empty"],
)
def test_unsupported_file_is_refused_with_what_is_accepted_and_not_kept(
    client: TestClient, tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    """GIVEN a file that is not a PDF, TIFF, PNG or JPEG by its content
    WHEN it is uploaded
    THEN the answer is 415 saying what it is and what is accepted, and neither the scan store
    nor the database keeps anything of it.
    """
    data = content if content is not None else s.save_docx(tmp_path / name).read_bytes()
    answer = upload(client, data, name=name)

    assert answer.status_code == 415, answer.text
    body = answer.json()
    assert body["error"] == "unsupported_type"
    assert says in body["message"]
    assert all(kind in body["message"] for kind in ACCEPTED_TYPES), body["message"]
    assert_nothing_kept(runtime_of(client))


def _noise_png(size_bytes: int) -> bytes:
    """A PNG of random grey pixels, which do not compress: about `size_bytes` long."""
    side = int(size_bytes**0.5)
    pixels = np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8)
    return _image_bytes(Image.fromarray(pixels), "PNG", dpi=(200, 200))


def _chunked(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


def _multipart(data: bytes, boundary: str = "cesja-boundary") -> tuple[bytes, str]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="channel"\r\n\r\nfax\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="fax.tiff"\r\n'
        "Content-Type: image/tiff\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


@pytest.fixture
def one_mb_client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with make_client(monkeypatch, MAX_UPLOAD_MB="1") as c:
        yield c


def test_upload_over_the_size_limit_is_refused_and_not_kept(one_mb_client: TestClient) -> None:
    """GIVEN CESJA_MAX_UPLOAD_MB=1
    WHEN files just over 1 MB and of 3 MB are uploaded, with and without a Content-Length
    (a gateway streaming the body in chunks)
    THEN each is answered 413 naming the limit, nothing is kept; a file under the limit is
    still accepted.
    """
    client, runtime = one_mb_client, runtime_of(one_mb_client)
    just_over = b"II*\x00" + b"\x00" * (1024 * 1024)
    three_mb = b"II*\x00" + b"\x00" * (3 * 1024 * 1024)

    refusals = [
        upload(client, just_over, name="fax.tiff", channel="fax"),
        upload(client, three_mb, name="fax.tiff", channel="fax"),
    ]
    body, boundary = _multipart(three_mb)
    refusals.append(
        client.post(
            "/api/v1/scans",
            content=_chunked(body),
            headers={**INTAKE, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    )
    for answer in refusals:
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"] == "too_large"
        assert "limit of 1 MB" in answer.json()["message"]
    assert_nothing_kept(runtime)

    under = _noise_png(900 * 1024)
    assert 850 * 1024 < len(under) < 1024 * 1024
    assert upload(client, under, name="scan.png").status_code == 202
    assert rows(runtime) == (1, 1)


@pytest.fixture
def three_page_client(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with make_client(monkeypatch, MAX_PAGES="3") as c:
        yield c


@pytest.mark.parametrize(
    ("what", "code", "says"),
    [
        ("truncated-pdf", "corrupt_file", "truncated or damaged"),
        ("truncated-png", "corrupt_file", ""),
        ("password-pdf", "encrypted_file", "password"),
        ("four-page-pdf", "too_many_pages", "at most 3"),
        ("four-page-fax", "too_many_pages", "at most 3"),
    ],
)
def test_unreadable_file_is_refused_with_the_reason_and_not_kept(
    three_page_client: TestClient, tmp_path: Path, what: str, code: str, says: str
) -> None:
    """GIVEN CESJA_MAX_PAGES=3 and a file of an accepted type that cannot be read: cut short,
    protected by a password, or longer than the page limit
    WHEN it is uploaded
    THEN the answer is 422 with the reason, and nothing of it is kept.
    """
    three_pages = s.save_pdf_pages(tmp_path / "three.pdf", 3)
    png = _image_bytes(s.page_image(s.a4_pixels(150)), "PNG")
    fax_page = s.fax_page(s.FAX_STANDARD_LINES)
    data = {
        "truncated-pdf": lambda: three_pages.read_bytes()[: three_pages.stat().st_size // 2],
        "truncated-png": lambda: png[: len(png) * 2 // 3],
        "password-pdf": lambda: s.save_pdf_encrypted(
            tmp_path / "locked.pdf", three_pages, "tajne"
        ).read_bytes(),
        "four-page-pdf": lambda: s.save_pdf_pages(tmp_path / "four.pdf", 4).read_bytes(),
        "four-page-fax": lambda: _tiff_bytes([fax_page] * 4, compression="group4"),
    }[what]()

    answer = upload(three_page_client, data, name="scan")

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == code
    assert says in answer.json()["message"]
    assert answer.json()["message"]
    assert_nothing_kept(runtime_of(three_page_client))


# --- roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (INTAKE, 202),
        (STAFF, 202),
        (REGISTRAR, 403),
        ({}, 401),
        ({"Authorization": "Bearer not-a-key"}, 401),
    ],
    ids=["intake", "staff", "registrar", "no-key", "unknown-key"],
)
def test_who_may_upload(
    client: TestClient, sample_files: dict[str, bytes], headers: dict[str, str], status: int
) -> None:
    """GIVEN a scan and a caller
    WHEN the caller uploads it
    THEN intake and staff may; the registrar is forbidden (403), a caller without a known key
    is not authenticated (401), and a refused upload leaves nothing behind.
    """
    answer = upload(client, sample_files["scan-300dpi-grey.png"], headers=headers)
    assert answer.status_code == status, answer.text
    if status != 202:
        assert answer.json()["error"] in ("forbidden", "unauthenticated")
        assert_nothing_kept(runtime_of(client))


def test_who_may_read_a_scan(client: TestClient, sample_files: dict[str, bytes]) -> None:
    """GIVEN a received scan
    WHEN each role, and a caller without a key, asks for it
    THEN intake and staff see it; the registrar gets 403, no key 401; an unknown id is 404.
    """
    scan_id = upload(client, sample_files["scan-300dpi-grey.png"]).json()["id"]

    assert client.get(f"/api/v1/scans/{scan_id}", headers=INTAKE).json()["id"] == scan_id
    assert client.get(f"/api/v1/scans/{scan_id}", headers=STAFF).json()["id"] == scan_id
    assert client.get(f"/api/v1/scans/{scan_id}", headers=REGISTRAR).status_code == 403
    assert client.get(f"/api/v1/scans/{scan_id}").status_code == 401
    missing = client.get("/api/v1/scans/SC-0000000000000000", headers=STAFF)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


# --- what each page turned out to be ------------------------------------------------------------


def _page_results(scan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(p["case_id"], p["party"], p["form_version"], p["outcome"]) for p in scan["pages"]]


def test_batch_of_mixed_pages_is_split_and_routed_page_by_page(client: TestClient) -> None:
    """GIVEN a scanner batch (one PDF) holding, in this order: case B's new registrant's
    page, a blank sheet, case A's current registrant's page fed upside down, a letter of no
    case with a QR code of its own, and case A's new registrant's page
    WHEN it is uploaded and read
    THEN each page is reported with its case, party, form version and outcome; case A, whose
    two signed pages both came, is ready for the transfer, and case B still waits.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case_a = create_case(client)
    case_b = create_case(client, {**CASE_BODY, "domains": ["sklep-rowerowy.pl"]})
    form_a, form_b = form_of(runtime, case_a["id"]), form_of(runtime, case_b["id"])
    rng = np.random.default_rng(11)
    batch = [
        clean_scan(signed_form(form_b, "new_registrant", key, rng), rng, dpi=200),
        blank_page(rng, dpi=200),
        rotate(clean_scan(signed_form(form_a, "current_registrant", key, rng), rng), 2),
        foreign_page(rng, dpi=200, qr_text="https://example.com/faktura/48213"),
        clean_scan(signed_form(form_a, "new_registrant", key, rng), rng),
    ]

    answer = upload(client, to_pdf(batch), name="batch-0007.pdf", channel="post")
    assert answer.status_code == 202, answer.text
    read_all(client)

    scan = scan_status(client, answer.json()["id"], headers=STAFF)
    assert scan["status"] == "done"
    assert _page_results(scan) == [
        (case_b["id"], "new_registrant", 1, "matched"),
        (None, None, None, "blank"),
        (case_a["id"], "current_registrant", 1, "matched"),
        (None, None, None, "unmatched"),
        (case_a["id"], "new_registrant", 1, "matched"),
    ]
    assert [p["index"] for p in scan["pages"]] == [0, 1, 2, 3, 4]
    a = client.get(f"/api/v1/cases/{case_a['id']}", headers=STAFF).json()
    b = client.get(f"/api/v1/cases/{case_b['id']}", headers=STAFF).json()
    assert (a["state"], a["transfer_allowed"]) == ("transfer_ready", True), a["checks"]
    assert (b["state"], b["transfer_allowed"]) == ("awaiting_documents", False), b["checks"]


def test_page_of_an_older_form_version_is_stale_after_a_reissue(
    client: TestClient, case_body: dict[str, Any]
) -> None:
    """GIVEN a new registrant's page signed on form version 1
    WHEN the case is reissued (version 2, a corrected phone number) and then that page arrives
    THEN the page is reported stale_version, version 1 of the case and party, and the new
    registrant's checks still wait for a page of version 2.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    rng = np.random.default_rng(5)
    old_form = form_of(runtime, case["id"])
    page = clean_scan(signed_form(old_form, "new_registrant", runtime.settings.keys.keys, rng), rng)
    corrected = {**case_body["new_registrant"], "phone": "+48 600 100 200"}
    reissued = client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": corrected},
        headers=REGISTRAR,
    )
    assert reissued.status_code == 200, reissued.text
    assert reissued.json()["form_version"] == 2

    answer = upload(client, to_pdf([page]), name="old.pdf")
    read_all(client)

    scan = scan_status(client, answer.json()["id"])
    assert _page_results(scan) == [(case["id"], "new_registrant", 1, "stale_version")]
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    checks = {c["name"]: c["status"] for c in fetched["checks"]}
    assert checks["new_registrant.page_received"] == "pending"
    assert fetched["state"] == "awaiting_documents"


def test_page_whose_code_was_changed_by_one_character_is_an_invalid_code(
    client: TestClient,
) -> None:
    """GIVEN a signed, stamped page whose QR code was reprinted with one character changed
    WHEN it is uploaded and read
    THEN the page is reported invalid_code and counts for no case.
    """
    runtime = runtime_of(client)
    key = runtime.settings.keys.keys
    case = create_case(client)
    form = form_of(runtime, case["id"])
    rng = np.random.default_rng(3)
    paper = signed_form(form, "current_registrant", key, rng)
    genuine = page_code.encode(
        page_code.PageCode(case["id"], form.form_version, "current_registrant"), key
    )
    forged = with_one_character_changed(genuine, rng)
    assert forged != genuine
    paste_qr(paper, forged)

    answer = upload(client, to_pdf([clean_scan(paper, rng)]), name="forged.pdf")
    read_all(client)

    scan = scan_status(client, answer.json()["id"])
    assert _page_results(scan) == [(None, None, None, "invalid_code")]
    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()
    checks = {c["name"]: c["status"] for c in fetched["checks"]}
    assert checks["current_registrant.page_received"] == "pending"
