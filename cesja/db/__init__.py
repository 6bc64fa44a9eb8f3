"""The database, the same code on SQLite and PostgreSQL.

- `engine`: engines for writing and for reading beside the writer, lock waits that end,
  migrations run one process at a time (`make_engine`, `read_only`, `migrate`), selects of
  columns run as plain SQL (`rows_of`);
- `models`: the rows, what was received and decided (the rules live in `workflow`);
- `types`: the column types the rows need on both databases;
- `jobs`: the queue of background work, committed with what caused it, leased by workers;
- `migrations`: alembic's versions of the schema.
"""

from cesja.db.engine import (
    API_THREADS,
    LOCK_WAIT_SECONDS,
    make_engine,
    migrate,
    read_only,
    require_driver,
    rows_of,
    schema_version,
    writing_at_once,
)

__all__ = [
    "API_THREADS",
    "LOCK_WAIT_SECONDS",
    "make_engine",
    "migrate",
    "read_only",
    "require_driver",
    "rows_of",
    "schema_version",
    "writing_at_once",
]
