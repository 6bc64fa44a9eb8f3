"""Appending to a case's audit trail, chained under the audit key and anchored outside the
database, and verifying it against those anchors."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, func
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from cesja.checkpoints import AuditSeal, Checkpoint, seal_of
from cesja.db.models import CaseRow, EventRow, utcnow
from cesja.runtime import Runtime
from workflow.audit import GENESIS, KEYED, BrokenLink, event_mac, verify_chain

ANCHOR_AUDIT = "anchor_audit"
# In a session's `info`: the heads its transaction wrote, anchored once it commits.
_PENDING = "cesja.audit_unanchored"


def _content(
    case_id: str, seq: int, type_: str, actor: str, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {"case_id": case_id, "seq": seq, "type": type_, "actor": actor, "at": at, "data": data}


def append(
    session: Session,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> EventRow:
    """Add the next event of a case, chained to the one before, in the caller's transaction.

    (case_id, seq) is unique, so two writers racing for the same seq cannot both commit.
    """
    last = session.exec(
        select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.seq).desc())
    ).first()
    if last is None:
        return start(session, case_id, type_, actor, data, at=at)
    return _chained(session, last.seq + 1, last.hash, case_id, type_, actor, data, at)


def start(
    session: Session,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    *,
    at: datetime | None = None,
) -> EventRow:
    """The first event of a case made in the caller's transaction: nothing before it to read."""
    return _chained(session, 1, GENESIS, case_id, type_, actor, data, at)


def _chained(
    session: Session,
    seq: int,
    prev: str,
    case_id: str,
    type_: str,
    actor: str,
    data: dict[str, Any],
    at: datetime | None,
) -> EventRow:
    at = at or utcnow()
    seal = seal_of(session.get_bind())
    row = EventRow(
        case_id=case_id,
        seq=seq,
        type=type_,
        actor=actor,
        at=at,
        data=data,
        prev_hash=prev,
        hash=event_mac(seal.event_key, prev, _content(case_id, seq, type_, actor, at, data)),
        chain=KEYED,
    )
    session.add(row)
    session.flush()
    _anchor_after_commit(session, seal, row)
    return row


# A member of staff saw a case's personal data (its page, its JSON): who, when, and where.
PERSONAL_DATA_VIEWED = "personal_data_viewed"


def record_view(
    session: Session,
    case_id: str,
    actor: str,
    view: str,
    *,
    unless_since: datetime | None = None,
    **what: str | int,
) -> None:
    """Record that `actor` is being shown the case's personal data through `view` (and
    `what` of it), in the caller's transaction; nothing for a case that does not exist (its
    page says so), nor, given `unless_since`, when the same person's look at the case was
    recorded since then.

    The case row is locked first, as every writer of a case's trail locks it: a view never
    takes the seq that a transition or a notice is about to write, and two looks at once
    are told apart. It changes nothing else of the case (not `updated_at`: a case is not
    waiting less for being looked at)."""
    case = session.exec(select(CaseRow.id).where(CaseRow.id == case_id).with_for_update()).first()
    if case is None:
        return
    if unless_since is not None and looked_since(session, [case_id], actor, unless_since):
        return
    append(session, case_id, PERSONAL_DATA_VIEWED, actor, {"view": view, **what})


def looked_since(session: Session, case_ids: list[str], actor: str, since: datetime) -> set[str]:
    """Of these cases, those whose personal data `actor` was recorded seeing since `since`."""
    if not case_ids:
        return set()
    return set(
        session.exec(
            select(EventRow.case_id)
            .where(col(EventRow.case_id).in_(case_ids))
            .where(EventRow.type == PERSONAL_DATA_VIEWED)
            .where(EventRow.actor == actor)
            .where(col(EventRow.at) >= since)
            .distinct()
        )
    )


@dataclass
class _Unanchored:
    """The heads a session's transaction wrote, to be anchored once it commits."""

    seal: AuditSeal
    appended: dict[str, tuple[int, str]] = field(default_factory=dict)
    savepoint_rolled_back: bool = False
    heads: list[tuple[str, int, str]] = field(default_factory=list)


def _anchor_after_commit(session: Session, seal: AuditSeal, row: EventRow) -> None:
    """Have the case's head written to the checkpoint file once the transaction commits.

    After, not before: a line for a head that was rolled back would accuse the database of
    losing an event. The last event appended to each case is its head, unless a savepoint
    was rolled back since (the API's batched writes on SQLite): then the heads are read from
    the database just before the commit. The heads go to the process's checkpoint writer,
    so the request does not wait for the disk. Should the process die between the commit and
    the line, or the file not be writable, the hourly `anchor_audit` job writes the head.
    """
    pending: _Unanchored | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = _Unanchored(seal)
        event.listen(session, "after_soft_rollback", _rolled_back)
        event.listen(session, "before_commit", _read_heads)
        event.listen(session, "after_commit", _write_heads)
        event.listen(session, "after_transaction_end", _forget_heads)
    pending.appended[row.case_id] = (row.seq, row.hash)


def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info[_PENDING].savepoint_rolled_back = True


def _read_heads(session: Session) -> None:
    pending: _Unanchored = session.info[_PENDING]
    if session.in_nested_transaction() or not pending.appended:
        return  # a savepoint's release: the transaction is not committing yet
    heads = pending.appended
    if pending.savepoint_rolled_back:
        heads = _heads(session, set(pending.appended))
    pending.heads = [(case_id, seq, head) for case_id, (seq, head) in sorted(heads.items())]


def _write_heads(session: Session) -> None:
    pending: _Unanchored = session.info[_PENDING]
    if session.in_nested_transaction() or not pending.heads:
        return
    heads, pending.heads = pending.heads, []
    pending.seal.anchor_soon(heads)


def _forget_heads(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed and anchored, or rolled back
        pending: _Unanchored = session.info[_PENDING]
        pending.appended.clear()
        pending.savepoint_rolled_back = False
        pending.heads = []


def events(session: Session, case_id: str) -> list[EventRow]:
    return list(
        session.exec(
            select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.seq))
        )
    )


def verify_case(session: Session, case_id: str) -> BrokenLink | None:
    """The first broken link of the case's chain, recomputed under the audit key."""
    return verify_chain(events(session, case_id), seal_of(session.get_bind()).event_key)


def all_case_ids(session: Session) -> Iterator[str]:
    yield from session.exec(select(EventRow.case_id).distinct())


def head_hash(session: Session, case_id: str) -> str:
    """The hash at the head of the case's trail as this transaction sees it."""
    head = session.exec(
        select(EventRow.hash).where(EventRow.case_id == case_id).order_by(col(EventRow.seq).desc())
    ).first()
    return head or GENESIS


def _heads(session: Session, case_ids: set[str] | None = None) -> dict[str, tuple[int, str]]:
    """Every case's head in the database (or these cases'): seq and hash of its last event."""
    last_seq = select(EventRow.case_id, func.max(EventRow.seq).label("seq"))
    if case_ids is not None:
        last_seq = last_seq.where(col(EventRow.case_id).in_(case_ids))
    last = last_seq.group_by(col(EventRow.case_id)).subquery()
    rows = session.exec(
        select(EventRow.case_id, EventRow.seq, EventRow.hash).join(
            last, (col(EventRow.case_id) == last.c.case_id) & (col(EventRow.seq) == last.c.seq)
        )
    )
    return {case_id: (seq, hash_) for case_id, seq, hash_ in rows}


def anchor_all(runtime: Runtime) -> int:
    """The `anchor_audit` job: a checkpoint line for every case whose head in the database is
    past its latest one in the file; the number written.

    Only heads further along: a trail cut short in the database is never anchored as it now
    is, so the checkpoint that shows the cut stays the latest.
    """
    runtime.audit.flush()
    anchored = _latest(runtime.audit.read().checkpoints)
    with Session(runtime.read_engine) as session:
        heads = _heads(session)
    behind = [
        (case_id, seq, head)
        for case_id, (seq, head) in sorted(heads.items())
        if seq > anchored.get(case_id, 0)
    ]
    return runtime.audit.anchor(behind, at=utcnow())


def _latest(checkpoints: list[Checkpoint]) -> dict[str, int]:
    latest: dict[str, int] = {}
    for checkpoint in checkpoints:
        latest[checkpoint.case_id] = max(checkpoint.seq, latest.get(checkpoint.case_id, 0))
    return latest


@dataclass
class CaseFindings:
    """What `cesja audit verify` found of one case: its problems, and whether it is anchored."""

    case_id: str
    problems: list[str] = field(default_factory=list)
    anchored: bool = False


@dataclass
class Verification:
    """The database's trails against the audit key and the checkpoint file."""

    cases: list[CaseFindings]
    file_problems: list[str]

    @property
    def broken(self) -> list[CaseFindings]:
        return [case for case in self.cases if case.problems]


def verify(runtime: Runtime, case_id: str | None = None) -> Verification:
    """Each case's chain recomputed under the key, and held against every checkpoint of it:
    the event at a checkpoint's seq must still carry the checkpoint's hash (an edit, even with
    every later hash recomputed, or a reorder, changes it), and must still exist (deleting the
    newest events, or a whole case, leaves a checkpoint past the end)."""
    runtime.audit.flush()  # what this process committed last is in the file
    read = runtime.audit.read()
    checkpoints = read.by_case()
    file_problems = list(read.problems)
    with Session(runtime.read_engine) as session:
        in_database = set(all_case_ids(session))
        if not read.exists and in_database:
            file_problems.append(
                f"there is no checkpoint file at {runtime.audit.path}: if this is the first "
                "run since the audit key, run `cesja audit anchor`"
            )
        ids = [case_id] if case_id else sorted(in_database | set(checkpoints))
        findings = []
        for one in ids:
            trail = events(session, one)
            found = CaseFindings(one, anchored=bool(checkpoints.get(one)))
            link = verify_chain(trail, runtime.audit.event_key)
            if link is not None:
                found.problems.append(f"BROKEN at event {link.seq}: {link.reason}")
            found.problems += _against_checkpoints(trail, checkpoints.get(one, []))
            if not trail and not checkpoints.get(one):
                found.problems.append("UNKNOWN: no event of it in the database, no checkpoint")
            findings.append(found)
    return Verification(findings, file_problems)


def _against_checkpoints(trail: list[EventRow], checkpoints: list[Checkpoint]) -> list[str]:
    if not checkpoints:
        return []
    latest = max(checkpoints, key=lambda c: c.seq)
    if not trail:
        return [
            f"MISSING: the case is not in the database, but checkpoint line {latest.line} "
            f"({latest.at}) holds its event {latest.seq}"
        ]
    problems = []
    last = trail[-1].seq
    if latest.seq > last:
        problems.append(
            f"DELETED: events after {last} are missing; checkpoint line {latest.line} "
            f"({latest.at}) holds event {latest.seq}"
        )
    by_seq = {row.seq: row for row in trail}
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        row = by_seq.get(checkpoint.seq)
        if row is not None and row.hash != checkpoint.head:
            problems.append(
                f"REWRITTEN: event {checkpoint.seq} is not the one checkpoint line "
                f"{checkpoint.line} ({checkpoint.at}) holds: it or an event before it was "
                "changed, removed or moved"
            )
            break  # the events after it differ from their checkpoints for the same reason
    return problems


def keyed_value(key: bytes, name: str, value: Any) -> str:
    """A person's value in an event, as the trail keeps it: the field's name and the value (as
    canonical JSON) under the audit key. The trail then holds no personal data of its own,
    and whoever holds the key can still prove which value an event named."""
    text = json.dumps([name, value], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "hmac-sha256:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
