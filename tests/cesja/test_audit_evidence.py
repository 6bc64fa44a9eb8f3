"""Audit evidence: whoever can write to the database, but holds no audit key, cannot rewrite a
case's trail unnoticed. Each test does to a real database what such a person would, then runs
`cesja audit verify` as the operator does."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner, Result

from cesja import workers
from cesja.app import create_app
from cesja.casework import audit_log
from cesja.checkpoints import AuditSeal
from cesja.cli import app as cli
from cesja.db.engine import MIGRATIONS
from tests.cesja.flow import case_in, runtime_of
from tests.conftest import REGISTRAR, STAFF
from workflow import GENESIS, content_of, event_hash

AUDIT_KEY = "an audit key of more than thirty-two characters, for the tests"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service on SQLite or PostgreSQL; `cesja` run by a test reads the same settings."""
    monkeypatch.setenv("CESJA_AUDIT_KEY", AUDIT_KEY)
    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    with TestClient(create_app()) as client:
        yield client


def verify(*args: str) -> Result:
    return CliRunner().invoke(cli, ["audit", "verify", *args])


def trail(client: TestClient, case_id: str) -> list[dict[str, object]]:
    answer = client.get(f"/api/v1/cases/{case_id}/events", headers=STAFF)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def sql(client: TestClient, statement: str, **values: object) -> int:
    with runtime_of(client).engine.begin() as conn:
        return conn.execute(text(statement), values).rowcount


def rechain_without_key(client: TestClient, case_id: str, *, marker: str | None = None) -> None:
    """What someone with the database but not the key can do after editing an event: every
    hash from the genesis on recomputed with plain sha256, each event linked to the new one
    before it (and, with `marker`, each event marked as chained that way)."""
    with Session(runtime_of(client).engine) as session:
        prev = GENESIS
        for row in audit_log.events(session, case_id):
            row.prev_hash = prev
            row.hash = prev = event_hash(prev, content_of(row))
            if marker is not None:
                row.chain = marker
            session.add(row)
        session.commit()


def test_an_intact_trail_verifies_and_its_head_is_anchored(service: TestClient) -> None:
    """GIVEN a cancelled case, nothing touched
    WHEN the operator runs `cesja audit verify`
    THEN it exits 0; the checkpoint file in the scan store holds the case's head as the API
    shows it, readable by the service's user only."""
    case = case_in(service, "cancelled")["id"]

    result = verify()

    assert result.exit_code == 0, result.output
    assert "1 case(s) checked, 0 broken" in result.output
    checkpoints = runtime_of(service).audit.path
    assert oct(stat.S_IMODE(checkpoints.stat().st_mode)) == oct(0o600)
    assert f'"head":"{trail(service, case)[-1]["hash"]}"' in checkpoints.read_text()


def test_deleting_the_newest_events_is_reported(service: TestClient) -> None:
    """GIVEN two cancelled cases, one of whose newest event (the cancellation) is deleted in
    the database: what remains is a shorter chain that holds by itself
    WHEN the operator runs `cesja audit verify`, and again after the checkpoint line was
    edited to the shorter trail's head
    THEN both times it exits non-zero and names that case and only it: events are missing
    after the last one left; the edited line no longer verifies under the key."""
    tampered = case_in(service, "cancelled")["id"]
    intact = case_in(service, "cancelled")["id"]
    events = trail(service, tampered)
    last = len(events)

    assert sql(service, "DELETE FROM events WHERE case_id = :c AND seq = :s", c=tampered, s=last)
    result = verify()

    assert result.exit_code != 0
    assert f"{tampered}: DELETED: events after {last - 1} are missing" in result.output
    assert f"{tampered}: BROKEN" not in result.output  # the chain alone cannot show it
    assert intact not in result.output
    assert "2 case(s) checked, 1 broken" in result.output

    checkpoints = runtime_of(service).audit.path
    lines = checkpoints.read_text()
    shorter = events[-2]["hash"]
    checkpoints.write_text(
        lines.replace(
            f'"seq":{last},"head":"{events[-1]["hash"]}"', f'"seq":{last - 1},"head":"{shorter}"'
        )
    )
    again = verify()
    assert again.exit_code != 0
    assert "does not verify" in again.output and tampered in again.output
    assert "1 problem(s) with the checkpoint file" in again.output


def test_an_edited_event_is_reported_even_with_every_later_hash_recomputed(
    service: TestClient,
) -> None:
    """GIVEN two cancelled cases: in one, the reason of the cancellation is rewritten and every
    hash recomputed, the events still marked as keyed; in the other the same, with every event
    re-marked as chained by plain sha256, as events from before the audit key are
    WHEN the operator runs `cesja audit verify`
    THEN it exits non-zero: the first case's event fails its keyed MAC, and both differ from
    what their checkpoints hold."""
    keyed = case_in(service, "cancelled")["id"]
    downgraded = case_in(service, "cancelled")["id"]
    for case in (keyed, downgraded):
        cancelled = len(trail(service, case))
        assert sql(
            service,
            "UPDATE events SET data = :data WHERE case_id = :c AND seq = :s",
            data='{"event": "cancel", "before": "awaiting_documents", "after": "cancelled", '
            '"reason": "the customer asked for it"}',
            c=case,
            s=cancelled,
        )
    rechain_without_key(service, keyed)
    rechain_without_key(service, downgraded, marker="sha256")

    result = verify()

    assert result.exit_code != 0
    assert f"{keyed}: BROKEN at event 1" in result.output
    assert f"{keyed}: REWRITTEN" in result.output
    assert f"{downgraded}: BROKEN" not in result.output  # a plain chain holds by itself...
    assert f"{downgraded}: REWRITTEN: event" in result.output  # ...but not its checkpoint
    assert "2 case(s) checked, 2 broken" in result.output


def test_reordered_events_are_reported(service: TestClient) -> None:
    """GIVEN a rejected case whose events 1 and 2 swap places in the database
    WHEN the operator runs `cesja audit verify --case` for it, and for a case never made
    THEN it exits non-zero, naming the broken link at the first of them; and for the case
    never made, saying it knows nothing of it."""
    case = case_in(service, "rejected")["id"]
    assert len(trail(service, case)) >= 2
    with runtime_of(service).engine.begin() as conn:
        for was, becomes in ((1, -1), (2, 1), (-1, 2)):
            conn.execute(
                text("UPDATE events SET seq = :b WHERE case_id = :c AND seq = :w"),
                {"b": becomes, "c": case, "w": was},
            )

    result = verify("--case", case)

    assert result.exit_code != 0
    assert f"{case}: BROKEN at event 1" in result.output
    assert f"{case}: REWRITTEN" in result.output
    unknown = verify("--case", "CS-0000-0000")
    assert unknown.exit_code != 0 and "CS-0000-0000: UNKNOWN" in unknown.output


def test_a_case_deleted_entirely_is_reported(service: TestClient) -> None:
    """GIVEN two cancelled cases, one deleted from the database with its whole trail
    WHEN the operator runs `cesja audit verify`
    THEN it exits non-zero, saying that case is not in the database though anchored."""
    gone = case_in(service, "cancelled")["id"]
    kept = case_in(service, "cancelled")["id"]
    for table in (
        "events",
        "decisions",
        "case_domains",
        "form_versions",
        "customer_links",
        "customer_uploads",
        "notices",
    ):
        sql(service, f"DELETE FROM {table} WHERE case_id = :c", c=gone)
    assert sql(service, "DELETE FROM cases WHERE id = :c", c=gone)
    assert service.get(f"/api/v1/cases/{gone}", headers=STAFF).status_code == 404

    result = verify()

    assert result.exit_code != 0
    assert f"{gone}: MISSING: the case is not in the database" in result.output
    assert kept not in result.output


def test_an_event_rolled_back_with_its_savepoint_is_never_anchored(service: TestClient) -> None:
    """GIVEN a case, and one transaction holding two writes as the API batches them on SQLite,
    each in a savepoint: the first adds an event, the second adds one more then fails (its
    savepoint rolled back)
    WHEN the transaction commits and the operator verifies
    THEN it exits 0: the checkpoint holds the first write's event, the trail's head, and
    nothing of the one rolled back."""
    case = case_in(service, "awaiting_documents")["id"]
    with Session(runtime_of(service).engine) as session:
        with session.begin_nested():
            audit_log.append(session, case, "note", "staff:anna", {"text": "committed"})
        with contextlib.suppress(RuntimeError), session.begin_nested():
            audit_log.append(session, case, "note", "staff:anna", {"text": "rolled back"})
            raise RuntimeError("this write fails after its event")
        session.commit()

    result = verify()

    assert result.exit_code == 0, result.output
    events = trail(service, case)
    assert events[-1]["data"] == {"text": "committed"}
    lines = runtime_of(service).audit.path.read_text().splitlines()
    assert f'"seq":{len(events)},"head":"{events[-1]["hash"]}"' in lines[-1]
    assert f'"seq":{len(events) + 1}' not in "".join(lines)


def test_a_trail_from_before_the_audit_key_verifies_and_is_anchored_by_the_hourly_job(
    service: TestClient,
) -> None:
    """GIVEN a case whose events were written before the audit key existed: the schema taken
    back to revision 0013 and migrated again (which marks every event there as plain sha256),
    its hashes plain sha256, and no checkpoint file yet
    WHEN the operator verifies; then the hourly job runs; then the case is cancelled
    THEN verify first asks for the trails to be anchored; after the job it exits 0 with the
    old events unchanged; the new keyed event follows the plain ones and verifies too; and
    deleting it afterwards is reported."""
    case = case_in(service, "in_review")["id"]
    runtime = runtime_of(service)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", runtime.settings.sqlalchemy_url)
    command.downgrade(config, "0013")
    command.upgrade(config, "head")
    rechain_without_key(service, case)  # as the version before the key wrote them
    runtime.audit.flush()
    runtime.audit.path.unlink()

    first = verify()
    assert first.exit_code != 0
    assert "cesja audit anchor" in first.output

    assert audit_log.ANCHOR_AUDIT in workers.schedule_periodic(runtime.engine, runtime.settings)
    workers.drain(runtime)
    assert verify().exit_code == 0, verify().output
    anchored = CliRunner().invoke(cli, ["audit", "anchor"])
    assert "0 case(s) anchored" in anchored.output  # the job left nothing behind

    answer = service.post(
        f"/api/v1/cases/{case}/cancel", json={"reason": "withdrawn"}, headers=REGISTRAR
    )
    assert answer.status_code == 200, answer.text
    after = verify()
    assert after.exit_code == 0, after.output

    events = trail(service, case)
    assert sql(service, "DELETE FROM events WHERE case_id = :c AND seq = :s", c=case, s=len(events))
    assert f"{case}: DELETED" in verify().output


def test_without_an_audit_key_the_service_warns_and_keys_the_trail_from_a_private_file(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN no CESJA_AUDIT_KEY (a development install, `make run`)
    WHEN the service starts and `cesja doctor` runs
    THEN a warning says the trail is keyed from a file beside the database; the key is
    generated once into the data dir, readable by its owner only; doctor says the same."""
    with caplog.at_level(logging.WARNING, logger="cesja"), TestClient(create_app()) as client:
        case_in(client, "cancelled")
    assert any("NO CESJA_AUDIT_KEY" in r.getMessage() for r in caplog.records)
    key_file = data_dir / "audit_key"
    assert oct(stat.S_IMODE(key_file.stat().st_mode)) == oct(0o600)
    assert len(key_file.read_text().strip()) >= 32
    assert verify().exit_code == 0

    doctor = CliRunner().invoke(cli, ["doctor"])
    assert f"audit key: CESJA_AUDIT_KEY unset: the audit trail is keyed with {key_file}" in (
        doctor.output
    )


def _anchor_many(store: Path, writer: int) -> None:
    seal = AuditSeal(AUDIT_KEY.encode(), store)
    for n in range(1, 41):
        seal.anchor([(f"CS-{writer}", n, f"{n:064x}")], at=datetime.now(UTC))


def test_checkpoints_appended_by_several_processes_at_once_all_verify(tmp_path: Path) -> None:
    """GIVEN four processes each appending 40 checkpoints to one file at the same time
    WHEN the file is read back
    THEN all 160 lines are whole and each one's MAC holds, chained to the line before it."""
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_anchor_many, args=(tmp_path, w)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0

    read = AuditSeal(AUDIT_KEY.encode(), tmp_path).read()

    assert read.problems == []
    assert len(read.checkpoints) == 160
    assert {c.case_id for c in read.checkpoints} == {f"CS-{w}" for w in range(4)}
