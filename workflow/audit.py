"""The audit trail's hash chain: each event's hash covers the one before and its own content.

Events are chained with HMAC-SHA256 under the audit key (`KEYED`), so that nobody without the
key can write a chain that verifies. Events written before keyed chaining stay plain sha256
(`PLAIN`); each event says which it is, and a trail may go from plain to keyed but never back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from workflow._time import utc_iso
from workflow.errors import UnhashableContent

GENESIS = "0" * 64
"""The prev_hash of a case's first event."""

HASHED_FIELDS = ("case_id", "seq", "type", "actor", "at", "data")

_HASH = re.compile(r"[0-9a-f]{64}")

PLAIN = "sha256"
"""The chain of events written before the audit key: anyone can recompute it."""
KEYED = "hmac-sha256"
"""The chain of events written since: only the holder of the audit key can compute it."""
CHAINS = (PLAIN, KEYED)


class AuditEvent(Protocol):
    """An event as stored: its content, the hash of the one before, and its own hash."""

    @property
    def case_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


@dataclass(frozen=True)
class BrokenLink:
    """The first event at which the chain no longer holds, and what is wrong there."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit trail broken at event {self.seq}: {self.reason}"


def canonical(content: Mapping[str, Any]) -> bytes:
    """The one byte string for `content`: sorted keys, no whitespace, UTF-8 as is.

    It is the same before and after a round trip through a JSON column (tuples come back as
    lists, ints as ints; a datetime is hashed as its ISO 8601 UTC text, the form in which
    `data` should store one), so an event read back hashes as it did when it was written.
    """
    text = json.dumps(_plain(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """sha256 hex of the previous event's hash followed by this event's canonical content."""
    if not _HASH.fullmatch(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex digits, got {prev_hash!r}")
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


def event_mac(key: bytes, prev_hash: str, content: Mapping[str, Any]) -> str:
    """HMAC-SHA256 hex, under the audit key, of the previous event's hash and this content."""
    if not _HASH.fullmatch(prev_hash):
        raise ValueError(f"prev_hash must be 64 lowercase hex digits, got {prev_hash!r}")
    message = prev_hash.encode("ascii") + canonical(content)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def link_hash(chain: str, key: bytes | None, prev_hash: str, content: Mapping[str, Any]) -> str:
    """The hash an event of `chain` must carry; a keyed one cannot be computed without the key."""
    if chain == PLAIN:
        return event_hash(prev_hash, content)
    if chain == KEYED and key is not None:
        return event_mac(key, prev_hash, content)
    raise ValueError(f"an event chained by {chain!r} cannot be checked without the audit key")


def content_of(event: AuditEvent) -> dict[str, Any]:
    """The part of a stored event that its hash covers."""
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def chain_of(event: AuditEvent) -> str:
    """How an event is chained; an event from before the marker existed is plain sha256."""
    return str(getattr(event, "chain", PLAIN))


def verify_chain(events: Sequence[AuditEvent], key: bytes | None = None) -> BrokenLink | None:
    """The first broken link of one case's events, in the order given (by seq), or None.

    Catches a changed field or hash, an event deleted, inserted or moved, and a chain that
    does not start at GENESIS; with the audit `key`, also a keyed chain rewritten with its
    later hashes recomputed. Deleting the last events leaves a shorter chain that still
    holds: only a copy of the latest hash kept elsewhere can show that.
    """
    keyed_from: int | None = None
    for i, event in enumerate(events):
        chain = chain_of(event)
        if chain not in CHAINS:
            return BrokenLink(event.seq, f"it is chained by {chain!r}, which is not known")
        if chain == KEYED and keyed_from is None:
            keyed_from = event.seq
        if chain == PLAIN and keyed_from is not None:
            # Only someone without the key writes a plain event after a keyed one.
            return BrokenLink(
                event.seq,
                f"it is hashed without the audit key, after event {keyed_from} was keyed: "
                "the trail was rewritten",
            )
        expected_seq = i + 1
        if event.case_id != events[0].case_id:
            return BrokenLink(
                event.seq, f"it belongs to case {event.case_id}, not {events[0].case_id}"
            )
        if event.seq != expected_seq:
            return BrokenLink(event.seq, _seq_problem(events, i, expected_seq))
        if i == 0 and event.prev_hash != GENESIS:
            return BrokenLink(
                event.seq, "it should start the trail, but its prev_hash is not the genesis value"
            )
        if i > 0 and event.prev_hash != events[i - 1].hash:
            return BrokenLink(
                event.seq,
                f"it does not link to event {events[i - 1].seq}: its prev_hash is not that "
                "event's hash, so an event between them was removed or inserted, or one of "
                "them was rewritten",
            )
        try:
            recomputed = link_hash(chain, key, event.prev_hash, content_of(event))
        except ValueError as err:  # UnhashableContent too
            return BrokenLink(event.seq, f"its content cannot be hashed: {err}")
        if recomputed != event.hash:
            return BrokenLink(event.seq, _hash_problem(events, i, recomputed, chain))
    return None


def _seq_problem(events: Sequence[AuditEvent], i: int, expected_seq: int) -> str:
    seq = events[i].seq
    after = f"event {events[i - 1].seq}" if i else "the start"
    if any(e.seq == expected_seq for e in events[i + 1 :]):
        return f"the events are out of order: event {seq} comes after {after}"
    if seq < expected_seq:
        return f"event {seq} appears twice or out of order, after {after}"
    missing = (
        f"event {expected_seq} is missing"
        if seq == expected_seq + 1
        else f"events {expected_seq} to {seq - 1} are missing"
    )
    return f"{missing}: event {seq} follows {after}"


def _hash_problem(events: Sequence[AuditEvent], i: int, recomputed: str, chain: str) -> str:
    # The next event recorded this event's hash when it was written: if that still equals
    # the recomputed one, the content is intact and it is the stored hash that was changed.
    nxt = events[i + 1] if i + 1 < len(events) else None
    if nxt is not None and nxt.prev_hash == recomputed:
        return "its stored hash was changed; its content is as it was written"
    if chain == KEYED:
        # A keyed hash that does not hold was written without the key: the content may be
        # intact with a hash recomputed, or changed; either way not by the service.
        return (
            "its hash does not hold under the audit key: its content or its hash was "
            "changed after it was written, by someone without the key"
        )
    if nxt is not None and nxt.prev_hash == events[i].hash:
        return "its content (type, actor, time or data) was changed after it was written"
    return "its content or its hash was changed after it was written"


def _plain(value: Any) -> Any:
    """JSON values as a JSON column gives them back: tuples as lists, datetimes as UTC text."""
    if isinstance(value, datetime):
        try:
            return utc_iso(value)
        except ValueError as err:
            raise UnhashableContent(str(err)) from err
    if isinstance(value, Mapping):
        keys = list(value)
        if not all(isinstance(k, str) for k in keys):
            # json would turn 1 into "1": two different dicts could then hash alike.
            raise UnhashableContent(f"audit content keys must be strings, got {keys!r}")
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise UnhashableContent(f"audit content cannot hold {value!r}")
    if value is None or isinstance(value, str | int | float):
        return value
    raise UnhashableContent(f"audit content cannot hold a {type(value).__name__}: {value!r}")
