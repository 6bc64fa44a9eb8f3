"""The hot folder a scanner or fax gateway writes into: a file is taken only once it has stopped
growing, taken files go to done/, refused ones to failed/ with the reason beside them, nothing
is deleted and no file overwrites another."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cesja.db.models import ScanRow
from cesja.intake.hot_folder import HotFolder
from cesja.runtime import Runtime
from tests.cesja.flow import runtime_of
from tests.ocr import samples as s


@pytest.fixture
def service(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The service with a 1 MB upload limit, so that a too-large file is cheap to make."""
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_MAX_UPLOAD_MB", "1")
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def fax_tiff(lines: int = s.FAX_STANDARD_LINES, pages: int = 1) -> bytes:
    out = io.BytesIO()
    page = s.fax_page(lines)
    page.save(out, "TIFF", save_all=True, append_images=[page] * (pages - 1), compression="group4")
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as document:
        document.writestr("[Content_Types].xml", "<Types/>")
        document.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    s.page_image(s.a4_pixels(150)).save(out, "PNG", dpi=(150, 150))
    return out.getvalue()


def scans(runtime: Runtime) -> list[ScanRow]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(ScanRow)))


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by its path relative to it."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def poll_until_quiet(hot: HotFolder, polls: int = 4) -> None:
    for _ in range(polls):
        hot.poll()


def test_a_file_still_being_written_is_taken_only_once_it_stops_growing(
    service: TestClient, inbox: Path
) -> None:
    """GIVEN a fax gateway writing a three-page fax into the folder in pieces, and a hidden
    file of its own beside it
    WHEN the folder is looked at after each piece, and then twice more once it is whole
    THEN the fax stays where it is while it grows; it is taken only when it has stopped, as
    the whole file (its sha256 is the complete file's); the hidden file is never touched.
    """
    runtime = runtime_of(service)
    hot = HotFolder(runtime, inbox, channel="post", settle_polls=2)
    whole = fax_tiff(pages=3)
    pieces = [whole[i : i + len(whole) // 4] for i in range(0, len(whole), len(whole) // 4)]
    hidden = inbox / ".gateway.lock"
    hidden.write_bytes(b"busy")
    arriving = inbox / "fax-0042.tiff"

    for piece in pieces:
        with arriving.open("ab") as out:
            out.write(piece)
        assert hot.poll() == []
        assert arriving.exists() and scans(runtime) == []

    assert hot.poll() == []  # the same size as last time: once is not yet "stopped"
    taken = hot.poll()

    assert [path.name for path, _ in taken] == ["fax-0042.tiff"]
    assert not arriving.exists()
    assert (inbox / "done" / "fax-0042.tiff").read_bytes() == whole
    (scan,) = scans(runtime)
    assert scan.sha256 == hashlib.sha256(whole).hexdigest()
    assert (scan.channel, scan.media_type, scan.size) == ("post", "image/tiff", len(whole))
    assert hidden.read_bytes() == b"busy"
    poll_until_quiet(hot)
    assert hidden.exists() and len(scans(runtime)) == 1


def test_taken_files_go_to_done_and_refused_ones_to_failed_with_the_reason(
    service: TestClient, inbox: Path
) -> None:
    """GIVEN a fax, a scan, a Word document, an empty file, a PDF cut short and a file over
    the 1 MB limit dropped into the folder
    WHEN the folder is watched until it is quiet
    THEN the fax and the scan are in done/ and are scans of the service; every other file is
    in failed/ with `<name>.reason.txt` beside it saying why; every file dropped is still
    there, byte for byte, and the folder itself is empty.
    """
    runtime = runtime_of(service)
    hot = HotFolder(runtime, inbox, channel="post", settle_polls=2)
    dropped = {
        "fax.tiff": fax_tiff(),
        "scan.png": png(),
        "wniosek.docx": docx(),
        "empty.pdf": b"",
        "cut-short.pdf": s.save_pdf_pages(inbox.parent / "whole.pdf", 2).read_bytes()[:700],
        "too-big.tiff": b"II*\x00" + b"\x00" * (1024 * 1024 + 1),
    }
    for name, data in dropped.items():
        (inbox / name).write_bytes(data)

    poll_until_quiet(hot)

    kept = files_under(inbox)
    assert {name: kept[f"done/{name}"] for name in ("fax.tiff", "scan.png")} == {
        "fax.tiff": dropped["fax.tiff"],
        "scan.png": dropped["scan.png"],
    }
    refused = ("wniosek.docx", "empty.pdf", "cut-short.pdf", "too-big.tiff")
    for name in refused:
        assert kept[f"failed/{name}"] == dropped[name]
    reasons = {name: kept[f"failed/{name}.reason.txt"].decode() for name in refused}
    assert reasons["wniosek.docx"].startswith("unsupported_type: the file is a ZIP archive")
    assert "PDF, TIFF, PNG or JPEG" in reasons["wniosek.docx"]
    assert reasons["empty.pdf"].startswith("unsupported_type: the file is empty")
    assert reasons["cut-short.pdf"].startswith("corrupt_file: ")
    assert reasons["too-big.tiff"].startswith("too_large: ")
    assert "1 MB" in reasons["too-big.tiff"]
    assert sorted(kept) == sorted(
        [f"done/{n}" for n in ("fax.tiff", "scan.png")]
        + [f"failed/{n}" for n in refused]
        + [f"failed/{n}.reason.txt" for n in refused]
    )
    assert sorted(scan.size for scan in scans(runtime)) == sorted(
        len(dropped[n]) for n in ("fax.tiff", "scan.png")
    )


def test_files_of_the_same_name_never_overwrite_each_other(
    service: TestClient, inbox: Path
) -> None:
    """GIVEN a gateway that names every fax `fax.tiff` and every refused document `doc.docx`
    WHEN three faxes (the third a resend of the first) and two documents arrive one after
    the other under those names
    THEN done/ and failed/ keep each one under its own name, with each its own reason, and
    the resend is the first fax's scan again, not a new one.
    """
    runtime = runtime_of(service)
    hot = HotFolder(runtime, inbox, channel="fax", settle_polls=2)
    faxes = [fax_tiff(s.FAX_STANDARD_LINES), fax_tiff(s.FAX_FINE_LINES)]
    faxes.append(faxes[0])
    documents = [docx(), docx() + b"\x00"]

    for fax in faxes:
        (inbox / "fax.tiff").write_bytes(fax)
        poll_until_quiet(hot)
    for document in documents:
        (inbox / "doc.docx").write_bytes(document)
        poll_until_quiet(hot)

    kept = files_under(inbox)
    assert [kept[f"done/{n}"] for n in ("fax.tiff", "fax.1.tiff", "fax.2.tiff")] == faxes
    assert [kept[f"failed/{n}"] for n in ("doc.docx", "doc.1.docx")] == documents
    assert kept["failed/doc.docx.reason.txt"].startswith(b"unsupported_type: ")
    assert kept["failed/doc.1.docx.reason.txt"].startswith(b"unsupported_type: ")
    assert len(kept) == 7
    assert len(scans(runtime)) == 2
    assert {scan.channel for scan in scans(runtime)} == {"fax"}
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []


def test_a_file_the_service_cannot_store_now_stays_and_is_taken_later(
    service: TestClient, inbox: Path
) -> None:
    """GIVEN a fax in the folder while the scan store cannot be written (its mount is gone)
    WHEN the folder is watched, and then the store comes back
    THEN the fax is neither taken nor refused while the store is away (it is not the fax's
    fault) and watching goes on; once the store is back, the fax is taken as usual.
    """
    runtime = runtime_of(service)
    hot = HotFolder(runtime, inbox, channel="fax", settle_polls=2)
    fax = fax_tiff()
    (inbox / "fax.tiff").write_bytes(fax)
    scratch = runtime.store.root / "tmp"
    scratch.rmdir()
    scratch.write_bytes(b"not a directory: the store cannot take a file")

    poll_until_quiet(hot, polls=6)

    assert (inbox / "fax.tiff").read_bytes() == fax
    assert files_under(inbox / "failed") == {} and files_under(inbox / "done") == {}
    assert scans(runtime) == []

    scratch.unlink()
    scratch.mkdir()
    poll_until_quiet(hot)

    assert files_under(inbox) == {"done/fax.tiff": fax}
    assert [scan.size for scan in scans(runtime)] == [len(fax)]
