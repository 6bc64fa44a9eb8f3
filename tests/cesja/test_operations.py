"""Operating the service: `/metrics` counts what the worker processes read and what the API
answered, across processes and a worker's death; `/readyz` says whether any worker is alive,
here or elsewhere; logs are JSON lines naming the case, scan and job; jobs given up are shown
to staff.

One `cesja serve` (two worker processes, JSON logs, a webhook receiver) is shared by this
module's tests; each test looks at what changed, not at absolute numbers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from documents.simulate import blank_page, to_pdf
from tests.cesja.processes import free_port, start, wait_until, worker_processes
from tests.cesja.receiver import SECRET, Receiver, receiver
from tests.cesja.sent_pages import blank_form, clean_scan, form_of
from tests.conftest import CASE_BODY, INTAKE, REGISTRAR, STAFF
from tests.hostile import pdfs
from tests.hostile.service import Service, served

# --- reading what the service says -------------------------------------------------------------


@dataclass(frozen=True)
class Scrape:
    """One scrape of `/metrics`, parsed by prometheus-client's own parser."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample `name{labels}`, 0 when absent (a series not yet counted)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of every `name` sample whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, found), v in self.samples.items() if n == name and wanted <= found)


def scrape(http: httpx.Client) -> Scrape:
    answer = http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    return Scrape(answer.text, samples)


def log_lines(log: Path) -> list[dict[str, Any]]:
    """Every line the service wrote, each parsed as JSON (a line that is not fails the test)."""
    lines = []
    for number, line in enumerate(log.read_text().splitlines(), 1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"line {number} of the log is not JSON: {line!r}") from None
    return lines


def pages_queued(scrape: Scrape, kind: str = "read_page") -> float:
    return scrape.value("cesja_queue_jobs", kind=kind, state="waiting") + scrape.value(
        "cesja_queue_jobs", kind=kind, state="running"
    )


def new_case(service: Service) -> str:
    answer = service.http.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


# --- the service this module shares ------------------------------------------------------------


@dataclass
class Served:
    service: Service
    registrar: Receiver


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`cesja serve` with two worker processes and JSON logs; the registrar's endpoint answers
    the first notice 503, then 204."""
    root = tmp_path_factory.mktemp("operations")
    with receiver([503]) as registrar:
        env = {
            "CESJA_LOG_FORMAT": "json",
            "CESJA_WEBHOOK_URL": registrar.url,
            "CESJA_WEBHOOK_SECRET": SECRET,
            "CESJA_WEBHOOK_RETRY_SCALE": "0",
        }
        with served(root / "var", root / "serve.log", **env) as service:
            yield Served(service, registrar)


@dataclass(frozen=True)
class Batch:
    """A batch the shared service read: metrics before and after, and what it was."""

    before: Scrape
    after: Scrape
    scan_id: str
    ready_case: str  # both pages signed: ready, its notice sent
    review_case: str  # its first page left unsigned: to review


@pytest.fixture(scope="module")
def batch(shared: Served) -> Batch:
    """GIVEN the shared service, WHEN one PDF arrives holding both signed pages of a case, the
    unsigned first page of another and a blank sheet, and is read."""
    service = shared.service
    before = scrape(service.http)
    ready_case, signed = service.signed_pages(seed=11)
    review_case = new_case(service)
    key = service.runtime.settings.keys.keys
    rng = np.random.default_rng(12)
    unsigned = clean_scan(
        blank_form(form_of(service.runtime, review_case), "current_registrant", key), rng, dpi=200
    )
    answer = service.upload(to_pdf([*signed, unsigned, blank_page(rng, dpi=200)]))
    assert answer.status_code == 202, answer.text
    scan = service.read(answer.json()["id"])
    assert [p["outcome"] for p in scan["pages"]] == ["matched", "matched", "matched", "blank"]
    shared.registrar.wait_for(2)
    after = wait_until(
        lambda: (
            s
            if (s := scrape(service.http)).value(
                "cesja_webhook_attempts_total", outcome="delivered"
            )
            > before.value("cesja_webhook_attempts_total", outcome="delivered")
            and pages_queued(s) == 0
            else None
        ),
        service.log,
    )
    return Batch(before, after, scan["id"], ready_case, review_case)


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_count_the_pages_the_workers_read_and_the_requests_the_api_answered(
    batch: Batch,
) -> None:
    """GIVEN the batch read by the worker processes (their counts in files of their own)
    THEN one scrape of the API shows: three pages matched and one blank, one of them to
    review (the unsigned one), four reading times; the upload and the polling of the scan by
    their route templates; the notice tried once (503: retry), then delivered; the queue of
    pages empty again; and no case or scan id anywhere in the text."""
    before, after = batch.before, batch.after

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("cesja_pages_read_total", outcome="matched") == 3
    assert moved("cesja_pages_read_total", outcome="blank") == 1
    assert moved("cesja_pages_read_total", outcome="unreadable") == 0
    assert moved("cesja_pages_to_review_total") == 1
    assert moved("cesja_page_read_seconds_count") == 4
    assert moved("cesja_webhook_attempts_total", outcome="retry") == 1
    assert moved("cesja_webhook_attempts_total", outcome="delivered") == 1
    assert after.value("cesja_webhook_notices", status="delivered") >= 1
    assert after.value("cesja_cases", state="in_review") >= 1
    uploads = "cesja_http_request_duration_seconds_count"
    assert moved(uploads, method="POST", route="/api/v1/scans", status="202") == 1
    assert moved(uploads, method="GET", route="/api/v1/scans/{scan_id}", status="200") >= 1
    assert pages_queued(after) == 0
    assert after.value("cesja_queue_oldest_waiting_seconds", kind="read_page") == 0
    assert after.value("cesja_database_up") == 1
    for named in (batch.scan_id, batch.ready_case, batch.review_case, "SC-", "CS-"):
        assert named not in after.text


def test_readyz_counts_the_services_own_warm_workers(shared: Served, batch: Batch) -> None:
    """GIVEN the shared service with its two worker processes warm
    THEN /readyz is 200 and counts both, and /healthz is 200."""
    answer = shared.service.http.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["workers"]["this_service"] == {"alive": 2, "started": 2}
    assert shared.service.http.get("/healthz").status_code == 200


def test_a_page_over_its_budget_is_a_job_given_up_in_metrics_and_the_back_office(
    shared: Served, batch: Batch
) -> None:
    """GIVEN a PDF whose page, drawn, grows past a worker's memory budget
    WHEN it is uploaded and its worker is ended by the supervisor
    THEN the metrics count the job given up (by the process that gave it up, and in the
    database) and the page as unreadable; staff see the job under "Zadania porzucone", with
    why and a link to the scan's file, and its count in the menu."""
    service = shared.service
    before = scrape(service.http)
    answer = service.upload(pdfs.pattern_bomb(), "pattern.pdf")
    assert answer.status_code == 202, answer.text
    scan_id = answer.json()["id"]
    assert service.read(scan_id, timeout=60)["status"] == "failed"

    after = scrape(service.http)
    for name in ("cesja_given_up_jobs", "cesja_jobs_given_up_total"):
        assert after.value(name, kind="read_page") == before.value(name, kind="read_page") + 1
    assert after.value("cesja_pages_read_total", outcome="unreadable") == (
        before.value("cesja_pages_read_total", outcome="unreadable") + 1
    )

    office = httpx.Client(base_url=service.url, timeout=30, follow_redirects=True)
    signed_in = office.post(
        "/sign-in",
        data={"key": STAFF["Authorization"].split()[1], "next": "/jobs"},
        headers={"Origin": service.url},
    )
    assert signed_in.status_code == 200, signed_in.text
    page = signed_in.text
    assert "Zadania porzucone" in page
    assert f'href="/scans/{scan_id}/file"' in page
    assert "odczyt strony skanu" in page
    assert "500 MB" in page
    assert 'class="count-badge"' in page
    assert office.get(f"/scans/{scan_id}/file").content == pdfs.pattern_bomb()
    office.close()


def test_a_worker_killed_leaves_its_counts_and_only_its_liveness_goes(
    shared: Served, batch: Batch
) -> None:
    """GIVEN the counts after the batch, made partly by a worker process
    WHEN that process is killed with SIGKILL
    THEN no count goes down; the service's live workers drop to one, and it is still ready; a
    page read after that (by the other worker) adds exactly one."""
    service = shared.service
    # Both warm first (a worker ended by an earlier test may still be warming up).
    wait_until(lambda: scrape(service.http).value("cesja_worker_processes") == 2, service.log)
    counted = scrape(service.http)
    victim = max(worker_processes(service.process.pid))
    os.kill(victim, signal.SIGKILL)

    one_left = wait_until(
        lambda: s if (s := scrape(service.http)).value("cesja_worker_processes") == 1 else None,
        service.log,
    )
    for outcome in ("matched", "blank"):
        name = "cesja_pages_read_total"
        assert one_left.value(name, outcome=outcome) == counted.value(name, outcome=outcome)
    assert one_left.value("cesja_page_read_seconds_count") == counted.value(
        "cesja_page_read_seconds_count"
    )
    assert service.http.get("/readyz").status_code == 200  # one worker still takes jobs

    answer = service.upload(to_pdf([blank_page(np.random.default_rng(13), dpi=200)]))
    assert answer.status_code == 202, answer.text
    assert service.read(answer.json()["id"])["status"] == "done"
    later = scrape(service.http)
    assert later.value("cesja_pages_read_total", outcome="blank") == (
        counted.value("cesja_pages_read_total", outcome="blank") + 1
    )


def test_a_worker_killed_as_it_made_its_counts_file_leaves_scrapes_whole(
    shared: Served, batch: Batch
) -> None:
    """GIVEN a worker process killed after it made the file of its counts and before it sized
    it: an empty file, named after a process that never comes back
    THEN /metrics still answers, every count as it was."""
    service = shared.service
    (directory,) = (service.runtime.settings.data_dir / "metrics").iterdir()
    counted = scrape(service.http)
    left = directory / "counter_4194305.db"  # past Linux's largest pid: no process writes it
    left.touch()
    try:
        after = scrape(service.http)
    finally:
        left.unlink()
    for outcome in ("matched", "blank"):
        name = "cesja_pages_read_total"
        assert after.value(name, outcome=outcome) == counted.value(name, outcome=outcome)


# --- logs --------------------------------------------------------------------------------------


def test_log_lines_are_json_naming_the_scan_job_and_case_of_each_page_read(
    shared: Served, batch: Batch
) -> None:
    """GIVEN the shared service logging JSON lines, and the batch it read
    WHEN a customer opens their link
    THEN every line of the log is a JSON object with time, level, logger and message; each
    page read is a line from a worker process naming the scan, its job and, once routed, the
    case; a request for the scan names the scan; the customer's link and the API keys appear
    nowhere."""
    service = shared.service
    case = service.http.get(f"/api/v1/cases/{batch.ready_case}", headers=REGISTRAR).json()
    token = case["customer_url"].rstrip("/").rsplit("/", 1)[1]
    assert service.http.get(f"/c/{token}").status_code == 200

    def customer_line() -> list[dict[str, Any]]:
        return [line for line in log_lines(service.log) if "GET /c/" in str(line.get("message"))]

    wait_until(customer_line, service.log)
    lines = log_lines(service.log)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    read = [
        line
        for line in lines
        if line["logger"] == "cesja.processing" and line.get("scan_id") == batch.scan_id
    ]
    assert len(read) == 4, read
    for line in read:
        assert line["job_kind"] == "read_page"
        assert isinstance(line["job_id"], int)
        assert line["process"] != service.process.pid
    assert {line.get("case_id") for line in read} == {batch.ready_case, batch.review_case, None}
    polled = [
        line
        for line in lines
        if f"GET /api/v1/scans/{batch.scan_id}" in line["message"]
        and line["logger"] == "uvicorn.access"
    ]
    assert polled and all(line["scan_id"] == batch.scan_id for line in polled)
    assert all(token not in line["message"] for line in lines)
    assert "/c/…" in customer_line()[0]["message"]
    # The development keys are named once, on purpose, in the warning that they are in use.
    said = "\n".join(
        json.dumps(line) for line in lines if "USING DEVELOPMENT API KEYS" not in line["message"]
    )
    for key in ("dev-registrar", "dev-staff", "dev-intake", SECRET):
        assert key not in said


# --- readiness without workers of its own ------------------------------------------------------


@pytest.fixture
def api_only(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client, Path]]:
    """`cesja serve` with no worker processes of its own (CESJA_WORKERS=0), on a data dir of
    its own; SIGKILLed if the test left it running."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CESJA_")}
    environment["CESJA_DATA_DIR"] = str(tmp_path / "var")
    port, log = free_port(), tmp_path / "serve.log"
    process = start(["serve", "--port", str(port)], log, workers=0, env=environment)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)

    def answers() -> bool:
        try:
            return http.get("/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: process.poll() is None and answers(), log)
        yield process, http, tmp_path
    finally:
        http.close()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_readyz_is_503_until_a_worker_anywhere_reports_and_again_once_it_stops(
    api_only: tuple[subprocess.Popen[bytes], httpx.Client, Path],
) -> None:
    """GIVEN `cesja serve` without worker processes, and none running anywhere
    THEN /healthz is 200 but /readyz is 503 saying no worker process is alive;
    WHEN `cesja worker` starts on the same database (as on another machine)
    THEN /readyz is 200 once the worker's heartbeat arrives, counting it as alive elsewhere;
    WHEN the worker is stopped
    THEN /readyz is 503 again at once, without waiting for its heartbeat to age."""
    _, http, root = api_only
    assert http.get("/healthz").status_code == 200
    refused = http.get("/readyz")
    assert refused.status_code == 503
    assert refused.json()["workers"] == {"alive": 0, "this_service": {"alive": 0, "started": 0}}
    assert any("no worker process is alive" in p for p in refused.json()["problems"])

    environment = {k: v for k, v in os.environ.items() if not k.startswith("CESJA_")}
    environment["CESJA_DATA_DIR"] = str(root / "var")
    log = root / "worker.log"
    worker = start(["worker"], log, workers=1, env=environment)
    try:
        ready = wait_until(
            lambda: a if (a := http.get("/readyz")).status_code == 200 else None, log, timeout=120
        )
        assert ready.json()["workers"] == {
            "alive": 1,
            "this_service": {"alive": 0, "started": 0},
        }
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(timeout=40) == 0
        assert http.get("/readyz").status_code == 503
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


# --- the endpoints themselves, in process ------------------------------------------------------


def test_metrics_and_readyz_are_described_in_the_openapi(client: TestClient) -> None:
    """GIVEN the app THEN its OpenAPI description lists /healthz, /readyz and /metrics."""
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)
    assert "503" in paths["/readyz"]["get"]["responses"]


def test_metrics_need_the_metrics_key_when_one_is_set(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN CESJA_METRICS_KEY set
    THEN /metrics without it, or with another key (an API key too), is 401 saying what to
    send; with it, 200."""
    from cesja.app import create_app

    monkeypatch.setenv("CESJA_METRICS_KEY", "scrape-key-of-the-registrars-prometheus")
    with TestClient(create_app()) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers=STAFF)
        assert wrong.status_code == 401
        assert "CESJA_METRICS_KEY" in wrong.json()["message"]
        right = {"Authorization": "Bearer scrape-key-of-the-registrars-prometheus"}
        assert client.get("/metrics", headers=right).status_code == 200
        assert client.get("/healthz").status_code == 200  # still open


def test_an_intake_client_sees_nothing_of_metrics_when_open(client: TestClient) -> None:
    """GIVEN no metrics key (the default) THEN /metrics answers anyone, like /healthz, and
    its text holds no case: after a case is created, neither its id nor its people appear."""
    created = client.post("/api/v1/cases", json=CASE_BODY, headers=REGISTRAR)
    assert created.status_code == 201
    text = client.get("/metrics", headers=INTAKE).text
    assert created.json()["id"] not in text
    assert 'cesja_cases{state="awaiting_documents"} 1.0' in text
    for value in ("Żółkiewska", "92110804566", "5260250995", "example.pl"):
        assert value not in text
