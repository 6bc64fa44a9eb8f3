"""Fixtures shared by every test package: a service on a temporary data dir, and its clients."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from cesja.example import EXAMPLE_CASE

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

REGISTRAR = {"Authorization": "Bearer dev-registrar"}
STAFF = {"Authorization": "Bearer dev-staff"}
INTAKE = {"Authorization": "Bearer dev-intake"}

# The contract's example case (with a REGON whose check digit holds), as the demo sends it.
CASE_BODY: dict[str, Any] = copy.deepcopy(EXAMPLE_CASE)


@pytest.fixture
def case_body() -> dict[str, Any]:
    return copy.deepcopy(CASE_BODY)


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


@pytest.fixture(scope="session")
def pg_server() -> str:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            pass
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is needed for these tests: {err}")
    return PG_ADMIN


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"cesja_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
