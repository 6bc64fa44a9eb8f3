"""Staff accounts: an operator adds, resets and disables them with `cesja staff`; a person signs
in to the back office as themselves and what they decide is recorded under their name; a
disabled account's open session ends; passwords are kept only as argon2id hashes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cesja.db.models import StaffRow
from tests.cesja.flow import case_in, runtime_of
from tests.cesja.web.conftest import ORIGIN
from tests.conftest import STAFF

PASSWORD = "correct horse battery staple"


def staff_command(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """`cesja staff ARGS…` as an operator runs it, the password on standard input."""
    stdin = ["--password-stdin"] if password is not None else []
    return subprocess.run(
        [sys.executable, "-m", "cesja.cli", "staff", *args, *stdin],
        input=f"{password}\n" if password is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def sign_in(client: TestClient, username: str, password: str) -> int:
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "next": "/"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    return answer.status_code


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The service on either database; `cesja staff` run by the test uses the same one."""
    from cesja.app import create_app

    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    with TestClient(create_app()) as client:
        yield client


def test_the_operator_manages_accounts_with_cesja_staff(client: TestClient) -> None:
    """GIVEN the service's data dir
    WHEN the operator adds an account, tries a short password and the same username again,
    lists the accounts, resets a password and disables the account
    THEN each says what it did or what is wrong; the password is stored only as an argon2id
    hash; a reset password opens the account and the old one no longer does."""
    added = staff_command("add", "anna", "--name", "Anna Nowak", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "anna (Anna Nowak) added" in added.stdout
    short = staff_command("add", "jan", "--name", "Jan Kowalski", password="short")
    assert short.returncode != 0 and "12 to 1024 characters" in short.stderr
    again = staff_command("add", "anna", "--name", "Anna Inna", password=PASSWORD)
    assert again.returncode != 0 and "already an account anna" in again.stderr
    bad_name = staff_command("add", "Anna Nowak", "--name", "Anna", password=PASSWORD)
    assert bad_name.returncode != 0 and "username" in bad_name.stderr

    with Session(runtime_of(client).engine) as session:
        stored = session.get_one(StaffRow, "anna")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert staff_command("list").stdout.splitlines() == ["anna\tAnna Nowak\tactive"]

    assert sign_in(client, "anna", PASSWORD) == 303
    new_password = "a new sentence she will remember"
    assert staff_command("reset", "anna", password=new_password).returncode == 0
    client.cookies.clear()
    assert sign_in(client, "anna", PASSWORD) == 401
    assert sign_in(client, "anna", new_password) == 303
    disabled = staff_command("disable", "anna")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    assert staff_command("list").stdout.splitlines() == ["anna\tAnna Nowak\tdisabled"]
    assert staff_command("disable", "nobody").returncode != 0


def test_a_person_signs_in_decides_under_their_name_and_is_locked_out_when_disabled(
    service: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN an account, and a case in review whose signature check failed
    WHEN its holder signs in with a wrong password, an unknown username, then the right
    password, and accepts the check from the back office
    THEN the wrong ones are 401 with one sentence for both (no telling which usernames exist),
    the decision is in the audit trail as `staff:@anna`, no password is in any log line; once
    the account is disabled, the same browser session is sent to the sign-in page."""
    assert staff_command("add", "anna", "--name", "Anna Nowak", password=PASSWORD).returncode == 0
    case = case_in(service, "in_review")
    check = next(c["name"] for c in case["checks"] if c["status"] == "failed")

    with caplog.at_level(logging.DEBUG):
        wrong = service.post(
            "/sign-in", data={"username": "anna", "password": "not it, not it"}, headers=ORIGIN
        )
        unknown = service.post(
            "/sign-in", data={"username": "ghost", "password": PASSWORD}, headers=ORIGIN
        )
        assert sign_in(service, "Anna ", PASSWORD) == 303  # typed with a capital and a space
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert "Nieprawidłowy login lub hasło." in wrong.text
    assert "Nieprawidłowy login lub hasło." in unknown.text
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]

    decided = service.post(
        f"/cases/{case['id']}/checks/{check}",
        data={"decision": "accept", "reason": "Podpis sprawdzony z oryginałem."},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    events = service.get(f"/api/v1/cases/{case['id']}/events", headers=STAFF).json()
    (decision,) = [e for e in events if e["type"] == "check_decided"]
    assert decision["actor"] == "staff:@anna"
    page = service.get(f"/cases/{case['id']}")
    assert "pracownik anna" in page.text

    assert staff_command("disable", "anna").returncode == 0
    locked = service.get(f"/cases/{case['id']}", follow_redirects=False)
    assert locked.status_code == 303
    assert locked.headers["location"].startswith("/sign-in")


def test_a_password_guessed_at_is_stopped_after_ten_tries(client: TestClient) -> None:
    """GIVEN an account
    WHEN someone tries ten wrong passwords for it
    THEN the eleventh try is refused 429 saying to wait, even with the right password; another
    account signs in as usual; and an address that keeps failing with keys is stopped too."""
    for username in ("anna", "bartek"):
        added = staff_command("add", username, "--name", username.title(), password=PASSWORD)
        assert added.returncode == 0, added.stderr
    for _ in range(10):
        assert sign_in(client, "anna", "a wrong guess, again") == 401
    refused = client.post(
        "/sign-in", data={"username": "anna", "password": PASSWORD}, headers=ORIGIN
    )
    assert refused.status_code == 429
    assert "Zbyt wiele nieudanych prób logowania" in refused.text
    assert sign_in(client, "bartek", PASSWORD) == 303

    client.cookies.clear()
    for _ in range(40):  # with anna's ten, fifty failures from this address
        answer = client.post("/sign-in", data={"key": "not a key"}, headers=ORIGIN)
        assert answer.status_code == 401
    stopped = client.post("/sign-in", data={"key": "not a key either"}, headers=ORIGIN)
    assert stopped.status_code == 429
