"""What a running service holds: settings, the database engine and the scan store."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from threading import Event

from sqlalchemy import Engine

from cesja.config import Settings
from cesja.db import make_engine, migrate, read_only
from cesja.jobs import Flag
from cesja.storage import ScanStore

log = logging.getLogger("cesja")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    store: ScanStore
    # Set when new work is committed, so idle workers need not wait for their next poll: an
    # Event between threads, or one shared with the worker processes of `cesja serve`.
    work_ready: Flag = field(default_factory=Event)

    @cached_property
    def read_engine(self) -> Engine:
        """`engine` for transactions that only read: no write lock, beside the writer."""
        return read_only(self.engine)


def open_runtime(settings: Settings, *, run_migrations: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.using_dev_keys:
        log.warning(
            "USING DEVELOPMENT API KEYS (dev-registrar, dev-staff, dev-intake): "
            "set CESJA_API_KEYS before exposing this service"
        )
    url = settings.sqlalchemy_url
    if run_migrations:
        migrate(url)
    return Runtime(
        settings=settings, engine=make_engine(url), store=ScanStore(settings.scan_store_dir)
    )
