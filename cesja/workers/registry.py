"""What background work there is: each kind of job, how it runs, how long it may take, what
to record when it is given up; and one worker's loop over them."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import Engine

from cesja.casework import audit_log, deadlines, notices, retention, webhooks
from cesja.config import Settings
from cesja.db import jobs
from cesja.intake import handling, processing, received
from cesja.runtime import Runtime

log = logging.getLogger("cesja.workers")


def job_kinds(settings: Settings) -> dict[str, jobs.JobKind]:
    time_limit = timedelta(seconds=settings.job_seconds)

    def reading(name: str) -> jobs.JobKind:
        # A page that crashes its worker is tried again twice (a worker may die of something
        # else); one over its budget is given up at once (it would be again).
        return jobs.JobKind(
            name=name,
            lease=timedelta(minutes=10),
            max_attempts=3,
            retry_after=lambda attempt: timedelta(seconds=30 * attempt),
            time_limit=time_limit,
        )

    return {
        processing.READ_PAGE: reading(processing.READ_PAGE),
        processing.PROCESS_SCAN: reading(processing.PROCESS_SCAN),
        handling.READ_ASSIGNED_PAGE: reading(handling.READ_ASSIGNED_PAGE),
        # Receiver failures are retried by the delivery itself (its own policy and jobs);
        # these retries are for the service failing (database away) and must not give up soon,
        # or a pending notice would be left without a job.
        webhooks.DELIVER_WEBHOOK: jobs.JobKind(
            name=webhooks.DELIVER_WEBHOOK,
            lease=timedelta(minutes=10),
            max_attempts=50,
            retry_after=lambda attempt: min(timedelta(seconds=30 * attempt), timedelta(hours=1)),
            time_limit=time_limit,
            priority=0,
        ),
        # Likewise for notices: the SMTP server's refusals are retried by the notice itself.
        notices.SEND_NOTICE: jobs.JobKind(
            name=notices.SEND_NOTICE,
            lease=timedelta(minutes=10),
            max_attempts=50,
            retry_after=lambda attempt: min(timedelta(seconds=30 * attempt), timedelta(hours=1)),
            time_limit=time_limit,
            priority=0,
        ),
        deadlines.CHECK_DEADLINES: jobs.JobKind(
            name=deadlines.CHECK_DEADLINES,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(seconds=30),
            time_limit=time_limit,
        ),
        retention.PURGE_ENDED_CASES: jobs.JobKind(
            name=retention.PURGE_ENDED_CASES,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(minutes=5),
            time_limit=time_limit,
        ),
        jobs.PURGE_JOBS: jobs.JobKind(
            name=jobs.PURGE_JOBS,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(minutes=5),
            time_limit=time_limit,
        ),
        audit_log.ANCHOR_AUDIT: jobs.JobKind(
            name=audit_log.ANCHOR_AUDIT,
            lease=timedelta(minutes=10),
            max_attempts=2,
            retry_after=lambda attempt: timedelta(minutes=5),
            time_limit=time_limit,
        ),
    }


def handlers(runtime: Runtime) -> dict[str, jobs.Handler]:
    return {
        processing.READ_PAGE: lambda job: processing.read_scan_page(runtime, job.ref),
        processing.PROCESS_SCAN: lambda job: processing.split_scan(runtime, job.ref),
        handling.READ_ASSIGNED_PAGE: lambda job: handling.read_assigned_page(runtime, job.ref),
        webhooks.DELIVER_WEBHOOK: lambda job: webhooks.attempt(runtime, job.ref, job_id=job.id),
        notices.SEND_NOTICE: lambda job: notices.attempt(runtime, job.ref, job_id=job.id),
        deadlines.CHECK_DEADLINES: lambda job: _check_deadlines(runtime),
        jobs.PURGE_JOBS: lambda job: _purge_jobs(runtime),
        retention.PURGE_ENDED_CASES: lambda job: _purge_ended_cases(runtime),
        audit_log.ANCHOR_AUDIT: lambda job: _anchor_audit(runtime),
    }


def give_up_handlers(runtime: Runtime) -> dict[str, jobs.GiveUp]:
    """What to record when a job will not run again: a page nobody could read is unreadable,
    with why; a scan whose pages could not even be counted is `failed`; so is an e-mail the
    service could not send."""
    return {
        processing.READ_PAGE: lambda job, error: processing.give_up_page(runtime, job.ref, error),
        processing.PROCESS_SCAN: lambda job, error: processing.give_up(runtime, job.ref, error),
        handling.READ_ASSIGNED_PAGE: lambda job, error: handling.give_up_assigned(
            runtime, job.ref, error
        ),
        notices.SEND_NOTICE: lambda job, error: notices.give_up(runtime, job.ref, error),
    }


def job_loop(
    runtime: Runtime,
    wake: jobs.Flag,
    stop: jobs.Flag,
    name: str,
    on_job: jobs.OnJob | None = None,
) -> jobs.Worker:
    return jobs.Worker(
        runtime.engine,
        job_kinds(runtime.settings),
        handlers(runtime),
        wake,
        stop,
        name=name,
        give_up=give_up_handlers(runtime),
        on_job=on_job,
    )


def _check_deadlines(runtime: Runtime) -> None:
    deadlines.run(runtime)


def _purge_jobs(runtime: Runtime) -> None:
    """Jobs that ended, and the record of refused uploads, older than the retention."""
    kept = timedelta(days=runtime.settings.job_retention_days)
    purged = jobs.purge(runtime.engine, older_than=kept)
    refusals = received.forget_refusals(runtime.engine, older_than=kept)
    if purged or refusals:
        log.info(
            "purged %d job(s) and %d refused upload(s) over %g day(s) old",
            purged,
            refusals,
            runtime.settings.job_retention_days,
        )


def _purge_ended_cases(runtime: Runtime) -> None:
    retention.purge_ended(runtime)


def _anchor_audit(runtime: Runtime) -> None:
    anchored = audit_log.anchor_all(runtime)
    if anchored:
        log.info("anchored the audit trail's head of %d case(s)", anchored)


def resume_left_jobs(engine: Engine) -> int:
    """Free the leases of processes of this host that stopped; how many jobs were freed."""
    freed = jobs.release_dead_leases(engine)
    if freed:
        log.info("resuming %d job(s) left by a process that stopped", freed)
    return freed
