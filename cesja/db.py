"""The database: engine, sessions and migrations, the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine

from cesja.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"


def require_driver(url: str) -> None:
    """Refuse a database URL whose Python driver is not installed, saying what to install."""
    try:
        make_url(url).get_dialect().import_dbapi()
    except ImportError as err:
        raise ConfigurationError(
            f"CESJA_DATABASE_URL needs a database driver that is not installed ({err}); for "
            "PostgreSQL install the service with its postgresql extra: "
            "pip install 'cesja[postgresql]' (make run, make test and the Dockerfile do)"
        ) from None
    except ArgumentError as err:  # also an unknown database name, e.g. postgres://
        raise ConfigurationError(
            f"CESJA_DATABASE_URL is not a database URL SQLAlchemy knows ({err}); PostgreSQL's "
            "looks like postgresql+psycopg://user:password@host/database"
        ) from None


def make_engine(url: str) -> Engine:
    """An engine with the settings each backend needs to serve several threads safely."""
    require_driver(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while a worker writes; foreign keys are off by default.
            # Disable pysqlite's own BEGIN handling so that "BEGIN IMMEDIATE" below works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock at the start, so two writers queue instead of one failing
            # half-way with "database is locked".
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def migrate(url: str) -> None:
    """Bring the schema to the newest migration (idempotent). Processes starting at once
    migrate one after the other: on PostgreSQL under an advisory lock (the migrations' env),
    on SQLite under a lock on a file beside the database."""
    require_driver(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with _sqlite_file_lock(url):
        command.upgrade(cfg, "head")


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:":
        yield
        return
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def schema_version(url: str) -> str | None:
    """The migration the database is at, or None when it has none yet."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
