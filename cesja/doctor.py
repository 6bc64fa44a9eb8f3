"""`cesja doctor`: is every external piece the service needs present, and how to get it if not."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import text

from cesja.config import Settings
from cesja.db import make_engine
from cesja.errors import ConfigurationError
from documents import check_fonts, check_ghostscript, check_pdftoppm
from ocr import check_tesseract, load_trust_roots


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _result(name: str, problem: str | None, ok_detail: str) -> CheckResult:
    return CheckResult(name, problem is None, problem or ok_detail)


def run_checks(settings: Settings) -> Iterator[CheckResult]:
    yield _result(
        "tesseract",
        check_tesseract(settings.tessdata),
        "tesserocr loads and the Polish model (pol) is present",
    )
    yield _result("pdftoppm", check_pdftoppm(), "poppler-utils is installed")
    yield _result("fonts", check_fonts(), "DejaVu Sans with Polish letters is present")
    try:
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)  # the embedded database's home
        engine = make_engine(settings.sqlalchemy_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        yield CheckResult("database", True, settings.sqlalchemy_url.split("@")[-1])
    except ConfigurationError as err:
        yield CheckResult("database", False, err.message)
    except Exception as err:
        yield CheckResult("database", False, f"cannot connect: {type(err).__name__}: {err}")
    store = settings.scan_store_dir
    try:
        store.mkdir(parents=True, exist_ok=True)
        probe = store / ".doctor"
        probe.write_bytes(b"ok")
        probe.unlink()
        yield CheckResult("scan store", True, f"{store} is writable")
    except OSError as err:
        yield CheckResult("scan store", False, f"{store} is not writable: {err}")
    yield _page_keys(settings)
    yield _trust_roots(settings)
    yield _audit_key(settings)
    ghostscript_problem = check_ghostscript()
    yield CheckResult(
        "ghostscript (tests and benchmarks only)",
        True,
        ghostscript_problem or "installed: the scan simulator's PC-fax captures can run",
    )
    chromium = shutil.which("chromium")
    yield CheckResult(
        "chromium (tests only)",
        True,
        chromium or "not installed; only the browser tests need it: apt-get install chromium",
    )


def _page_keys(settings: Settings) -> CheckResult:
    """The keys that sign page codes: readable, and which is current."""
    try:
        ring = settings.keys
    except ConfigurationError as err:
        return CheckResult("page-code keys", False, err.message)
    held = ", ".join(ring.keys)
    return CheckResult(
        "page-code keys", True, f"{held} from {ring.source}; key {ring.current_id} current"
    )


def _audit_key(settings: Settings) -> CheckResult:
    """The audit trail's key: set apart from the database, or generated beside it (fine to try
    the service, not for evidence: whoever can read the data dir can then rewrite the trail)."""
    if settings.audit_key:
        return CheckResult("audit key", True, "CESJA_AUDIT_KEY is set")
    return CheckResult(
        "audit key",
        settings.env != "production",
        f"CESJA_AUDIT_KEY unset: the audit trail is keyed with {settings.audit_key_file}, "
        "beside the database; set CESJA_AUDIT_KEY (32+ random characters, kept apart from the "
        "database and its backups) before relying on the trail as evidence",
    )


def _trust_roots(settings: Settings) -> CheckResult:
    """The roots electronic signatures are trusted from: optional, but readable when set."""
    path = settings.trust_roots
    if path is None:
        return CheckResult(
            "trust roots",
            True,
            "CESJA_TRUST_ROOTS unset: no electronic signature is trusted (each goes to staff)",
        )
    try:
        roots = load_trust_roots(path)
    except (OSError, ValueError) as err:
        return CheckResult("trust roots", False, f"CESJA_TRUST_ROOTS={path}: {err}")
    if not roots:
        return CheckResult("trust roots", False, f"CESJA_TRUST_ROOTS={path} holds no certificate")
    return CheckResult("trust roots", True, f"{len(roots)} certificate(s) from {path}")
