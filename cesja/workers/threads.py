"""Workers as threads of the calling process: for the tools that read in-process (`cesja
ingest`, `cesja demo`) and the tests. The service itself reads in worker processes
(`cesja.workers.supervisor`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import ocr
from cesja.runtime import Runtime
from cesja.workers.registry import job_loop, resume_left_jobs
from cesja.workers.scheduler import Scheduler

log = logging.getLogger("cesja.workers")


def drain(runtime: Runtime) -> int:
    """Run every due job in this thread until none is left; returns how many ran."""
    ocr.limit_threads()
    stop = threading.Event()
    worker = job_loop(runtime, runtime.work_ready, stop, "cesja-drain")
    ran = 0
    while worker.run_one():
        ran += 1
    return ran


def start(runtime: Runtime, count: int, *, periodic: bool = True) -> Callable[[], None]:
    """Start `count` worker threads (one tesseract handle each) and, if `periodic`, the thread
    that enqueues periodic jobs; returns their stop."""
    stop = threading.Event()
    if count <= 0:
        return stop.set
    ocr.limit_threads()
    resume_left_jobs(runtime.engine)
    threads: list[threading.Thread] = [
        job_loop(runtime, runtime.work_ready, stop, f"cesja-worker-{i}") for i in range(count)
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
