"""What a running service holds: settings, the database engine and the scan store."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from functools import cached_property
from threading import Event

from sqlalchemy import Engine

from cesja.checkpoints import AuditSeal, seal_engine
from cesja.config import Settings
from cesja.db import make_engine, migrate, read_only, writing_at_once
from cesja.db.jobs import Flag
from cesja.storage import ScanStore
from ocr import TrustOptions, load_trust_roots

log = logging.getLogger("cesja")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    store: ScanStore
    # Set when new work is committed, so idle workers need not wait for their next poll: an
    # Event between threads, or one shared with the worker processes of `cesja serve`.
    work_ready: Flag = field(default_factory=Event)

    def __post_init__(self) -> None:
        # Every event written through this engine is chained, and its head anchored, under
        # the audit key.
        seal_engine(self.engine, self.audit)
        seal_engine(self.read_engine, self.audit)
        seal_engine(self.committer_engine, self.audit)

    @cached_property
    def audit(self) -> AuditSeal:
        """The audit key and the checkpoint file in the scan store."""
        return AuditSeal(self.settings.audit_secret, self.store.root)

    @cached_property
    def read_engine(self) -> Engine:
        """`engine` for transactions that only read: no write lock, beside the writer."""
        return read_only(self.engine)

    @cached_property
    def committer_engine(self) -> Engine:
        """`engine` for the API's committer of writes, which waits for SQLite's lock without
        blocking: a transaction begins with the lock or fails at once."""
        return writing_at_once(self.engine)

    @cached_property
    def esign_trust(self) -> TrustOptions:
        """Whom electronic signatures are trusted from, read once from CESJA_TRUST_ROOTS."""
        path = self.settings.trust_roots
        roots = load_trust_roots(path) if path is not None else ()
        if not roots:
            log.warning("no trust roots (CESJA_TRUST_ROOTS): no electronic signature is trusted")
        return TrustOptions(
            roots=roots,
            revocation=self.settings.esign_revocation,
            company=self.settings.esign_company,
        )


def open_runtime(settings: Settings, *, run_migrations: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.using_dev_keys:
        log.warning(
            "USING DEVELOPMENT API KEYS (dev-registrar, dev-staff, dev-intake): "
            "set CESJA_API_KEYS before exposing this service"
        )
    if not settings.audit_key:
        log.warning(
            "NO CESJA_AUDIT_KEY: the audit trail is keyed with %s, beside the database; set "
            "CESJA_AUDIT_KEY (kept apart from the database) before relying on it as evidence",
            settings.audit_key_file,
        )
    url = settings.sqlalchemy_url
    if run_migrations:
        migrate(url)
    return Runtime(
        settings=settings, engine=make_engine(url), store=ScanStore(settings.scan_store_dir)
    )


def keep_what_is_built() -> None:
    """Once a process has built what it serves with (modules, routes, templates, fonts, the
    reader's models), keep those objects out of the garbage collector's full passes.

    Each full pass walked the 220,000 objects a started API process holds: a pause of 80 to
    160 ms in which the whole process, its event loop and its threads, stood still, every
    request in hand with it. Objects made afterwards are collected as before. What is garbage
    already is collected first: frozen, it would be kept for good (a worker's warm-up leaves
    pages' arrays behind in cycles)."""
    gc.collect()
    gc.freeze()
