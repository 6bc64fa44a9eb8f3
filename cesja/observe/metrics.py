"""The counters and histograms each process of the service keeps for Prometheus, summed over
its processes at every scrape.

Pages are read in worker processes and requests answered in the API's, so each process writes
its values to files of its own in one directory (prometheus-client's multiprocess mode), and
`/metrics` adds them up: a worker that dies leaves its counts behind, so no counter ever goes
backwards; only its live gauges (a worker alive, a page in hand) are dropped when its parent
sees it gone (`process_ended`). The directory is `<data dir>/metrics/<host>-<pid of the
command>`, made afresh by `cesja serve` or `cesja worker` at start, and inherited by every
process they start. What the database knows (the queue, notices, workers anywhere) is read
from it at each scrape instead (`cesja.api.metrics`): that is the truth across machines.

Labels are only ever fixed words (a job kind, an outcome, a route's template, a status code),
never an id or anything a sender chose.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger("cesja.metrics")

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
WEBHOOK_OUTCOMES = ("delivered", "retry", "gone", "dead")
# Reading one page takes about 0.1 s; a damaged one, or a fax sent to tesseract, up to seconds.
PAGE_SECONDS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
REQUEST_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Instruments:
    """What one process counts; written to its own files in multiprocess mode."""

    def __init__(self, registry: CollectorRegistry | None, page_outcomes: Sequence[str] = ()):
        self.pages_read = Counter(
            "cesja_pages_read",
            "Pages read and stored, by what each turned out to be.",
            ["outcome"],
            registry=registry,
        )
        self.pages_to_review = Counter(
            "cesja_pages_to_review",
            "Matched pages after which a check of the page's party stood failed, so a person "
            "must look (genuine or not: the service cannot tell).",
            registry=registry,
        )
        self.page_seconds = Histogram(
            "cesja_page_read_seconds",
            "Time a worker took to read one page and store what it found.",
            buckets=PAGE_SECONDS,
            registry=registry,
        )
        self.pages_in_hand = Gauge(
            "cesja_pages_being_read",
            "Pages being read right now by this service's worker processes.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.webhook_attempts = Counter(
            "cesja_webhook_attempts",
            "Transfer-ready notices POSTed, by what followed: delivered, retry (tried again "
            "later), gone (410, never again), dead (attempts used up).",
            ["outcome"],
            registry=registry,
        )
        self.jobs_given_up = Counter(
            "cesja_jobs_given_up",
            "Jobs that will not run again, by kind (failed every attempt, or over a budget).",
            ["kind"],
            registry=registry,
        )
        self.worker_processes = Gauge(
            "cesja_worker_processes",
            "This service's worker processes that are warm and taking jobs.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.requests = Histogram(
            "cesja_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            buckets=REQUEST_SECONDS,
            registry=registry,
        )
        # Each outcome shows from the start, at 0, in the processes that read pages.
        for outcome in page_outcomes:
            self.pages_read.labels(outcome)
        for outcome in WEBHOOK_OUTCOMES:
            self.webhook_attempts.labels(outcome)


_instruments: Instruments | None = None
_registry: CollectorRegistry | None = None  # only when this process counts alone
_directory: Path | None = None


def start_service(data_dir: Path) -> Path:
    """Count in multiprocess mode, in a fresh directory of this command's own, which every
    process it starts afterwards inherits; the directory."""
    global _directory
    root = data_dir / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    _forget_stopped_services(root)
    directory = root / f"{socket.gethostname()}-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    # Read by prometheus-client in every process spawned from now on, at its import.
    os.environ[MULTIPROCESS_ENV] = str(directory)
    _directory = directory
    _count_in_files()
    log.info("metrics of this service's processes are kept in %s", directory)
    return directory


def start_in_this_process(page_outcomes: Sequence[str] = ()) -> None:
    """Count in this process: into its service's directory when the process was started by
    one (it inherited the directory), else alone (tests, an app served by other means).
    Nothing changes in a process that counts already."""
    global _directory, _instruments, _registry
    if _instruments is not None:
        return
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory and Path(directory).is_dir():
        _directory = Path(directory)
        _count_in_files(page_outcomes)
        return
    # The `_created` samples, as in multiprocess mode: none.
    disable_created_metrics()
    _registry = CollectorRegistry(auto_describe=True)
    _instruments = Instruments(_registry, page_outcomes)


def _count_in_files(page_outcomes: Sequence[str] = ()) -> None:
    global _instruments
    # prometheus-client chooses where values go when it is first imported; this process may
    # have imported it before the directory was known.
    values.ValueClass = values.MultiProcessValue()
    _instruments = Instruments(None, page_outcomes)


def process_ended(pid: int) -> None:
    """A process of this service ended: its live gauges no longer count (its counters do)."""
    if _directory is not None:
        multiprocess.mark_process_dead(pid, str(_directory))


class _EveryProcess(multiprocess.MultiProcessCollector):
    """prometheus-client's sum over the processes' files, leaving out empty ones.

    A process makes its file and only then sizes it, so a scrape at that moment finds it
    empty, and prometheus-client fails the whole scrape on it; a process killed in between
    leaves it empty for good (prometheus/client_python#1199, open in 0.26). An empty file
    holds no count, so leaving it out loses nothing."""

    def collect(self) -> Iterable[Metric]:
        return self.merge([f for f in glob.glob(os.path.join(self._path, "*.db")) if _holds(f)])


def _holds(file: str) -> bool:
    try:
        return os.path.getsize(file) > 0
    except FileNotFoundError:  # a live gauge's, removed as its process ended
        return False


class _CountedHere(Collector):
    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


def registry() -> CollectorRegistry:
    """A new registry for one scrape that collects every process's counts (or this process's
    alone); a caller may add collectors of its own to it."""
    collected = CollectorRegistry(auto_describe=False)
    if _directory is not None:
        _EveryProcess(collected, path=str(_directory))
        return collected
    start_in_this_process()
    assert _registry is not None
    collected.register(_CountedHere(_registry))
    return collected


def _forget_stopped_services(root: Path) -> None:
    """Remove the directories of services of this host that are no longer running."""
    host = socket.gethostname()
    for directory in root.iterdir():
        name, _, pid = directory.name.rpartition("-")
        if name == host and pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(directory, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- what the processes count -----------------------------------------------------------------


def page_read(outcome: str, *, to_review: bool) -> None:
    if _instruments is not None:
        _instruments.pages_read.labels(outcome).inc()
        if to_review:
            _instruments.pages_to_review.inc()


def page_reading_took(seconds: float) -> None:
    if _instruments is not None:
        _instruments.page_seconds.observe(seconds)


def page_in_hand(change: int) -> None:
    if _instruments is not None:
        _instruments.pages_in_hand.inc(change)


def webhook_attempted(outcome: str) -> None:
    if _instruments is not None:
        _instruments.webhook_attempts.labels(outcome).inc()


def job_given_up(kind: str) -> None:
    if _instruments is not None:
        _instruments.jobs_given_up.labels(kind).inc()


def worker_process_ready() -> None:
    if _instruments is not None:
        _instruments.worker_processes.set(1)


def request_answered(method: str, route: str, status: int, seconds: float) -> None:
    if _instruments is not None:
        _instruments.requests.labels(method, route, str(status)).observe(seconds)
