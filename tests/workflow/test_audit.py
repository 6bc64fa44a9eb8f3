"""The audit trail's hash chain: intact trails verify, every kind of tampering shows."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from workflow import (
    GENESIS,
    KEYED,
    PLAIN,
    BrokenLink,
    UnhashableContent,
    canonical,
    content_of,
    event_hash,
    event_mac,
    verify_chain,
)

T0 = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """Stands in for an event row: the same attributes."""

    case_id: str
    seq: int
    type: str
    actor: str
    at: datetime
    data: dict[str, Any]
    prev_hash: str
    hash: str


def trail(n: int = 5, case_id: str = "CS-7K2M-Q9XR") -> list[Event]:
    """A case's first `n` events, chained the way the app appends them."""
    events: list[Event] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        content: dict[str, Any] = {
            "case_id": case_id,
            "seq": seq,
            "type": "check_decided" if seq % 2 else "page_read",
            "actor": "staff:anna" if seq % 2 else "system",
            "at": T0 + timedelta(minutes=seq),
            "data": {"check": "current_registrant.signature_present", "n": seq, "ok": True},
        }
        h = event_hash(prev, content)
        events.append(Event(**content, prev_hash=prev, hash=h))
        prev = h
    return events


def rehashed(event: Event, prev_hash: str) -> Event:
    """What someone who knows the scheme writes to cover an edit: a fresh, valid hash."""
    moved = replace(event, prev_hash=prev_hash)
    return replace(moved, hash=event_hash(prev_hash, content_of(moved)))


def test_an_intact_trail_verifies() -> None:
    """GIVEN a trail as the app writes it (and an empty one)
    WHEN it is verified
    THEN no broken link is found.
    """
    assert verify_chain(trail()) is None
    assert verify_chain([]) is None


def _changed_data(events: list[Event]) -> list[Event]:
    events[2] = replace(events[2], data={**events[2].data, "ok": False})
    return events


def _changed_actor_of_last(events: list[Event]) -> list[Event]:
    events[-1] = replace(events[-1], actor="staff:mallory")
    return events


def _changed_time_by_a_microsecond(events: list[Event]) -> list[Event]:
    events[1] = replace(events[1], at=events[1].at + timedelta(microseconds=1))
    return events


def _changed_hash(events: list[Event]) -> list[Event]:
    events[2] = replace(events[2], hash="f" * 64)
    return events


def _deleted_one(events: list[Event]) -> list[Event]:
    del events[2]
    return events


def _deleted_two(events: list[Event]) -> list[Event]:
    del events[1:3]
    return events


def _deleted_and_renumbered(events: list[Event]) -> list[Event]:
    # Event 3 removed, the later ones renumbered so that no seq is missing.
    del events[2]
    return [*events[:2], *(replace(e, seq=e.seq - 1) for e in events[2:])]


def _deleted_and_rehashed_after(events: list[Event]) -> list[Event]:
    # Event 3 removed and event 4 renumbered and rehashed onto its new predecessor... almost:
    # its prev_hash still names the deleted event, because that is what it was chained to.
    del events[2]
    fourth = replace(events[2], seq=3)
    return [*events[:2], replace(fourth, hash=event_hash(fourth.prev_hash, content_of(fourth)))]


def _swapped(events: list[Event]) -> list[Event]:
    events[1], events[2] = events[2], events[1]
    return events


def _swapped_seq_numbers(events: list[Event]) -> list[Event]:
    # The rows keep their places but trade seq numbers, so ordering by seq reorders them.
    second, third = events[1], events[2]
    events[1] = replace(third, seq=2)
    events[2] = replace(second, seq=3)
    return events


def _wrong_first_prev_hash(events: list[Event]) -> list[Event]:
    events[0] = rehashed(events[0], "1" * 64)
    return events


def _first_deleted(events: list[Event]) -> list[Event]:
    return events[1:]


def _rewritten_and_rehashed(events: list[Event]) -> list[Event]:
    # A careful forger edits event 2 and recomputes its hash; event 3 still names the old one.
    events[1] = rehashed(replace(events[1], actor="staff:mallory"), events[1].prev_hash)
    return events


def _event_of_another_case(events: list[Event]) -> list[Event]:
    events[3] = rehashed(replace(events[3], case_id="CS-OTHER-CASE"), events[2].hash)
    return events


@pytest.mark.parametrize(
    ("tamper", "seq", "reason_says"),
    [
        (_changed_data, 3, "content (type, actor, time or data) was changed"),
        (_changed_actor_of_last, 5, "content or its hash was changed"),
        (_changed_time_by_a_microsecond, 2, "content (type, actor, time or data) was changed"),
        (_changed_hash, 3, "stored hash was changed"),
        (_deleted_one, 4, "event 3 is missing: event 4 follows event 2"),
        (_deleted_two, 4, "events 2 to 3 are missing"),
        (_deleted_and_renumbered, 3, "does not link to event 2"),
        (_deleted_and_rehashed_after, 3, "does not link to event 2"),
        (_swapped, 3, "out of order: event 3 comes after event 1"),
        (_swapped_seq_numbers, 2, "does not link to event 1"),
        (_wrong_first_prev_hash, 1, "not the genesis value"),
        (_first_deleted, 2, "event 1 is missing: event 2 follows the start"),
        (_rewritten_and_rehashed, 3, "does not link to event 2"),
        (_event_of_another_case, 4, "belongs to case CS-OTHER-CASE"),
    ],
)
def test_tampering_is_caught_at_the_right_event(tamper: Any, seq: int, reason_says: str) -> None:
    """GIVEN an intact trail of five events
    WHEN it is tampered with in some way
    THEN verification names the first broken event and says in words what is wrong there.
    """
    broken = verify_chain(tamper(trail()))

    assert isinstance(broken, BrokenLink)
    assert broken.seq == seq
    assert reason_says in broken.reason
    assert str(broken).startswith(f"audit trail broken at event {seq}: ")


def test_canonical_form_is_exact() -> None:
    """GIVEN content with unsorted keys, Polish letters, a tuple and a datetime in +02:00
    WHEN it is made canonical
    THEN keys are sorted, there is no whitespace, letters stay UTF-8, and the time is UTC
    with microseconds and a Z.
    """
    content = {
        "type": "case_created",
        "at": datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))),
        "data": {"name": "Żółw", "domains": ("żółw.pl", "example.pl"), "n": 1, "x": None},
    }
    assert (
        canonical(content)
        == (
            '{"at":"2026-03-02T09:00:00.000000Z","data":{"domains":["żółw.pl","example.pl"],'
            '"n":1,"name":"Żółw","x":null},"type":"case_created"}'
        ).encode()
    )


def test_the_hash_covers_the_previous_hash_and_the_content() -> None:
    """GIVEN one content
    WHEN it is hashed after two different previous hashes
    THEN the hashes differ, and each is sha256 of the previous hash then the canonical bytes.
    """
    content = content_of(trail(1)[0])
    other_prev = "a" * 64
    assert event_hash(GENESIS, content) != event_hash(other_prev, content)
    expected = hashlib.sha256(other_prev.encode() + canonical(content)).hexdigest()
    assert event_hash(other_prev, content) == expected


def test_canonical_bytes_survive_a_database_round_trip() -> None:
    """GIVEN an event whose data holds tuples, ints, floats, booleans and Polish text, at a
    time given in another zone
    WHEN the event goes through an SQLite JSON text column and a naive UTC timestamp column
    and is read back as the app reads it (lists for tuples, the time marked UTC)
    THEN its canonical bytes, and so its hash, are unchanged.
    """
    at = datetime(2026, 3, 2, 4, 0, 0, 987654, tzinfo=timezone(timedelta(hours=-5)))
    data = {
        "domains": ("example.pl", "żółw.pl"),
        "fields": {"pesel": {"verdict": "match", "score": 0.97}, "pages": (1, 2)},
        "count": 3,
        "accepted": True,
        "reason": "podpis zgodny z wzorem",
    }
    content = {"case_id": "CS-1", "seq": 7, "type": "page_read", "actor": "system", "at": at}
    before = canonical({**content, "data": data})

    db = sqlite3.connect(":memory:")
    db.execute("create table events (at timestamp, data json)")
    stored_at = at.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    db.execute("insert into events values (?, ?)", (stored_at, json.dumps(data)))
    raw_at, raw_data = db.execute("select at, data from events").fetchone()
    read_back = {
        **content,
        "at": datetime.fromisoformat(raw_at).replace(tzinfo=UTC),
        "data": json.loads(raw_data),
    }

    assert read_back["data"] != data  # the tuples did come back as lists
    assert canonical(read_back) == before
    assert event_hash(GENESIS, read_back) == event_hash(GENESIS, {**content, "data": data})


@pytest.mark.parametrize(
    "bad",
    [
        {"at": datetime(2026, 3, 2, 9, 0)},
        {"data": {1: "int key", "1": "str key"}},
        {"data": {"score": float("nan")}},
        {"data": {"tags": {"a", "b"}}},
        {"data": {"raw": b"bytes"}},
    ],
    ids=["naive datetime", "non-string key", "nan", "set", "bytes"],
)
def test_content_without_one_canonical_form_is_refused(bad: dict[str, Any]) -> None:
    """GIVEN content that has no single canonical form (or none that survives storage)
    WHEN it is made canonical
    THEN UnhashableContent is raised rather than a hash that would not verify later.
    """
    with pytest.raises(UnhashableContent):
        canonical(bad)


def test_a_malformed_prev_hash_is_refused() -> None:
    """GIVEN a previous hash that is not 64 lowercase hex digits
    WHEN an event is hashed after it
    THEN ValueError is raised.
    """
    with pytest.raises(ValueError, match="64 lowercase hex"):
        event_hash("abc", {"seq": 1})


@dataclass(frozen=True)
class MarkedEvent(Event):
    """An event row since the audit key: it says how its hash was made."""

    chain: str = KEYED


KEY = b"the audit key of the service, 32+"


def keyed_after(plain: list[Event], n: int) -> list[Event]:
    """`plain` (events from before the audit key) followed by `n` events chained under KEY."""
    events = list(plain)
    prev = events[-1].hash if events else GENESIS
    for seq in range(len(events) + 1, len(events) + n + 1):
        content: dict[str, Any] = {
            "case_id": "CS-7K2M-Q9XR",
            "seq": seq,
            "type": "state_changed",
            "actor": "staff:anna",
            "at": T0 + timedelta(hours=seq),
            "data": {"after": "in_review", "n": seq},
        }
        mac = event_mac(KEY, prev, content)
        events.append(MarkedEvent(**content, prev_hash=prev, hash=mac))
        prev = mac
    return events


def test_a_trail_keyed_after_plain_events_verifies_only_under_its_key() -> None:
    """GIVEN three events from before the audit key, then three chained under it
    WHEN the trail is verified with the key, with another key, and without one
    THEN it holds with the key; with another, or none, the first keyed event is named."""
    events = keyed_after(trail(3), 3)

    assert verify_chain(events, KEY) is None
    other = verify_chain(events, b"someone else's key, 32 characters")
    assert other is not None and other.seq == 4 and "audit key" in other.reason
    unkeyed = verify_chain(events)
    assert unkeyed is not None and unkeyed.seq == 4 and "without the audit key" in unkeyed.reason


def test_an_edit_rehashed_without_the_key_is_caught() -> None:
    """GIVEN a keyed trail whose event 2 is edited and every later hash recomputed with plain
    sha256, kept marked as keyed, or marked plain from the edit on
    WHEN it is verified with the key
    THEN the first is caught at event 2 (its hash does not hold under the key), the second at
    event 2 too (a plain event after a keyed one)."""
    events = keyed_after([], 4)
    edited = replace(events[1], data={"after": "cancelled"})
    kept_marked = [events[0], rehashed(edited, events[0].hash)]
    marked_plain = [events[0], replace(rehashed(edited, events[0].hash), chain=PLAIN)]

    for tampered, says in ((kept_marked, "audit key"), (marked_plain, "without the audit key")):
        link = verify_chain(tampered, KEY)
        assert link is not None and link.seq == 2 and says in link.reason, link
