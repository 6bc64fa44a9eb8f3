"""Alembic environment: migrations run from `cesja.db.migrate` with the URL it is given."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool
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
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
    engine.dispose()


run_migrations()
