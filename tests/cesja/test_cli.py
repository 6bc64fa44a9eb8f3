"""The operator's commands as run from a shell: `cesja ingest`, `cesja watch` and `cesja doctor`,
each a real process on the test's data dir."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.db.models import ScanRow
from documents.simulate import blank_page, to_png, to_tiff
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import clean_fax, form_of, signed_form
from tests.conftest import STAFF
from tests.ocr import samples as s

SCAN_ID = r"SC-[0-9A-F]{16}"
WATCH_OPTIONS = ("--channel", "post", "--interval", "0.2")


def cesja(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `cesja ARGS…` to its end, as an operator would, on the test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "cesja.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as document:
        document.writestr("[Content_Types].xml", "<Types/>")
        document.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def test_ingest_prints_each_scan_and_page_and_fails_when_a_file_is_refused(
    client: TestClient, tmp_path: Path
) -> None:
    """GIVEN a fax of a case's first page (fine G4 TIFF), a blank sheet (PNG) and a Word
    document, sitting in a directory
    WHEN the operator runs `cesja ingest … --channel fax` on the three
    THEN it names the scan of each accepted file and what each of its pages is (the fax
    routed to its case and party), names the refused file with the reason, and exits
    non-zero; run again on the accepted two, it says they were received already and exits 0.
    """
    runtime = runtime_of(client)
    case = create_case(client)
    rng = np.random.default_rng(4)
    form = form_of(runtime, case["id"])
    paper = signed_form(form, "current_registrant", runtime.settings.keys.keys, rng)
    fax = tmp_path / "fax-0001.tiff"
    fax.write_bytes(to_tiff([clean_fax(paper, rng, fine=True)], compression="group4"))
    blank = tmp_path / "blank.png"
    blank.write_bytes(to_png(blank_page(rng, dpi=200)))
    word = tmp_path / "wniosek.docx"
    word.write_bytes(docx_bytes())

    result = cesja("ingest", str(fax), str(blank), str(word), "--channel", "fax")

    assert result.returncode == 1, result.stderr
    fax_scan = re.search(rf"^{re.escape(str(fax))}: scan ({SCAN_ID})$", result.stdout, re.M)
    blank_scan = re.search(rf"^{re.escape(str(blank))}: scan ({SCAN_ID})$", result.stdout, re.M)
    assert fax_scan and blank_scan, result.stdout
    assert (
        f"  {fax_scan[1]} page 1: matched → {case['id']} current_registrant v1" in result.stdout
    ), result.stdout
    assert f"  {blank_scan[1]} page 1: blank" in result.stdout
    assert f"{word}: refused: the file is a ZIP archive" in result.stderr
    assert "PDF, TIFF, PNG or JPEG" in result.stderr
    assert str(word) not in result.stdout

    with Session(runtime.engine) as session:
        channels = {scan.id: scan.channel for scan in session.exec(select(ScanRow))}
    assert channels == {fax_scan[1]: "fax", blank_scan[1]: "fax"}
    checks = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["checks"]
    received = {c["name"]: c["status"] for c in checks}
    assert received["current_registrant.page_received"] == "passed"

    again = cesja("ingest", str(fax), str(blank), "--channel", "fax")

    assert again.returncode == 0, again.stderr
    assert f"{fax}: scan {fax_scan[1]} (already received)" in again.stdout
    assert f"{blank}: scan {blank_scan[1]} (already received)" in again.stdout


def test_watch_takes_dropped_files_into_done_and_failed(client: TestClient, tmp_path: Path) -> None:
    """GIVEN `cesja watch DIR --channel post` running on an empty folder
    WHEN a scanner drops a scan and someone drops a Word document into it
    THEN the scan moves to done/ and is a scan of the service received by post; the document
    moves to failed/ with `wniosek.docx.reason.txt` saying why; the folder is left empty.
    """
    runtime = runtime_of(client)
    inbox = tmp_path / "inbox"
    log = tmp_path / "watch.log"
    scan = io.BytesIO()
    s.page_image(s.a4_pixels(200)).save(scan, "PNG", dpi=(200, 200))
    word = docx_bytes()
    with log.open("wb") as out:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", "watch", str(inbox), *WATCH_OPTIONS],
            stdout=out,
            stderr=out,
            env=dict(os.environ),
        )
    try:
        deadline = time.monotonic() + 30
        while not (inbox / "done").is_dir():
            assert time.monotonic() < deadline and watcher.poll() is None, log.read_text()
            time.sleep(0.05)
        (inbox / "scan-0001.png").write_bytes(scan.getvalue())
        (inbox / "wniosek.docx").write_bytes(word)
        reason = inbox / "failed" / "wniosek.docx.reason.txt"
        while not ((inbox / "done" / "scan-0001.png").exists() and reason.exists()):
            assert time.monotonic() < deadline and watcher.poll() is None, log.read_text()
            time.sleep(0.05)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)

    assert (inbox / "done" / "scan-0001.png").read_bytes() == scan.getvalue()
    assert (inbox / "failed" / "wniosek.docx").read_bytes() == word
    assert reason.read_text().startswith("unsupported_type: the file is a ZIP archive")
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    with Session(runtime.engine) as session:
        (received,) = session.exec(select(ScanRow)).all()
    assert (received.channel, received.media_type) == ("post", "image/png")


def test_doctor_lists_every_dependency_and_exits_0_on_a_working_install(
    client: TestClient,
) -> None:
    """GIVEN this machine, with the service's data dir in use
    WHEN the operator runs `cesja doctor`
    THEN it reports tesseract, pdftoppm, fonts, the database and the scan store as ok (and
    Ghostscript, which only the tests' scan simulator uses, as installed) and exits 0.
    """
    result = cesja("doctor")

    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("tesseract", "pdftoppm", "fonts", "database", "scan store"):
        assert re.search(rf"^\[ok \] {name}: ", result.stdout, re.M), result.stdout
    # Ghostscript only serves the scan simulator; it is reported, never required.
    assert "[ok ] ghostscript (tests and benchmarks only): installed" in result.stdout


def test_doctor_on_a_fresh_install_does_not_report_the_database_missing(
    data_dir: Path,
) -> None:
    """GIVEN a fresh install: CESJA_DATA_DIR names a directory that does not exist yet
    WHEN the operator runs `cesja doctor` first, before ever starting the service
    THEN the embedded database is reported ok (it is created on first use, as `cesja serve`
    would) and doctor exits 0.
    """
    assert not data_dir.exists()

    result = cesja("doctor")

    assert re.search(r"^\[ok \] database: ", result.stdout, re.M), result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
