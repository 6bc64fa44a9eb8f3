"""Alembic environment: migrations run from `cesja.db.migrate` with the URL it is given."""

from __future__ import annotations

import sqlite3

from alembic import context
from sqlalchemy import Connection, Engine, create_engine, event, pool
from sqlmodel import SQLModel

import cesja.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata
# Several nodes starting at once on one PostgreSQL each migrate: one at a time, each seeing
# what the one before committed. (SQLite is one machine's file: `cesja.db.migrate` locks it.)
MIGRATION_LOCK = 0x63_65_73_6A_61  # "cesja"


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        _one_transaction(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            # One transaction for them all, on SQLite too (`_one_transaction`).
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
    engine.dispose()


def _one_transaction(engine: Engine) -> None:
    """On SQLite, every migration in one transaction, as on PostgreSQL: all or none.

    Python's sqlite3 begins a transaction only before a row is changed, so each CREATE, ALTER
    and DROP committed on its own: a start stopped half-way left half a schema, and each
    statement waited for the disk (a new database took 0.4 s)."""

    @event.listens_for(engine, "connect")
    def _driver_begins_nothing(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


run_migrations()
