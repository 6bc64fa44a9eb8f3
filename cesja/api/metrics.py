"""`GET /metrics`: the processes' counts (`cesja.metrics`) and, read from the database at each
scrape, the queue, the jobs given up, the notices, the cases and the workers heard from."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlmodel import Session

from cesja import heartbeats, metrics, operations, workers
from cesja.api.deps import RuntimeDep, Unauthenticated
from cesja.runtime import Runtime
from cesja.webhooks import STATUSES
from workflow import CaseMachine

log = logging.getLogger("cesja.api.metrics")

router = APIRouter(tags=["operations"])


class FromDatabase(Collector):
    """Gauges read from the database when scraped: the same on every API process."""

    def __init__(self, engine: Engine, kinds: list[str]):
        self.engine = engine
        self.kinds = kinds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "cesja_database_up", "1 if the database answered this scrape, 0 if not."
        )
        try:
            families = list(self._read())
        except Exception as err:  # a scrape must say the database is away, not fail
            log.warning("metrics: the database did not answer: %s", type(err).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as session:
            queue = operations.queue(session, self.kinds)
            given_up = operations.given_up_by_kind(session)
            notices = operations.notices_by_status(session)
            cases = operations.cases_by_state(session)
        reporting = heartbeats.recent(self.engine)
        jobs = GaugeMetricFamily(
            "cesja_queue_jobs",
            "Jobs not done, by kind and state: waiting (due, no worker has it), running (a "
            "worker has it), scheduled (due later: a retry, a notice's next attempt).",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "cesja_queue_oldest_waiting_seconds",
            "How long the longest-waiting due job of each kind has waited; 0 when none waits.",
            labels=["kind"],
        )
        for of_kind in queue:
            jobs.add_metric([of_kind.kind, "waiting"], of_kind.waiting)
            jobs.add_metric([of_kind.kind, "running"], of_kind.running)
            jobs.add_metric([of_kind.kind, "scheduled"], of_kind.scheduled)
            oldest.add_metric([of_kind.kind], of_kind.oldest_waiting_seconds)
        yield jobs
        yield oldest
        gave_up = GaugeMetricFamily(
            "cesja_given_up_jobs",
            "Jobs given up that the queue still keeps (CESJA_JOB_RETENTION_DAYS), by kind, "
            "from every process on every machine; the back office lists them.",
            labels=["kind"],
        )
        for kind in sorted({*self.kinds, *given_up}):
            gave_up.add_metric([kind], given_up.get(kind, 0))
        yield gave_up
        by_status = GaugeMetricFamily(
            "cesja_webhook_notices",
            "Transfer-ready notices by status (pending: still being tried; dead and gone: "
            "waiting for a person).",
            labels=["status"],
        )
        for status in sorted({*STATUSES, *notices}):
            by_status.add_metric([status], notices.get(status, 0))
        yield by_status
        by_state = GaugeMetricFamily("cesja_cases", "Cases by state.", labels=["state"])
        for state in sorted({*(s.id for s in CaseMachine.states), *cases}):
            by_state.add_metric([state], cases.get(state, 0))
        yield by_state
        heard = GaugeMetricFamily(
            "cesja_workers_reporting",
            "Worker processes on any machine that reported in the last "
            f"{heartbeats.RECENT.total_seconds():.0f} s.",
        )
        heard.add_metric([], len(reporting))
        yield heard


def _check_key(runtime: Runtime, authorization: str | None) -> None:
    expected = runtime.settings.metrics_key
    if not expected:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated(
            "/metrics needs Authorization: Bearer <CESJA_METRICS_KEY> (in Prometheus: the "
            "scrape job's authorization credentials)"
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {}},
            "description": "Prometheus's text format; no case, person or scan is named in it.",
        },
        401: {"description": "CESJA_METRICS_KEY is set and was not given"},
    },
)
def metrics_text(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Counts for Prometheus: pages read, the queue, notices, workers, request latency."""
    _check_key(runtime, authorization)
    registry = metrics.registry()
    registry.register(FromDatabase(runtime.engine, sorted(workers.job_kinds(runtime.settings))))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
