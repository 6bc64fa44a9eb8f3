"""Fixtures shared by every test package: a service on a temporary data dir, and its clients."""

from __future__ import annotations

import copy
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from cesja.example import EXAMPLE_CASE
from tests.pg import ClusterError, answers, private_cluster

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Where the `postgres` tests find a server they may create databases on: the one given, else
# the one at the probe's address when it answers, else a private cluster for the session.
# Read once here: the `data_dir` fixture clears every CESJA_ variable.
PG_GIVEN = os.environ.get("CESJA_TEST_DATABASE_URL")
PG_PROBE = os.environ.get("CESJA_TEST_PG_PROBE", "postgresql://postgres@127.0.0.1:5432/postgres")

REGISTRAR = {"Authorization": "Bearer dev-registrar"}
STAFF = {"Authorization": "Bearer dev-staff"}
INTAKE = {"Authorization": "Bearer dev-intake"}

# The contract's example case (with a REGON whose check digit holds), as the demo sends it.
CASE_BODY: dict[str, Any] = copy.deepcopy(EXAMPLE_CASE)


@pytest.fixture
def case_body() -> dict[str, Any]:
    return copy.deepcopy(CASE_BODY)


@pytest.fixture(autouse=True)
def _root_logger_as_it_was() -> Iterator[None]:
    """A command run in the test's process (`CliRunner`) points the root logger at the
    standard error it had, which the runner closes: a server thread of a later test (the
    SMTP server's) logging there printed "Logging error" tracebacks over the suite's
    output. The root logger gets its handlers back after every test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def _clear_cesja_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CESJA_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir and a clean environment; run from tmp so no `.env` is read."""
    _clear_cesja_env(monkeypatch)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "var"
    monkeypatch.setenv("CESJA_DATA_DIR", str(path))
    monkeypatch.setenv("CESJA_WORKERS", "0")
    # `cesja serve` started by a test answers from one process, the one that starts the
    # workers, whose children the tests count; tests of more set it themselves.
    monkeypatch.setenv("CESJA_API_PROCESSES", "1")
    return path


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    """The service on the embedded default (SQLite + local store), workers not started."""
    from cesja.app import create_app

    with TestClient(create_app()) as c:
        yield c


def libpq_url(url: str) -> str:
    """`url` as psycopg takes it (SQLAlchemy's `postgresql+psycopg://` has a driver in it)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server URL (libpq form) on which the tests create their databases."""
    if PG_GIVEN:
        server = libpq_url(PG_GIVEN)
        if not answers(server):
            pytest.fail(f"CESJA_TEST_DATABASE_URL does not answer: {make_url(server)!r}")
        yield server
        return
    probe = libpq_url(PG_PROBE)
    if answers(probe):
        yield probe
        return
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(private_cluster())
        except ClusterError as err:
            pytest.fail(f"no PostgreSQL answers at {make_url(probe)!r} and none could start: {err}")
        yield cluster.url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test (a SQLAlchemy URL), dropped afterwards."""
    name = f"cesja_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(pg_server).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
