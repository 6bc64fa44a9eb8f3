"""Background work: the jobs of the database's queue run by worker processes (or threads).

- `registry`: each kind of job, how it runs, its limits, what is recorded when it is given up;
- `scheduler`: periodic jobs, each run enqueued once however many workers look;
- `supervisor`: the worker processes, their doorbell, their budgets of memory and time, and
  a clean stop; a new process for each that dies;
- `threads`: the same job loop in threads of the calling process (tools, tests);
- `heartbeats`: worker processes on any machine saying they are alive;
- `work`: what the database says of the work: the queue, jobs given up, notices.
"""

from cesja.workers.registry import job_kinds
from cesja.workers.scheduler import periodic_tasks, schedule_periodic
from cesja.workers.supervisor import (
    STOP_GRACE_SECONDS,
    Doorbell,
    WorkerProcesses,
    start_processes,
    warm_up,
)
from cesja.workers.threads import drain, start

__all__ = [
    "STOP_GRACE_SECONDS",
    "Doorbell",
    "WorkerProcesses",
    "drain",
    "job_kinds",
    "periodic_tasks",
    "schedule_periodic",
    "start",
    "start_processes",
    "warm_up",
]
