"""Background workers: processes started by `cesja serve` or `cesja worker`, threads for the
tools that read in-process (`cesja ingest`, `cesja demo`, tests).

Reading a page is CPU-heavy and partly pure Python: threads share one interpreter lock, so
the service reads in worker processes, one job loop each, restarted when one dies (a crash
in tesseract or OpenCV takes only its own process down).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as ProcessEvent

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from cesja import deadlines, jobs, processing, webhooks
from cesja.config import Settings
from cesja.db import make_engine
from cesja.models import PeriodicTaskRow, utcnow
from cesja.runtime import Runtime
from cesja.storage import ScanStore

log = logging.getLogger("cesja.workers")

# How often each worker process looks whether a periodic job is due (at most).
SCHEDULER_TICK = timedelta(seconds=5)


def job_kinds() -> dict[str, jobs.JobKind]:
    return {
        processing.PROCESS_SCAN: jobs.JobKind(
            name=processing.PROCESS_SCAN,
            lease=timedelta(minutes=10),
            max_attempts=3,
            retry_after=lambda attempt: timedelta(seconds=30 * attempt),
        ),
        # Receiver failures are retried by the delivery itself (its own policy and jobs);
        # these retries are for the service failing (database away) and must not give up soon,
        # or a pending notice would be left without a job.
        webhooks.DELIVER_WEBHOOK: jobs.JobKind(
            name=webhooks.DELIVER_WEBHOOK,
            lease=timedelta(minutes=10),
            max_attempts=50,
            retry_after=lambda attempt: min(timedelta(seconds=30 * attempt), timedelta(hours=1)),
        ),
        deadlines.CHECK_DEADLINES: jobs.JobKind(
            name=deadlines.CHECK_DEADLINES,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(seconds=30),
        ),
    }


def handlers(runtime: Runtime) -> dict[str, jobs.Handler]:
    return {
        processing.PROCESS_SCAN: lambda job: processing.process_scan(runtime, job.ref),
        webhooks.DELIVER_WEBHOOK: lambda job: webhooks.attempt(runtime, job.ref, job_id=job.id),
        deadlines.CHECK_DEADLINES: lambda job: _check_deadlines(runtime),
    }


def give_up_handlers(runtime: Runtime) -> dict[str, jobs.GiveUp]:
    """What to record when a job will not run again: a scan nobody could read is `failed`."""
    return {processing.PROCESS_SCAN: lambda job, error: processing.give_up(runtime, job.ref, error)}


def _worker(runtime: Runtime, wake: jobs.Flag, stop: jobs.Flag, name: str) -> jobs.Worker:
    return jobs.Worker(
        runtime.engine,
        job_kinds(),
        handlers(runtime),
        wake,
        stop,
        name=name,
        give_up=give_up_handlers(runtime),
    )


def _check_deadlines(runtime: Runtime) -> None:
    deadlines.run(runtime)


def periodic_tasks(settings: Settings) -> dict[str, timedelta]:
    """Jobs that run every so often, by kind, and how often."""
    return {deadlines.CHECK_DEADLINES: timedelta(seconds=settings.deadline_check_seconds)}


def schedule_periodic(
    engine: Engine, settings: Settings, *, now: datetime | None = None
) -> list[str]:
    """Enqueue each periodic job that is due; the kinds enqueued.

    Every worker process on every machine calls this. A conditional update moves the task's
    `next_run_at` forward only if it is still due, so of several processes calling at the
    same moment exactly one changes the row, and only that one enqueues the job, in the same
    transaction. PostgreSQL re-checks the condition after waiting on the row lock; SQLite
    runs one writer at a time.
    """
    now = now or utcnow()
    enqueued = []
    for name, every in periodic_tasks(settings).items():
        _ensure_task(engine, name, now)
        with Session(engine) as session:
            moved = session.connection().execute(
                update(PeriodicTaskRow)
                .where(col(PeriodicTaskRow.name) == name)
                .where(col(PeriodicTaskRow.next_run_at) <= now)
                .values(next_run_at=now + every)
            )
            if moved.rowcount == 1:
                jobs.enqueue(session, name, f"periodic@{now.isoformat()}", run_at=now)
                enqueued.append(name)
            session.commit()
    return enqueued


def _ensure_task(engine: Engine, name: str, now: datetime) -> None:
    with Session(engine) as session:
        if session.get(PeriodicTaskRow, name) is not None:
            return
    try:
        with Session(engine) as session:
            session.add(PeriodicTaskRow(name=name, next_run_at=now))
            session.commit()
    except IntegrityError:
        pass  # another process created it first


class Scheduler(threading.Thread):
    """A thread per worker process that enqueues periodic jobs when they are due."""

    def __init__(self, runtime: Runtime, stop: jobs.Flag):
        super().__init__(name="cesja-scheduler", daemon=True)
        self.runtime = runtime
        self.stop = stop

    def run(self) -> None:
        settings = self.runtime.settings
        tick = min([SCHEDULER_TICK, *periodic_tasks(settings).values()])
        while not self.stop.is_set():
            try:
                if schedule_periodic(self.runtime.engine, settings):
                    self.runtime.work_ready.set()
            except Exception:
                log.exception("could not schedule periodic jobs")
            self.stop.wait(tick.total_seconds())


def drain(runtime: Runtime) -> int:
    """Run every due job in this thread until none is left; returns how many ran."""
    stop = threading.Event()
    worker = _worker(runtime, runtime.work_ready, stop, "cesja-drain")
    ran = 0
    while worker.run_one():
        ran += 1
    return ran


def _resume_left_jobs(engine: Engine) -> int:
    """Free the leases of processes of this host that stopped; how many jobs were freed."""
    freed = jobs.release_dead_leases(engine)
    if freed:
        log.info("resuming %d job(s) left by a process that stopped", freed)
    return freed


def start(runtime: Runtime, count: int, *, periodic: bool = True) -> Callable[[], None]:
    """Start `count` worker threads (one tesseract handle each) and, if `periodic`, the thread
    that enqueues periodic jobs; returns their stop."""
    stop = threading.Event()
    if count <= 0:
        return stop.set
    _resume_left_jobs(runtime.engine)
    threads: list[threading.Thread] = [
        _worker(runtime, runtime.work_ready, stop, f"cesja-worker-{i}") for i in range(count)
    ]
    if periodic:
        threads.append(Scheduler(runtime, stop))
    for t in threads:
        t.start()
    log.info("started %d worker thread(s)%s", count, " and the scheduler" if periodic else "")

    def stop_all() -> None:
        stop.set()
        runtime.work_ready.set()
        for t in threads:
            t.join(timeout=30)

    return stop_all


# --- worker processes ---------------------------------------------------------------------------

# How often an idle worker process looks for due jobs without being woken: a sibling clearing
# the shared flag can hide a wake-up from it, and workers on other machines wake nobody here.
PROCESS_POLL_SECONDS = 0.5
# How often a worker process checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.2
# A worker process that dies sooner than this after starting is started again later each time.
STEADY_SECONDS = 30.0
MAX_RESTART_DELAY_SECONDS = 60.0
# How long `stop` lets each worker process finish the job in hand before terminating it.
STOP_GRACE_SECONDS = 30.0
# A worker process's lines carry its pid: the `leased_by` of the jobs it runs.
PROCESS_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"
# The resolution a fax has once its rows are stretched to square pixels (`ocr.pages`).
FAX_DPI = 204


@dataclass
class _Child:
    """One worker process and what the parent knows of it."""

    number: int
    process: BaseProcess
    ready: ProcessEvent
    started: float  # time.monotonic()


class WorkerProcesses:
    """The worker processes of one service, each started again when it dies, until `stop`."""

    def __init__(
        self, settings: Settings, count: int, *, wake: ProcessEvent | None, periodic: bool
    ):
        # Spawned, never forked: the parent has threads, perhaps an event loop and open
        # database connections, none of which survive a fork intact.
        self._context = multiprocessing.get_context("spawn")
        self.settings = settings
        self.wake: ProcessEvent = wake or self._context.Event()
        self.periodic = periodic
        self._stop = self._context.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._children = [self._spawn(number) for number in range(count)]
        self._supervisor = threading.Thread(
            target=self._supervise, name="cesja-supervisor", daemon=True
        )
        self._supervisor.start()
        log.info(
            "started %d worker process(es)%s",
            count,
            " with the scheduler" if periodic else "",
        )

    @property
    def pids(self) -> list[int]:
        """The pid of each worker process, the latest one started in each place."""
        with self._lock:
            return [c.process.pid for c in self._children if c.process.pid is not None]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait until every worker process has warmed up and takes jobs; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                children = list(self._children)
            if all(c.ready.is_set() for c in children):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let each worker process finish its job in hand, terminate what is still running
        after `grace` seconds, and wait for all of them to end."""
        self._stopping.set()
        self._stop.set()
        self.wake.set()
        self._supervisor.join()
        deadline = time.monotonic() + grace
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
        for child in self._children:
            if child.process.is_alive():
                log.warning(
                    "worker process %d (pid %s) still busy after %.0f s: terminating it",
                    child.number,
                    child.process.pid,
                    grace,
                )
                child.process.terminate()
                child.process.join(5)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
        log.info("worker processes stopped")

    def _spawn(self, number: int) -> _Child:
        ready = self._context.Event()
        process = self._context.Process(
            target=_worker_process,
            args=(
                self.settings,
                number,
                self.wake,
                self._stop,
                ready,
                os.getpid(),
                self.periodic,
                logging.getLogger().getEffectiveLevel(),
            ),
            name=f"cesja-worker-{number}",
            # Ended by multiprocessing's exit handler should the parent exit without `stop`.
            daemon=True,
        )
        process.start()
        return _Child(number, process, ready, time.monotonic())

    def _supervise(self) -> None:
        """Start a worker process again when it dies; sooner or later as it keeps dying."""
        quick_deaths = [0] * len(self._children)
        due: dict[int, float] = {}  # child number → when to start it again
        while not self._stopping.is_set():
            with self._lock:
                running = [c.process.sentinel for c in self._children if c.number not in due]
            now = time.monotonic()
            timeout = min([0.5, *(when - now for when in due.values())])
            if running:
                multiprocessing.connection.wait(running, timeout=max(0.0, timeout))
            else:
                self._stopping.wait(max(0.0, timeout))
            if self._stopping.is_set():
                return
            now = time.monotonic()
            for child in list(self._children):
                if child.number in due or child.process.exitcode is None:
                    continue
                lived = now - child.started
                quick_deaths[child.number] = (
                    quick_deaths[child.number] + 1 if lived < STEADY_SECONDS else 0
                )
                delay = _restart_delay(quick_deaths[child.number])
                log.error(
                    "worker process %d (pid %s) %s after %.0f s; starting it again in %.0f s",
                    child.number,
                    child.process.pid,
                    _how_it_ended(child.process.exitcode),
                    lived,
                    delay,
                )
                due[child.number] = now + delay
            for number, when in list(due.items()):
                if when > now or self._stopping.is_set():
                    continue
                try:
                    replacement = self._spawn(number)
                except Exception:
                    log.exception("could not start worker process %d; trying again", number)
                    due[number] = now + MAX_RESTART_DELAY_SECONDS
                    continue
                with self._lock:
                    self._children[number].process.close()
                    self._children[number] = replacement
                del due[number]


def _restart_delay(quick_deaths: int) -> float:
    """At once after a worker process that ran a while; 1, 2, 4 … 60 s while it keeps dying."""
    if quick_deaths == 0:
        return 0.0
    return float(min(MAX_RESTART_DELAY_SECONDS, 2 ** (quick_deaths - 1)))


def _how_it_ended(exitcode: int) -> str:
    if exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


def start_processes(
    settings: Settings,
    count: int,
    *,
    wake: ProcessEvent | None = None,
    periodic: bool = True,
) -> WorkerProcesses:
    """Start `count` worker processes (one tesseract handle each), each also running the
    scheduler of periodic jobs if `periodic`.

    The parent must have migrated the database. `wake` (made here when not given) is the
    flag to set when work is committed: make it the parent's `runtime.work_ready`.
    """
    return WorkerProcesses(settings, count, wake=wake, periodic=periodic)


def _worker_process(
    settings: Settings,
    number: int,
    wake: jobs.Flag,
    stop: jobs.Flag,
    ready: jobs.Flag,
    parent: int,
    periodic: bool,
    log_level: int,
) -> None:
    """A worker process from start to end: runs jobs until `stop` is set or the parent dies."""
    # Ctrl-C in a terminal reaches the whole process group; the parent stops its children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format=PROCESS_LOG_FORMAT)
    threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="cesja-parent-watch", daemon=True
    ).start()
    # Not `open_runtime`: the parent has migrated the database and warned about development
    # keys, which a worker process does not use.
    runtime = Runtime(
        settings=settings,
        engine=make_engine(settings.sqlalchemy_url),
        store=ScanStore(settings.scan_store_dir),
        work_ready=wake,
    )
    try:
        # A sibling that died (or the process before this one) left its jobs leased.
        if _resume_left_jobs(runtime.engine):
            wake.set()
    except Exception:
        log.exception("could not release the leases of stopped workers")
    try:
        warm_up(settings)
    except Exception:
        log.exception("warming up failed; the first page read will pay for it")
    if periodic:
        Scheduler(runtime, stop).start()
    worker = _worker(runtime, wake, stop, f"cesja-worker-{number}")
    ready.set()
    log.info("worker process %d ready", number)
    while not stop.is_set():
        # Cleared before looking, never after: work committed while this one looks either
        # is found now or leaves the flag set for the wait below.
        wake.clear()
        if not worker.run_one():
            wake.wait(PROCESS_POLL_SECONDS)
    runtime.engine.dispose()


def _exit_when_orphaned(parent: int) -> None:
    """End this worker process, even in the middle of a job, once its parent is gone (killed
    with SIGKILL): nobody would stop or restart it. Its job runs again when the service next
    starts on this host, or when its lease runs out."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.error("the process that started this worker (pid %d) is gone: exiting", parent)
    os._exit(1)


def warm_up(settings: Settings) -> None:
    """Pay now what the first page read would: tesseract's model, and the font's shapes and
    everything else the reader keeps, at a scan's and at a fax's resolution.

    A made-up form page, rendered under a key of its own, is read and thrown away.
    """
    import secrets

    import numpy as np

    from cesja.demo import EXAMPLE_CASE
    from cesja.forms import printable
    from documents import render_page
    from documents.layout import Party
    from documents.raster import render_gray
    from ocr import PageImage, read_page
    from ocr._exec.tesseract import read_zone

    read_zone(np.full((40, 300), 255, np.uint8), dpi=300, tessdata=settings.tessdata)
    key = secrets.token_bytes(32)
    form = printable(EXAMPLE_CASE)
    # The company's page as a 300 dpi grey scan, the person's as a fax.
    pages: list[tuple[Party, int, bool]] = [
        ("current_registrant", 300, False),
        ("new_registrant", FAX_DPI, True),
    ]
    for party, dpi, bilevel in pages:
        gray = render_gray(render_page(form, party, key), 1, dpi)
        if bilevel:
            gray = np.where(gray < 128, 0, 255).astype(np.uint8)
        page = PageImage(
            index=0,
            gray=gray,
            dpi=float(dpi),
            color=None,
            source="pdf-render",
            bilevel=bilevel,
            stretched=False,
        )
        read_page(page, key=key, lookup=lambda _case_id: form, tessdata=settings.tessdata)
