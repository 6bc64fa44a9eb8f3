"""`cesja audit verify`: an event changed in the database behind the service's back is found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from cesja.cli import app as cli
from tests.cesja.flow import case_in, runtime_of


def test_a_tampered_event_is_named_with_its_case_and_seq(client: TestClient) -> None:
    """GIVEN two cases with intact trails
    WHEN someone rewrites the reason of one case's cancellation (event 2) directly in the
    database, and the operator runs `cesja audit verify`
    THEN it exits non-zero, naming that case and event 2, and only that case.
    """
    tampered = case_in(client, "cancelled")["id"]
    intact = case_in(client, "rejected")["id"]
    runner = CliRunner()
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0

    with runtime_of(client).engine.begin() as conn:
        changed = conn.execute(
            text(
                "UPDATE events SET data = :data WHERE case_id = :case AND seq = 2 "
                "AND type = 'state_changed'"
            ),
            {
                "data": '{"event": "cancel", "before": "awaiting_documents", '
                '"after": "cancelled", "reason": "the customer asked for it"}',
                "case": tampered,
            },
        )
        assert changed.rowcount == 1

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code != 0
    assert f"{tampered}: BROKEN at event 2" in result.output
    assert "content" in result.output
    assert intact not in result.output
    assert "2 case(s) checked, 1 broken" in result.output
    one = runner.invoke(cli, ["audit", "verify", "--case", intact])
    assert one.exit_code == 0, one.output
