"""`cesja serve` as an operator runs it, under the budgets it is held to, for hostile tests:
started on a data dir of its own, driven over HTTP, its worker processes watched from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from cesja.config import Settings
from cesja.runtime import Runtime, open_runtime
from documents.layout import Party
from documents.simulate import to_pdf
from tests.cesja.processes import (
    free_port,
    peak_memory_mb,
    ready_workers,
    start,
    wait_until,
    worker_processes,
)
from tests.cesja.sent_pages import clean_scan, form_of, signed_form
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR

# The budgets the hostile tests hold each worker process to: the defaults for memory, a
# short time so that a page drawing for ever is ended soon.
MEMORY_MB = 500
JOB_SECONDS = 10
PARTIES: tuple[Party, Party] = ("current_registrant", "new_registrant")


@dataclass
class Service:
    """A running `cesja serve`, with what a test needs to drive and watch it."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    runtime: Runtime  # the same data dir, opened in the test, to make pages of real cases
    http: httpx.Client

    def said(self) -> str:
        return self.log.read_text()

    def worker_peaks_mb(self) -> dict[int, float]:
        """Each running worker process's peak memory so far, by pid."""
        return {pid: peak_memory_mb(pid) for pid in worker_processes(self.process.pid)}

    def wait_ready(self, workers: int) -> None:
        """Until `workers` worker processes have said they are ready, in all, since the start."""
        wait_until(lambda: ready_workers(self.log) >= workers, self.log, timeout=120)
        wait_until(lambda: len(worker_processes(self.process.pid)) == 2, self.log)

    def upload(self, data: bytes, name: str = "scan.pdf", channel: str = "post") -> Any:
        return self.http.post(
            "/api/v1/scans",
            files={"file": (name, data)},
            data={"channel": channel},
            headers=INTAKE,
        )

    def read(self, scan_id: str, timeout: float = 90) -> dict[str, Any]:
        """The scan once every page of it has been read or given up."""

        def ended() -> dict[str, Any] | None:
            scan = self.http.get(f"/api/v1/scans/{scan_id}", headers=INTAKE).json()
            return scan if scan["status"] in ("done", "failed") else None

        return wait_until(ended, self.log, timeout=timeout)  # type: ignore[no-any-return]

    def signed_pages(self, seed: int, dpi: float = 200) -> tuple[str, list[Any]]:
        """A new case and both its pages, signed (and stamped) and scanned."""
        answer = self.http.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
        assert answer.status_code == 201, answer.text
        case_id = answer.json()["id"]
        form, key = form_of(self.runtime, case_id), self.runtime.settings.keys.keys
        rng = np.random.default_rng(seed)
        pages = [clean_scan(signed_form(form, party, key, rng), rng, dpi=dpi) for party in PARTIES]
        return case_id, pages

    def assert_still_serves(self, seed: int) -> None:
        """The service answers, and a normal scan uploaded now is read: both pages matched."""
        assert self.http.get("/healthz", timeout=5).status_code == 200
        case_id, pages = self.signed_pages(seed)
        answer = self.upload(to_pdf(pages))
        assert answer.status_code == 202, answer.text
        scan = self.read(answer.json()["id"])
        assert scan["status"] == "done", scan
        assert [(p["outcome"], p["case_id"]) for p in scan["pages"]] == [
            ("matched", case_id),
            ("matched", case_id),
        ]


@contextmanager
def served(data_dir: Path, log: Path, **env: str) -> Iterator[Service]:
    """`cesja serve` with two worker processes on `data_dir`, in a process group of its own;
    stopped (SIGTERM to the group) at the end, killed if it does not stop."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CESJA_")}
    environment.update(
        CESJA_DATA_DIR=str(data_dir),
        CESJA_WORKER_MEMORY_MB=str(MEMORY_MB),
        CESJA_JOB_SECONDS=str(JOB_SECONDS),
        **env,
    )
    port = free_port()
    process = start(["serve", "--port", str(port)], log, workers=2, env=environment)
    url = f"http://127.0.0.1:{port}"
    runtime = open_runtime(Settings(data_dir=data_dir, workers=0, _env_file=None))  # type: ignore[call-arg]
    http = httpx.Client(base_url=url, timeout=30)
    try:

        def answers() -> bool:
            try:
                return http.get("/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(lambda: process.poll() is None and answers(), log, timeout=120)
        service = Service(process, url, log, runtime, http)
        service.wait_ready(2)
        yield service
    finally:
        http.close()
        runtime.engine.dispose()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def elapsed(since: float) -> float:
    return time.monotonic() - since
