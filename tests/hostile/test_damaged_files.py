"""Files an intake refuses: each refusal says what is wrong in words that never show where the
server keeps its files, and leaves the scan store exactly as it was (no file, no folder,
nothing in its scratch space)."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, func, select

from cesja.db.models import JobRow, ScanRow, utcnow
from ocr import CorruptFile, iter_pages, probe_file
from tests.cesja.flow import runtime_of
from tests.cesja.sent_pages import upload
from tests.cesja.web.conftest import sign_in
from tests.conftest import INTAKE, STAFF
from tests.ocr import samples as s

# A path as a decoder or the system shows one: absolute, quoted or standing alone.
ABSOLUTE_PATH = re.compile(r"""(?:^|[\s'"(=:])/[\w.~-]""")


@pytest.fixture
def service(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service on an absolute data dir, with limits small enough to pass cheaply (1 MB,
    three pages), already holding one accepted scan."""
    from cesja.app import create_app

    assert data_dir.is_absolute()
    monkeypatch.setenv("CESJA_MAX_UPLOAD_MB", "1")
    monkeypatch.setenv("CESJA_MAX_PAGES", "3")
    with TestClient(create_app()) as client:
        accepted = upload(client, _png(s.page_image(s.a4_pixels(100))), name="first.png")
        assert accepted.status_code == 202, accepted.text
        yield client


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(100, 100))
    return out.getvalue()


def _encoded(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    s.page_image(s.a4_pixels(100)).save(out, fmt, **options)
    return out.getvalue()


def _pdf(tmp_path: Path, pages: int) -> bytes:
    return s.save_pdf_pages(tmp_path / f"{pages}.pdf", pages).read_bytes()


def _locked_pdf(tmp_path: Path) -> bytes:
    plain = s.save_pdf_pages(tmp_path / "plain.pdf", 1)
    return s.save_pdf_encrypted(tmp_path / "locked.pdf", plain, "tajne").read_bytes()


def _fax(pages: int) -> bytes:
    out = io.BytesIO()
    page = s.fax_page(s.FAX_STANDARD_LINES)
    page.save(out, "TIFF", save_all=True, append_images=[page] * (pages - 1), compression="group4")
    return out.getvalue()


# What each damaged file is, how it is made, and the status and code it is refused with.
DAMAGED: dict[str, tuple[Callable[[Path], bytes], int, str]] = {
    "word-document": (lambda t: s.save_docx(t / "a.docx").read_bytes(), 415, "unsupported_type"),
    "web-page-named-pdf": (lambda t: b"<!doctype html><p>%PDF-1.4", 415, "unsupported_type"),
    "empty": (lambda t: b"", 415, "unsupported_type"),
    "png-header-then-noise": (
        lambda t: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        422,
        "corrupt_file",
    ),
    "png-cut-short": (lambda t: _encoded("PNG")[:3000], 422, "corrupt_file"),
    "tiff-header-then-noise": (lambda t: b"II*\x00" + bytes(range(256)) * 4, 422, "corrupt_file"),
    "tiff-directory-past-the-end": (
        lambda t: b"II*\x00" + struct.pack("<I", 10**6) + b"\x00" * 32,
        422,
        "corrupt_file",
    ),
    "jpeg-cut-short": (lambda t: _encoded("JPEG")[:2000], 422, "corrupt_file"),
    "pdf-cut-short": (lambda t: _pdf(t, 2)[:600], 422, "corrupt_file"),
    "pdf-with-a-password": (_locked_pdf, 422, "encrypted_file"),
    "fax-of-four-pages": (lambda t: _fax(4), 422, "too_many_pages"),
    "just-over-1-mb": (lambda t: b"II*\x00" + b"\x00" * (1024 * 1024), 413, "too_large"),
    "3-mb": (lambda t: b"II*\x00" + b"\x00" * (3 * 1024 * 1024), 413, "too_large"),
}


def tree(root: Path) -> list[str]:
    """Every file and folder under `root`, as relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def scans_and_jobs(client: TestClient) -> tuple[int, int]:
    with Session(runtime_of(client).engine) as session:
        scans = session.exec(select(func.count()).select_from(ScanRow)).one()
        jobs = session.exec(select(func.count()).select_from(JobRow)).one()
    return scans, jobs


def assert_no_server_path(text: str, data_dir: Path) -> None:
    assert str(data_dir) not in text and str(data_dir.resolve()) not in text, text
    assert "scans/" not in text and "upload-" not in text, text
    assert not ABSOLUTE_PATH.search(text), text


@pytest.mark.parametrize("kind", list(DAMAGED))
def test_a_refused_file_is_told_why_without_a_server_path_and_leaves_nothing_on_disk(
    service: TestClient, data_dir: Path, tmp_path: Path, kind: str
) -> None:
    """GIVEN a service holding one scan, with a 1 MB and three-page limit
    WHEN a file that is not a scan, a damaged one, one with a password, one with too many
    pages or one over the size limit is uploaded
    THEN it is refused (415, 422 or 413) with a message that names no path on the server, and
    the scan store holds exactly what it held before: no file, no new folder, nothing in its
    scratch space; the database holds no more scans or jobs.
    """
    make, status, code = DAMAGED[kind]
    data = make(tmp_path)
    store = runtime_of(service).store.root
    before, rows = tree(store), scans_and_jobs(service)

    answer = upload(service, data, name="scan", channel="fax")

    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert answer.json()["message"]
    assert_no_server_path(answer.text, data_dir)
    assert tree(store) == before
    assert scans_and_jobs(service) == rows


@pytest.mark.parametrize(
    ("form", "field"),
    [({"channel": "pigeon"}, "channel"), ({"channel": "fax", "sender": "x" * 400}, "sender")],
)
def test_an_upload_with_a_bad_form_field_leaves_nothing_on_disk(
    service: TestClient, form: dict[str, str], field: str
) -> None:
    """GIVEN a service holding one scan
    WHEN a good scan is uploaded with an unknown channel, or a sender longer than 320 characters
    THEN the answer is 422 naming the field, and the scan store holds what it held before.
    """
    store = runtime_of(service).store.root
    before = tree(store)

    answer = service.post(
        "/api/v1/scans",
        files={"file": ("fax.tiff", _fax(1))},
        data=form,
        headers=INTAKE,
    )

    assert answer.status_code == 422, answer.text
    assert any(e["field"] == field for e in answer.json()["errors"]), answer.text
    assert tree(store) == before


def test_a_failed_scan_s_reason_shows_no_server_path(service: TestClient, data_dir: Path) -> None:
    """GIVEN a scan whose reading failed with the system's words naming its file in the scan
    store (as an OSError does when the file is gone from a lost mount)
    WHEN intake asks for the scan, and staff open the list of files that could not be read
    THEN both show the reason, with the path replaced by "…".
    """
    runtime = runtime_of(service)
    sha256 = "ab" * 32
    where = runtime.store.path_of(sha256).resolve()
    with Session(runtime.engine) as session:
        session.add(
            ScanRow(
                id="SC-00000000DEADBEEF",
                sha256=sha256,
                channel="fax",
                media_type="image/tiff",
                size=1,
                status="failed",
                error=f"reading it was given up (FileNotFoundError: [Errno 2] No such file or "
                f"directory: '{where}'); a person should look at the original file",
                received_at=utcnow(),
            )
        )
        session.commit()

    scan = service.get("/api/v1/scans/SC-00000000DEADBEEF", headers=STAFF).json()
    assert sign_in(service).status_code == 303
    office = service.get("/unmatched")

    assert scan["error"] == (
        "reading it was given up (FileNotFoundError: [Errno 2] No such file or directory: …); "
        "a person should look at the original file"
    )
    assert office.status_code == 200
    assert "No such file or directory: …" in office.text
    assert_no_server_path(scan["error"], data_dir)
    assert str(data_dir) not in office.text and "scans/ab" not in office.text


@pytest.mark.parametrize(
    "kind", [k for k, (_, status, code) in DAMAGED.items() if code == "corrupt_file"]
)
def test_the_reader_s_own_reason_for_a_damaged_file_names_no_path(
    tmp_path: Path, kind: str
) -> None:
    """GIVEN a damaged file at an absolute path on the server (where a worker reads it too)
    WHEN the reader checks it, and when it decodes its pages
    THEN the reason it gives (what a scan's error says after a worker failed on it) holds no
    path, while still saying what is wrong.
    """
    path = tmp_path / "scans" / "upload-0001"
    path.parent.mkdir()
    path.write_bytes(DAMAGED[kind][0](tmp_path))

    reasons = []
    for look in (probe_file, lambda p, max_pages: list(iter_pages(p, max_pages=max_pages))):
        with pytest.raises(CorruptFile) as refused:
            look(path, max_pages=3)
        reasons.append(refused.value.message)

    for reason in reasons:
        assert_no_server_path(reason, tmp_path)
        assert "damaged" in reason or "truncated" in reason, reason
