"""Two staff deciding on one case at the same moment, on PostgreSQL: the case row lock applies
the decisions one after the other, and the version column catches a write on a stale read."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from cesja.api.deps import SessionDep
from cesja.app import create_app
from cesja.casework import cases, lifecycle
from cesja.casework.evidence import case_checks
from cesja.cli import app as cli
from cesja.config import Settings
from cesja.db.models import CaseRow, DecisionRow, EventRow
from tests.cesja.flow import PARTIES, add_page, create_case, runtime_of
from workflow import overall

pytestmark = pytest.mark.postgres

ANNA = {"Authorization": "Bearer staff-anna"}
PIOTR = {"Authorization": "Bearer staff-piotr"}
KEYS = "registrar:reg-key,staff:staff-anna,staff:staff-piotr"


@pytest.fixture
def pg_client(data_dir: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CESJA_DATABASE_URL", pg_url)
    monkeypatch.setenv("CESJA_API_KEYS", KEYS)
    with TestClient(create_app(Settings())) as c:
        yield c


REGISTRAR = {"Authorization": "Bearer reg-key"}


def new_case(client: TestClient) -> str:
    """A case in review: neither party's signature was found."""
    case_id: str = create_case(client, headers=REGISTRAR)["id"]
    for party in PARTIES:
        add_page(runtime_of(client), case_id, party, signature_present=False)
    return case_id


def trail(client: TestClient, case_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/cases/{case_id}/events", headers=ANNA)
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


def test_concurrent_decisions_are_all_applied_in_one_consistent_order(
    pg_client: TestClient, pg_url: str
) -> None:
    """GIVEN a case in review with both signatures failed, on PostgreSQL
    WHEN two members of staff send twelve decisions on the same checks at the same moment
    THEN all are answered 200 and recorded; each decision's `before` is the `after` of the one
    before it on that check (none was made on a stale view), the state is what the checks
    say, and `cesja audit verify` finds the chain intact.
    """
    case_id = new_case(pg_client)
    checks = [f"{p}.signature_present" for p in PARTIES]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def staff(headers: dict[str, str], decisions: list[str]) -> None:
        barrier.wait()
        for i, decision in enumerate(decisions):
            answer = pg_client.post(
                f"/api/v1/cases/{case_id}/checks/{checks[i % 2]}",
                json={"decision": decision, "reason": f"decision {i}"},
                headers=headers,
            )
            answers.append(answer.status_code)

    threads = [
        threading.Thread(target=staff, args=(ANNA, ["accept", "reject"] * 3)),
        threading.Thread(target=staff, args=(PIOTR, ["reject", "accept"] * 3)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert answers == [200] * 12
    events = trail(pg_client, case_id)
    decided = [e for e in events if e["type"] == "check_decided"]
    assert len(decided) == 12
    assert len({e["actor"] for e in decided}) == 2
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    last_status = {name: "failed" for name in checks}
    for event in decided:
        name = event["data"]["check"]
        assert event["data"]["before"] == last_status[name], event
        last_status[name] = event["data"]["after"]
    states = [e["data"] for e in events if e["type"] == "state_changed"]
    assert all(a["after"] == b["before"] for a, b in itertools.pairwise(states))

    runtime = runtime_of(pg_client)
    with Session(runtime.engine) as session:
        case = session.get_one(CaseRow, case_id)
        expected = overall(case_checks(session, case, require_original=False))
        assert case.state == expected == states[-1]["after"]
        assert len(session.exec(select(DecisionRow)).all()) == 12
    verified = CliRunner().invoke(cli, ["audit", "verify", "--case", case_id])
    assert verified.exit_code == 0, verified.output
    assert "1 case(s) checked, 0 broken" in verified.output


def _waiting_for_locks(pg_url: str) -> int:
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
        return int(row[0]) if row else 0


def test_the_second_decision_waits_for_the_first_and_builds_on_it(
    pg_client: TestClient, pg_url: str
) -> None:
    """GIVEN staff A in the middle of a decision (the case row locked, not yet committed)
    WHEN staff B starts a decision on the same check
    THEN B waits on the row lock; once A commits, B sees A's decision as its `before`.
    """
    runtime = runtime_of(pg_client)
    settings = runtime.settings
    case_id = new_case(pg_client)
    name = "current_registrant.signature_present"
    b_done = threading.Event()

    def staff_b() -> None:
        with Session(runtime.engine, expire_on_commit=False) as session:
            case = cases.get_case(session, case_id, for_update=True)
            lifecycle.decide_check(session, settings, case, name, "reject", "B", actor="staff:b")
            session.commit()
        b_done.set()

    with Session(runtime.engine, expire_on_commit=False) as a:
        case = cases.get_case(a, case_id, for_update=True)
        lifecycle.decide_check(a, settings, case, name, "accept", "A", actor="staff:a")
        b = threading.Thread(target=staff_b)
        b.start()
        deadline = time.monotonic() + 10
        while _waiting_for_locks(pg_url) == 0:
            assert time.monotonic() < deadline, "B never waited for the lock"
            time.sleep(0.02)
        assert not b_done.is_set()
        a.commit()
    b.join(timeout=10)
    assert b_done.is_set()

    decided = [e for e in trail(pg_client, case_id) if e["type"] == "check_decided"]
    assert [(e["actor"], e["data"]["before"], e["data"]["after"]) for e in decided] == [
        ("staff:a", "failed", "accepted"),
        ("staff:b", "accepted", "failed"),
    ]


def test_the_version_column_refuses_a_write_on_a_stale_read(
    pg_client: TestClient, pg_url: str
) -> None:
    """GIVEN two sessions that read the case without locking it
    WHEN both decide, one after the other, each on what it read
    THEN the second's write fails with StaleDataError and leaves nothing behind: no lost
    update, no decision or event recorded on the strength of a stale state.
    """
    runtime = runtime_of(pg_client)
    settings = runtime.settings
    case_id = new_case(pg_client)
    name = "current_registrant.signature_present"
    first = Session(runtime.engine, expire_on_commit=False)
    second = Session(runtime.engine, expire_on_commit=False)
    try:
        case_1 = cases.get_case(first, case_id)
        case_2 = cases.get_case(second, case_id)
        lifecycle.decide_check(first, settings, case_1, name, "accept", "A", actor="staff:a")
        first.commit()
        with pytest.raises(StaleDataError):
            lifecycle.decide_check(second, settings, case_2, name, "reject", "B", actor="staff:b")
            second.commit()
        second.rollback()
    finally:
        first.close()
        second.close()

    with Session(runtime.engine) as session:
        decisions = session.exec(select(DecisionRow.actor)).all()
        assert decisions == ["staff:a"]
        actors = session.exec(
            select(EventRow.actor).where(col(EventRow.type) == "check_decided")
        ).all()
        assert actors == ["staff:a"]


def test_a_stale_write_in_a_request_is_answered_409(pg_client: TestClient) -> None:
    """GIVEN a request that read the case, and another writer that changed it meanwhile
    WHEN the request writes the case
    THEN the answer is 409 telling the caller to reload and try again.
    """
    runtime = runtime_of(pg_client)
    case_id = create_case(pg_client, headers=REGISTRAR)["id"]
    app: FastAPI = pg_client.app  # type: ignore[assignment]

    # A route standing in for any request whose read is overtaken by another writer.
    @app.post("/test/overtaken/{case_id}")
    def overtaken(case_id: str, session: SessionDep) -> None:
        case = cases.get_case(session, case_id)
        with Session(runtime.engine) as other:
            lifecycle.transition(
                other, runtime.settings, cases.get_case(other, case_id), "cancel", actor="x"
            )
            other.commit()
        lifecycle.transition(session, runtime.settings, case, "reject", actor="y")

    answer = pg_client.post(f"/test/overtaken/{case_id}")
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "case_changed",
        "message": "the case changed meanwhile, reload and try again",
    }
    with Session(runtime.engine) as session:
        assert session.get_one(CaseRow, case_id).state == "cancelled"
