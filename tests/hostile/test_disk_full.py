"""A scan that arrives when the scan store's disk is full: a clear 507, nothing half-written,
and the service goes on; once there is room the same file is accepted and read.

The disk is outside the service, so it is the one thing faked: the system calls that write
under the scan store fail with ENOSPC as the kernel's do (a loop-mounted disk is not
available where the suite runs); every other write goes to the real disk.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from cesja import workers
from cesja.db.models import JobRow, ScanRow
from cesja.intake.hot_folder import HotFolder
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_pages import upload
from tests.conftest import REGISTRAR, STAFF

ROOM = 16 * 1024  # what is left on the disk when the scan arrives


def _full(what: str) -> OSError:
    return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} ({what})")


class FullDisk:
    """The scan store's disk with `room` bytes left: a write past it is cut short, the next
    fails with ENOSPC; with `at="fsync"` the data is taken but syncing it fails (as on NFS or
    a thin volume), with `at="mkdir"` making a second-level folder fails."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, *, at: str):
        self.root = str(root.resolve())
        self.room = ROOM
        self.failures = 0
        self.real_write: Callable[[int, Any], int] = os.write
        self.real_fsync: Callable[[int], None] = os.fsync
        self.real_mkdir: Callable[..., None] = os.mkdir
        target = {"write": self._write, "fsync": self._fsync, "mkdir": self._mkdir}[at]
        monkeypatch.setattr(os, at, target)

    def _in_store(self, fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(self.root)
        except OSError:
            return False

    def _write(self, fd: int, data: Any) -> int:
        if not self._in_store(fd):
            return self.real_write(fd, data)
        if self.room <= 0:
            self.failures += 1
            raise _full("write")
        written = self.real_write(fd, bytes(memoryview(data)[: self.room]))
        self.room -= written
        return written

    def _fsync(self, fd: int) -> None:
        if self._in_store(fd):
            self.failures += 1
            raise _full("fsync")
        self.real_fsync(fd)

    def _mkdir(self, path: Any, *args: Any, **kwargs: Any) -> None:
        relative = Path(os.path.abspath(path)).relative_to(self.root) if self._under(path) else None
        if relative is not None and len(relative.parts) == 2:
            self.failures += 1
            raise _full("mkdir")
        self.real_mkdir(path, *args, **kwargs)

    def _under(self, path: Any) -> bool:
        return os.path.abspath(path).startswith(self.root + os.sep)


def tree(root: Path) -> list[str]:
    """Every file and folder under `root`, as relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def scans_and_jobs(client: TestClient) -> tuple[int, int]:
    with Session(runtime_of(client).engine) as session:
        scans = session.exec(select(func.count()).select_from(ScanRow)).one()
        jobs = session.exec(select(func.count()).select_from(JobRow)).one()
    return scans, jobs


@pytest.mark.parametrize("at", ["write", "fsync", "mkdir"])
def test_a_scan_arriving_on_a_full_disk_is_refused_with_507_and_taken_once_there_is_room(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, at: str
) -> None:
    """GIVEN a case, its form printed to PDF by the customer, and a scan store whose disk has
    16 KB left (the file is larger), or whose disk fails to sync or to make a folder
    WHEN the fax gateway uploads the form
    THEN the answer is 507 store_full (as the API's document says it may be), saying nothing
    was kept and to send it again later; the scan store holds exactly what it held before (no
    temporary file, no new folder) and the database no scan; the service still answers
    AND once there is room again, the same file is accepted (202) and read: both pages are
    the case's.
    """
    case = create_case(client)
    form = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content
    assert len(form) > 2 * ROOM
    store = runtime_of(client).store.root
    before, rows_before = tree(store), scans_and_jobs(client)

    with monkeypatch.context() as disk:
        full = FullDisk(store, disk, at=at)
        refused = upload(client, form, name="cesja.pdf", channel="fax")
    assert full.failures == 1, "the disk was full where the store writes"

    assert refused.status_code == 507, refused.text
    assert refused.json() == {
        "error": "store_full",
        "message": "the scan store is full, so nothing of this file was kept; send it again later",
    }
    assert tree(store) == before
    assert scans_and_jobs(client) == rows_before
    assert client.get("/healthz").json() == {"status": "ok"}
    documented = client.get("/openapi.json").json()["paths"]["/api/v1/scans"]["post"]
    assert "507" in documented["responses"], "the upload documents the answer it gave"
    assert client.get(f"/api/v1/cases/{case['id']}", headers=STAFF).status_code == 200

    again = upload(client, form, name="cesja.pdf", channel="fax")
    assert again.status_code == 202, again.text
    workers.drain(runtime_of(client))
    scan = client.get(f"/api/v1/scans/{again.json()['id']}", headers=STAFF).json()
    assert scan["status"] == "done", scan
    assert [(p["case_id"], p["party"], p["outcome"]) for p in scan["pages"]] == [
        (case["id"], "current_registrant", "matched"),
        (case["id"], "new_registrant", "matched"),
    ]


def test_a_hot_folder_file_waits_while_the_store_is_full_and_is_taken_once_there_is_room(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GIVEN a scanner's hot folder holding a finished scan, and a full scan store
    WHEN the folder is polled
    THEN the file is not refused: it stays where it is (not in failed/), nothing is kept
    AND once there is room, the next polls take it (moved to done/, one scan).
    """
    runtime = runtime_of(client)
    case = create_case(client)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    scan = inbox / "scan-0001.pdf"
    scan.write_bytes(client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content)
    folder = HotFolder(runtime, inbox, channel="post", settle_polls=1)
    assert folder.poll() == []  # seen once: not yet known to have stopped growing

    with monkeypatch.context() as disk:
        full = FullDisk(runtime.store.root, disk, at="write")
        assert folder.poll() == []
    assert full.failures == 1
    assert scan.exists()
    assert list(folder.failed.iterdir()) == []
    assert scans_and_jobs(client) == (0, 0)

    assert folder.poll() == []  # seen again, standing still
    taken = folder.poll()
    assert [path for path, _ in taken] == [scan]
    assert [p.name for p in folder.done.iterdir()] == ["scan-0001.pdf"]
    scans, jobs = scans_and_jobs(client)
    assert scans == 1 and jobs > 0, "the scan and its work are recorded"
