"""Worker processes: started by `cesja serve` or `cesja worker`, one job loop each, held to
their budget and started again when one dies.

Reading a page is CPU-heavy and partly pure Python: threads share one interpreter lock, so
the service reads in worker processes, restarted when one dies (a crash in tesseract or
OpenCV takes only its own process down). A supervisor thread in the parent holds each process
to its budget, the memory it may hold and the time one job may take, and ends a process over
it: its job is given up with why, and a new process takes its place.

Parent and workers share no lock: a process killed at any moment must leave none held. (A
multiprocessing Event is a condition with a lock and counters; a worker killed inside it
made every later `set` wait forever, and the service never stopped.) The doorbell is a
counter in shared memory, a worker's state a few numbers beside it, and stopping is a signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

import ocr
from cesja.casework.forms import printable
from cesja.config import Settings
from cesja.db import jobs, make_engine
from cesja.example import EXAMPLE_CASE
from cesja.intake import processing
from cesja.observe import logs, metrics
from cesja.runtime import Runtime, keep_what_is_built
from cesja.storage import ScanStore
from cesja.workers import heartbeats
from cesja.workers.registry import give_up_handlers, job_loop, resume_left_jobs
from cesja.workers.scheduler import Scheduler

log = logging.getLogger("cesja.workers")

# --- worker processes ---------------------------------------------------------------------------

# How often an idle worker process looks for due jobs without being rung: workers on other
# machines ring nobody here.
PROCESS_POLL_SECONDS = 0.5
# How often a waiting worker looks at the doorbell: the delay between a commit and its job.
DOORBELL_POLL_SECONDS = 0.02
# How often a worker process checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 0.2
# How often the supervisor looks at each worker's memory and the time its job has taken.
SUPERVISE_SECONDS = 0.1
# A worker process that dies sooner than this after starting is started again later each time.
STEADY_SECONDS = 30.0
MAX_RESTART_DELAY_SECONDS = 60.0
# A worker that stopped on its own when told (a signal to the whole process group reaches it
# before its parent has begun to stop) is started again only after this.
STOPPED_RESTART_DELAY_SECONDS = 5.0
# How long `stop` lets each worker process finish the job in hand before ending it: within
# the 30 s a service manager gives a service to stop, with uvicorn's own wait before.
STOP_GRACE_SECONDS = 20.0
# The address space a worker may map, beyond what it maps when warm, in budgets of memory:
# a single huge allocation fails at once (MemoryError) instead of racing the supervisor.
ADDRESS_SPACE_BUDGETS = 2


class Doorbell:
    """Rung when work is committed, by any process; idle workers look at it often.

    A counter in shared memory: ringing adds one, a worker remembers the count it last saw
    (`clear`) and is woken when it changes. Nothing is ever locked, so a worker killed at any
    moment leaves nothing for the others to wait on. Two rings at the same instant may count
    once; a ring is a hint, and idle workers look for due jobs every PROCESS_POLL_SECONDS.
    """

    def __init__(self, context: SpawnContext):
        self._rings: Any = context.RawValue(ctypes.c_uint64, 0)
        self._seen = 0

    def set(self) -> None:
        self._rings.value = (self._rings.value + 1) % 2**64

    def is_set(self) -> bool:
        return bool(self._rings.value != self._seen)

    def clear(self) -> None:
        self._seen = self._rings.value

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(DOORBELL_POLL_SECONDS)
        return True


class _Slot:
    """What the parent knows of one worker process without asking it: whether it is ready,
    the job in hand and by when that job must end (time.monotonic(), shared by every process
    on Linux). Written by the worker only, in an order the parent may read at any moment."""

    _READY, _JOB, _DEADLINE = range(3)

    def __init__(self, context: SpawnContext):
        self._values: Any = context.RawArray(ctypes.c_double, 3)

    @property
    def ready(self) -> bool:
        return bool(self._values[self._READY])

    def set_ready(self) -> None:
        self._values[self._READY] = 1.0

    def record(self, job: jobs.JobRow | None, kind: jobs.JobKind | None) -> None:
        """`jobs.Worker`'s report of the job it starts, or (None) that it ended."""
        if job is None or kind is None:
            self._values[self._JOB] = 0.0
            self._values[self._DEADLINE] = 0.0
            return
        self._values[self._DEADLINE] = time.monotonic() + kind.time_limit.total_seconds()
        self._values[self._JOB] = float(job.id or 0)

    def job_in_hand(self) -> tuple[int, float] | None:
        """The job's id and deadline, or None when idle (or changing jobs right now)."""
        job, deadline, again = (
            self._values[self._JOB],
            self._values[self._DEADLINE],
            self._values[self._JOB],
        )
        if not job or job != again or not deadline:
            return None
        return int(job), deadline


@dataclass
class _Child:
    """One worker process and what the parent knows of it."""

    number: int
    process: BaseProcess
    slot: _Slot
    started: float  # time.monotonic()
    ended_by_supervisor: bool = False


class WorkerProcesses:
    """The worker processes of one service, each held to its budget and started again when
    it dies, until `stop`."""

    def __init__(self, runtime: Runtime, count: int, *, periodic: bool):
        # Spawned, never forked: the parent has threads, perhaps an event loop and open
        # database connections, none of which survive a fork intact.
        self._context = multiprocessing.get_context("spawn")
        self.runtime = runtime
        self.settings = runtime.settings
        self.wake = Doorbell(self._context)
        self.periodic = periodic
        self._memory_bytes = self.settings.worker_memory_mb * 1024 * 1024
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._children = [self._spawn(number) for number in range(count)]
        self._supervisor = threading.Thread(
            target=self._supervise, name="cesja-supervisor", daemon=True
        )
        self._supervisor.start()
        log.info(
            "started %d worker process(es)%s, each within %d MB and %.0f s a job",
            count,
            " with the scheduler" if periodic else "",
            self.settings.worker_memory_mb,
            self.settings.job_seconds,
        )

    @property
    def pids(self) -> list[int]:
        """The pid of each worker process, the latest one started in each place."""
        with self._lock:
            return [c.process.pid for c in self._children if c.process.pid is not None]

    @property
    def count(self) -> int:
        """How many worker processes this service keeps running."""
        return len(self._children)

    def taking_jobs(self) -> list[str]:
        """The workers (`host:pid`, as their jobs' `leased_by`) running and warm right now."""
        with self._lock:  # a process replaced is closed, under this lock
            return [
                jobs.worker_name(c.process.pid)
                for c in self._children
                if c.process.pid is not None and c.process.exitcode is None and c.slot.ready
            ]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait until every worker process has warmed up and takes jobs; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                children = list(self._children)
            if all(c.slot.ready for c in children):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def begin_stop(self) -> None:
        """Tell every worker process to stop after the job in hand, and start none again.

        Safe in a signal handler: it takes no lock and waits for nothing."""
        self._stopping.set()
        for child in list(self._children):
            pid = child.process.pid
            if pid is not None and child.process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Let each worker process finish its job in hand, end what still runs after `grace`
        seconds, free the jobs of those ended (without counting the run), and return once all
        of them have ended."""
        self.begin_stop()
        self._supervisor.join()
        deadline = time.monotonic() + grace
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
        ended = []
        for child in self._children:
            if child.process.exitcode is None:
                log.warning(
                    "worker process %d (pid %s) still busy after %.0f s: ending it",
                    child.number,
                    child.process.pid,
                    grace,
                )
                child.process.kill()
                child.process.join(5)
                if child.process.pid is not None:
                    ended.append(child.process.pid)
        if ended:
            try:
                jobs.release_stopped(self.runtime.engine, ended)
            except Exception:
                log.exception("could not free the jobs of the worker processes ended")
        for child in self._children:
            if child.process.pid is not None:
                metrics.process_ended(child.process.pid)
        log.info("worker processes stopped")

    def _spawn(self, number: int) -> _Child:
        slot = _Slot(self._context)
        process = self._context.Process(
            target=_worker_process,
            args=(
                self.settings,
                number,
                self.wake,
                slot,
                os.getpid(),
                self.periodic,
                logging.getLogger().getEffectiveLevel(),
            ),
            name=f"cesja-worker-{number}",
            # Ended by multiprocessing's exit handler should the parent exit without `stop`.
            daemon=True,
        )
        process.start()
        return _Child(number, process, slot, time.monotonic())

    def _supervise(self) -> None:
        """Hold each worker process to its budget; start one again when it dies, sooner or
        later as it keeps dying."""
        quick_deaths = [0] * len(self._children)
        due: dict[int, float] = {}  # child number → when to start it again
        while not self._stopping.is_set():
            with self._lock:
                running = [c.process.sentinel for c in self._children if c.number not in due]
            now = time.monotonic()
            timeout = min([SUPERVISE_SECONDS, *(when - now for when in due.values())])
            if running:
                multiprocessing.connection.wait(running, timeout=max(0.0, timeout))
            else:
                self._stopping.wait(max(0.0, timeout))
            if self._stopping.is_set():
                return
            for child in list(self._children):
                if child.number in due:
                    continue
                if child.process.exitcode is None:
                    self._hold_to_budget(child)
                    continue
                lived = time.monotonic() - child.started
                quick = lived < STEADY_SECONDS and not child.ended_by_supervisor
                quick_deaths[child.number] = quick_deaths[child.number] + 1 if quick else 0
                delay = (
                    STOPPED_RESTART_DELAY_SECONDS
                    if child.process.exitcode == 0
                    else _restart_delay(quick_deaths[child.number])
                )
                how = _how_it_ended(child.process.exitcode)
                log.error(
                    "worker process %d (pid %s) %s after %.0f s; starting it again in %.0f s",
                    child.number,
                    child.process.pid,
                    how,
                    lived,
                    delay,
                )
                self._note_what_it_was_doing(child, how)
                if child.process.pid is not None:
                    metrics.process_ended(child.process.pid)
                due[child.number] = time.monotonic() + delay
            now = time.monotonic()
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

    def _hold_to_budget(self, child: _Child) -> None:
        """End the worker process if it holds more memory than it may, or if its job has run
        longer than it may; its job is given up, saying which."""
        pid = child.process.pid
        if pid is None:
            return
        in_hand = child.slot.job_in_hand()
        resident = _resident_bytes(pid)
        if resident > self._memory_bytes:
            why = f"it needed more than {self.settings.worker_memory_mb} MB of memory"
        elif in_hand is not None and time.monotonic() > in_hand[1]:
            why = f"it took more than {self.settings.job_seconds:.0f} s"
        else:
            return
        log.error(
            "worker process %d (pid %d) is over its budget (%s, %d MB held): ending it",
            child.number,
            pid,
            why,
            resident // (1024 * 1024),
        )
        child.ended_by_supervisor = True
        child.process.kill()
        child.process.join(5)
        if in_hand is None:
            return
        try:
            with logs.about(job_id=in_hand[0]):
                jobs.give_up(
                    self.runtime.engine,
                    in_hand[0],
                    why,
                    give_up_handlers(self.runtime),
                    leased_by=jobs.worker_name(pid),
                )
        except Exception:
            # Its lease is freed when the worker starts again, and the job runs again.
            log.exception("could not give up the job of worker process %d", child.number)

    def _note_what_it_was_doing(self, child: _Child, how: str) -> None:
        in_hand = child.slot.job_in_hand()
        if in_hand is None or child.ended_by_supervisor:
            return
        try:
            jobs.note_error(self.runtime.engine, in_hand[0], f"the worker running it {how}")
        except Exception:
            log.exception("could not note why worker process %d ended", child.number)


def _resident_bytes(pid: int) -> int:
    """The memory process `pid` holds (its resident set), 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _restart_delay(quick_deaths: int) -> float:
    """At once after a worker process that ran a while; 1, 2, 4 … 60 s while it keeps dying."""
    if quick_deaths == 0:
        return 0.0
    return float(min(MAX_RESTART_DELAY_SECONDS, 2 ** (quick_deaths - 1)))


def _how_it_ended(exitcode: int) -> str:
    if exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    if exitcode == 0:
        return "stopped"
    return f"exited with code {exitcode}"


def start_processes(runtime: Runtime, count: int, *, periodic: bool = True) -> WorkerProcesses:
    """Start `count` worker processes (one tesseract handle each), each also running the
    scheduler of periodic jobs if `periodic`; `runtime.work_ready` becomes their doorbell.

    The parent must have migrated the database.
    """
    processes = WorkerProcesses(runtime, count, periodic=periodic)
    runtime.work_ready = processes.wake
    return processes


def _worker_process(
    settings: Settings,
    number: int,
    doorbell: Doorbell,
    slot: _Slot,
    parent: int,
    periodic: bool,
    log_level: int,
) -> None:
    """A worker process from start to end: runs jobs until told to stop (SIGTERM, from its
    parent or to the whole process group) or its parent dies."""
    stopping = threading.Event()
    warm = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()
        if not warm.is_set():
            # No job in hand yet, so nothing to finish: warming up would only delay the stop.
            raise SystemExit(0)

    # Ctrl-C in a terminal reaches the whole process group; the parent stops its children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    logs.setup(settings.log_format, level=log_level, text=logs.PROCESS_TEXT_FORMAT)
    metrics.start_in_this_process(page_outcomes=processing.OUTCOMES)
    threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="cesja-parent-watch", daemon=True
    ).start()
    # Not `open_runtime`: the parent has migrated the database and warned about development
    # keys, which a worker process does not use.
    runtime = Runtime(
        settings=settings,
        engine=make_engine(settings.sqlalchemy_url),
        store=ScanStore(settings.scan_store_dir),
        work_ready=doorbell,
    )
    try:
        # A sibling that died (or the process before this one) left its jobs leased.
        if resume_left_jobs(runtime.engine):
            doorbell.set()
    except Exception:
        log.exception("could not release the leases of stopped workers")
    ocr.limit_threads()
    try:
        warm_up(settings)
    except Exception:
        log.exception("warming up failed; the first page read will pay for it")
    keep_what_is_built()
    _limit_address_space(settings.worker_memory_mb)
    if periodic:
        Scheduler(runtime, stopping).start()
    worker = job_loop(runtime, doorbell, stopping, f"cesja-worker-{number}", on_job=slot.record)
    heartbeat = heartbeats.Heartbeat(runtime.engine, jobs.WORKER_ID, stopping)
    heartbeat.start()
    warm.set()
    slot.set_ready()
    metrics.worker_process_ready()
    log.info("worker process %d ready", number)
    while not stopping.is_set():
        # Cleared before looking, never after: work committed while this one looks either
        # is found now or leaves the bell rung for the wait below.
        doorbell.clear()
        if not worker.run_one():
            doorbell.wait(PROCESS_POLL_SECONDS)
    heartbeat.join(timeout=5)
    runtime.engine.dispose()
    log.info("worker process %d stopped", number)


def _limit_address_space(budget_mb: int) -> None:
    """No single allocation may take the process far past its memory budget: what it maps
    now (warm), and ADDRESS_SPACE_BUDGETS budgets more. Past that, NumPy and OpenCV raise
    MemoryError, which fails the page in hand, instead of the machine running out."""
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return
    limit = mapped + ADDRESS_SPACE_BUDGETS * budget_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _exit_when_orphaned(parent: int) -> None:
    """End this worker process, even in the middle of a job, once its parent is gone (killed
    with SIGKILL): nobody would stop or restart it. Its job runs again when the service next
    starts on this host, or when its lease runs out."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    log.error("the process that started this worker (pid %d) is gone: exiting", parent)
    os._exit(1)


def warm_up(settings: Settings) -> None:
    """Have this process read as fast from its first page as from its hundredth: the example
    case's form read once at a scan's and at a fax's resolution (`ocr.warm_up`)."""
    ocr.warm_up(printable(EXAMPLE_CASE), settings.tessdata)
