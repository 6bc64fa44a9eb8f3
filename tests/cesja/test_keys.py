"""Page-code keys rotated without breaking paper: a form printed before a rotation still reads
while its case is open, forms issued after it are signed with the new key, a key kept for old
forms signs nothing new, and a retired and removed key's pages are refused. Through the API,
the workers and `cesja keys`, as an operator would."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from cesja import workers
from cesja.app import create_app
from cesja.casework.forms import issued_form
from cesja.cli import app as cli
from cesja.db.models import CaseRow
from documents import raster, render_form
from tests.cesja.flow import create_case, runtime_of
from tests.cesja.sent_mail import form_pdf
from tests.conftest import INTAKE, REGISTRAR

OTHER_KEY = "a-key-of-another-deployment-0123456789abcdef"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The database every start of the service and every `cesja` command in the test uses:
    the embedded SQLite in the data dir, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        monkeypatch.setenv("CESJA_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


@contextmanager
def service() -> Iterator[TestClient]:
    """The service as started now: it reads its keys once, at start, as a restart would."""
    with TestClient(create_app()) as client:
        yield client


def code_on_page_one(pdf: bytes) -> str:
    """The text of the QR code printed on a form's first page."""
    image = raster.render_gray(pdf, 1, 150.0)
    found = [b.text for b in zxingcpp.read_barcodes(image) if b.text.startswith("CESJA")]
    assert len(found) == 1, found
    return found[0]


def read(client: TestClient, pdf: bytes) -> list[dict[str, Any]]:
    """`pdf` uploaded as the fax gateway does and read; its pages as the API says."""
    answer = client.post(
        "/api/v1/scans",
        files={"file": ("strona.pdf", pdf, "application/pdf")},
        data={"channel": "fax"},
        headers=INTAKE,
    )
    assert answer.status_code in (200, 202), answer.text
    workers.drain(runtime_of(client))
    scan = client.get(f"/api/v1/scans/{answer.json()['id']}", headers=INTAKE).json()
    return scan["pages"]  # type: ignore[no-any-return]


def test_a_rotation_keeps_printed_forms_readable_until_the_key_is_retired(
    data_dir: Path, database: str
) -> None:
    """GIVEN a case whose form was printed under the first key
    WHEN the operator rotates the keys and restarts
    THEN that printed page still reads as the case's; a case made after is printed under key
    2; a page of the first case's reissued form whose code is made with the kept key 1 is
    refused as forged; key 1 cannot be retired while the first case is open, can once it is
    cancelled, and its pages are then refused (invalid_code)."""
    runner = CliRunner()
    with service() as before:
        assert runtime_of(before).engine.dialect.name == database.replace("postgres", "postgresql")
        first = create_case(before)
        printed_before = form_pdf(before, first["id"], pages=(0,))
    assert code_on_page_one(printed_before).startswith("CESJA1:")

    rotated = runner.invoke(cli, ["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "key 2 is now current" in rotated.output
    assert (data_dir / "secret_keys").stat().st_mode & 0o077 == 0

    with service() as after:
        [page] = read(after, printed_before)
        assert (page["case_id"], page["outcome"]) == (first["id"], "matched")
        second = create_case(after)
        assert code_on_page_one(form_pdf(after, second["id"], pages=(0,))).startswith("CESJA2:")

        reissued = after.post(
            f"/api/v1/cases/{first['id']}/reissue",
            json={"domains": ["example.pl"]},
            headers=REGISTRAR,
        )
        assert reissued.status_code == 200, reissued.text
        runtime = runtime_of(after)
        with Session(runtime.engine) as session:
            form = issued_form(session, session.get_one(CaseRow, first["id"]), runtime.settings)
        # Someone holding the old key makes a code for the new version with it.
        forged = render_form(dataclasses.replace(form, key_id="1"), runtime.settings.keys.keys)
        assert [p["outcome"] for p in read(after, forged)] == ["invalid_code", "invalid_code"]

        listed = runner.invoke(cli, ["keys", "list"])
        assert "2\tcurrent\t2 open case(s)" in listed.output, listed.output
        assert "1\tkept\t0 open case(s)" in listed.output, listed.output
        refused = runner.invoke(cli, ["keys", "retire", "2"])
        assert refused.exit_code == 1 and "current" in refused.output

        with Session(runtime.engine) as session:  # the first case printed under key 1 again
            session.get_one(CaseRow, first["id"]).page_key_id = "1"
            session.commit()
        refused = runner.invoke(cli, ["keys", "retire", "1"])
        assert refused.exit_code == 1 and "1 open case(s)" in refused.output
        cancelled = after.post(
            f"/api/v1/cases/{first['id']}/cancel", json={"reason": "nowa sprawa"}, headers=REGISTRAR
        )
        assert cancelled.status_code == 200, cancelled.text

    retired = runner.invoke(cli, ["keys", "retire", "1"])
    assert retired.exit_code == 0, retired.output
    with service() as later:
        # Sent again (other bytes: the same bytes would be the scan already read).
        [page] = read(later, printed_before + b"\n% faxed again\n")
        assert page["outcome"] == "invalid_code"
        shown = later.get(f"/api/v1/cases/{first['id']}", headers=REGISTRAR).json()
        assert shown["state"] == "cancelled"


def test_keys_from_the_environment_are_rotated_by_setting_them_again(
    data_dir: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the keys in CESJA_SECRET_KEYS WHEN the operator rotates THEN `cesja keys rotate`
    writes nothing and prints the value to set, the new key first and the others kept; a
    malformed value is refused at start with what is wrong."""
    monkeypatch.setenv("CESJA_SECRET_KEYS", f"2:{OTHER_KEY},1:{OTHER_KEY[::-1]}")

    rotated = CliRunner().invoke(cli, ["keys", "rotate"])

    assert rotated.exit_code == 0, rotated.output
    value = rotated.output.split("\n")[1]
    assert value.startswith("3:") and value.endswith(f",2:{OTHER_KEY},1:{OTHER_KEY[::-1]}")
    assert not (data_dir / "secret_keys").exists()
    monkeypatch.setenv("CESJA_SECRET_KEYS", "2:short")
    refused = CliRunner().invoke(cli, ["keys", "list"])
    assert refused.exit_code == 2 and "shorter than 32 characters" in refused.output
