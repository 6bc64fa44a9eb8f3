"""One spelling of an instant for everything that is hashed or sent: ISO 8601 UTC with `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(at: datetime, *, what: str = "datetime") -> datetime:
    """`at` in UTC. A naive datetime is refused: its instant depends on the machine's zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got the naive {at.isoformat()}")
    return at.astimezone(UTC)


def utc_iso(at: datetime, *, what: str = "datetime") -> str:
    """`2026-12-06T10:15:00.000000Z`: always microseconds, so equal instants are equal text."""
    return utc(at, what=what).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
