"""The database: engines, read and write transactions, migrations; the same code on SQLite and
PostgreSQL."""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Executable, Result, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, InvalidRequestError
from sqlmodel import Session, create_engine

from cesja.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"

# The API runs each sync route in a thread pool of this size (`cesja.app` sets it). A route
# holds at most one connection, so the pool keeps one for each thread and a request never
# waits for a connection while a thread is free; the overflow covers the sessions whose
# closing, which FastAPI runs outside the pool's limit, is still under way.
API_THREADS = 24
POOL_OVERFLOW = 8
# Longest wait for a lock (SQLite's write lock, a PostgreSQL row lock) or a pooled connection.
# It then fails with an OperationalError (a pool TimeoutError), answered 503 with Retry-After:
# the client tries again, instead of hanging while others pile up behind it.
LOCK_WAIT_SECONDS = 5.0

# A pooled PostgreSQL connection idle this long is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0

# An execution option: transactions on an engine that carries it only read.
_READ_ONLY = "cesja_read_only"
# An execution option: a writing transaction on SQLite fails at once if another holds the lock.
_AT_ONCE = "cesja_write_at_once"
# Where a pooled connection keeps when it was last handed back.
_USED_AT = "cesja_used_at"


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
    """An engine whose transactions take the write lock at their start (SQLite: `BEGIN
    IMMEDIATE`), for sessions that write; `read_only(engine)` gives the one for reads."""
    require_driver(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_engine(
        url,
        pool_size=API_THREADS,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=LOCK_WAIT_SECONDS,
        connect_args={
            # A connection that waits longer for a row lock gives up (SQLSTATE 55P03).
            "options": f"-c lock_timeout={int(LOCK_WAIT_SECONDS * 1000)}",
            # A server behind a network fault that drops packets is given up as soon.
            "connect_timeout": int(LOCK_WAIT_SECONDS),
        },
    )

    @event.listens_for(engine, "checkin")
    def _note_use(dbapi_conn: Any, record: Any) -> None:
        record.info[_USED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        # A connection handed back within the last moment was working then; one idle longer
        # may have lost its server (a restart) and is tried first, so that the request gets a
        # fresh one (the pool connects again) instead of an error. Pinging every checkout cost
        # a round trip per unit of work: 240 instead of 257 requests/s in bench/load.py.
        if time.monotonic() - record.info.get(_USED_AT, 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError(str(err)) from err

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_in_reads(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if conn.get_execution_options().get(_READ_ONLY) and (
            context is not None and (context.isinsert or context.isupdate or context.isdelete)
        ):
            raise InvalidRequestError(f"a write in a read-only unit of work: {statement[:60]}")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine and connections for units of work that only read; a write in one
    fails at once, on both databases.

    On SQLite they begin deferred and, under WAL, read a snapshot beside the one writer
    instead of queueing for its lock (`query_only` refuses a write). On PostgreSQL each
    statement commits alone (autocommit): under READ COMMITTED each statement of a
    transaction sees the newest commits anyway, and a read so costs no BEGIN and no ROLLBACK,
    two of a read's seven round trips to the server (bench/load.py: 215 → 237 requests/s);
    the engine refuses an insert, update or delete in one before it is sent."""
    options: dict[str, Any] = {_READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


def writing_at_once(engine: Engine) -> Engine:
    """The same database, for a writer that waits for SQLite's lock in its own way: its
    transaction begins with the lock, or fails at once with "database is locked" (answered
    503 if left at that). On PostgreSQL, the engine itself."""
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_AT_ONCE: True})


def rows_of(
    session: Session, statement: Executable, params: dict[str, Any]
) -> Result[*tuple[Any, ...]]:
    """A select of columns (no objects) run as plain SQL in the session's transaction, after
    what the session holds unwritten is written, as `session.execute` would.

    The ORM's way there costs about 0.11 ms of CPU a query more (0.26 against 0.15 on
    SQLite): every case read runs three such queries."""
    session.flush()
    return session.connection().execute(statement, params)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        # The busy timeout: how long a statement waits on a lock (a writer's BEGIN waits in
        # _begin_writing instead).
        connect_args={"check_same_thread": False, "timeout": LOCK_WAIT_SECONDS},
        pool_size=API_THREADS,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=LOCK_WAIT_SECONDS,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
        # WAL lets readers run beside the writer; foreign keys are off by default. pysqlite's
        # own BEGIN handling is disabled so that each transaction begins as `_sqlite_begin` says.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
        record.info[_READ_ONLY] = False

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get(_READ_ONLY))
        if conn.info.get(_READ_ONLY) != read_only:
            # query_only makes a write in a reading transaction fail at once, where a deferred
            # transaction would otherwise try to take the write lock half-way and could fail
            # only now and then, under load.
            conn.connection.dbapi_connection.execute(f"PRAGMA query_only={int(read_only)}")
            conn.info[_READ_ONLY] = read_only
        if read_only:
            conn.exec_driver_sql("BEGIN")  # no lock: a snapshot beside the writer
        else:
            at_once = conn.get_execution_options().get(_AT_ONCE)
            _begin_writing(conn, wait=0.0 if at_once else LOCK_WAIT_SECONDS)

    return engine


def _begin_writing(conn: Any, *, wait: float) -> None:
    """Take SQLite's write lock at the start of the transaction (`BEGIN IMMEDIATE`), so two
    writers queue instead of one failing half-way with "database is locked".

    SQLite's own busy handler sleeps between tries for longer each time (25 ms, then 50, then
    100): a writer that came in behind one of 5 ms slept long after the lock was free, while
    writers of the holder's process, which takes it back at once, kept getting in first.
    Here each waiting writer tries again every millisecond, for `wait` seconds (none: one
    try, for a writer that waits in its own way, `writing_at_once`).
    """
    dbapi_conn = conn.connection.dbapi_connection
    deadline = time.monotonic() + wait
    pause = 0.0002
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
        # Once more through SQLAlchemy, which turns "database is locked" into its own
        # OperationalError: answered 503 with Retry-After.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")


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
