"""Schema migrations: all or none, on SQLite as on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from cesja.db import migrate, schema_version
from cesja.db.engine import MIGRATIONS


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _alter(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'cesja.sqlite3'}"


def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(database_url: str) -> None:
    """GIVEN a database at revision 0016 on which the last migration cannot run (someone
    added staff_sessions.language by hand) WHEN the service migrates it THEN the migration
    fails, and the database is still at 0016: the migration that ran before the failing one
    (0017, cases.language) was undone with it. Once the obstacle is gone it migrates to the
    head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "0016")
    _alter(database_url, "ALTER TABLE staff_sessions ADD COLUMN language VARCHAR(2)")

    with pytest.raises(Exception, match="language"):
        migrate(database_url)

    assert schema_version(database_url) == "0016"
    assert "language" not in _columns(database_url, "cases")

    _alter(database_url, "ALTER TABLE staff_sessions DROP COLUMN language")
    migrate(database_url)
    assert schema_version(database_url) == ScriptDirectory.from_config(config).get_current_head()
    assert "language" in _columns(database_url, "cases")
    assert "language" in _columns(database_url, "staff_sessions")
