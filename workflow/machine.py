"""The case state machine: where a case stands, and which events may move it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, cast

from statemachine import State, StateMachine

from workflow._time import utc
from workflow.checks import Check, overall


class CaseLike(Protocol):
    """What the machine needs of a case: the column holding its state, and its deadline."""

    state: str
    deadline: datetime


class CaseMachine(StateMachine):
    """A case from its first form to the registrar's confirmation, bound to the case's row.

    `CaseMachine(case)` reads and writes `case.state`; an event that is not allowed in the
    current state, or whose guard fails, raises `TransitionNotAllowed` and changes nothing.
    """

    awaiting_documents = State(initial=True)
    in_review = State()
    transfer_ready = State()
    completed = State(final=True)
    rejected = State(final=True)
    cancelled = State(final=True)
    expired = State(final=True)

    # The three live states follow the checks (see `settle`). From transfer_ready too: a check
    # that staff reject after the notice must withdraw the permission to transfer.
    review_needed = in_review.from_(awaiting_documents, transfer_ready)
    documents_pending = awaiting_documents.from_(in_review, transfer_ready)
    all_checks_passed = transfer_ready.from_(awaiting_documents, in_review)

    complete = transfer_ready.to(completed)
    reject = rejected.from_(awaiting_documents, in_review, transfer_ready)
    cancel = cancelled.from_(awaiting_documents, in_review, transfer_ready)
    # Once a case is transfer_ready the parties have done their part: no deadline applies.
    expire = expired.from_(awaiting_documents, in_review, cond="deadline_passed")
    # A new form version: pages of the old one no longer count, so every check is pending.
    reissue = awaiting_documents.from_(awaiting_documents, in_review)

    def deadline_passed(self, now: datetime) -> bool:
        """The parties had until the case's deadline to send their documents."""
        return utc(now, what="now") >= utc(self.model.deadline, what="the case's deadline")


# Why a case in each state cannot do what was asked, and what it waits for.
_STATE_WAITS = {
    "awaiting_documents": "some checks still wait for pages from the parties",
    "in_review": "a failed check waits for back office or for new documents",
    "transfer_ready": "every check has passed and the transfer waits for the registrar",
    "completed": "the transfer was confirmed and the case is closed",
    "rejected": "back office rejected it and the case is closed",
    "cancelled": "it was cancelled and the case is closed",
    "expired": "its deadline passed and the case is closed",
}

_EVENT_ACTS = {
    "review_needed": "Sending the case to review",
    "documents_pending": "Waiting for documents again",
    "all_checks_passed": "Releasing the transfer",
    "complete": "Confirming the transfer",
    "reject": "Rejecting the case",
    "cancel": "Cancelling the case",
    "expire": "Expiring the case",
    "reissue": "Reissuing the form",
}

_GUARD_NEEDS = {"deadline_passed": "once its deadline has passed"}

# The event that brings a live case to each outcome of the checks.
_SETTLE_BY = {
    "awaiting_documents": "documents_pending",
    "in_review": "review_needed",
    "transfer_ready": "all_checks_passed",
}


def _transitions(event: str) -> list[Any]:
    return [t for s in CaseMachine.states for t in s.transitions if event in t.events]


def events() -> list[str]:
    """Every event a case knows, in the order they are declared."""
    # The metaclass serves `events` on the class as well; mypy knows only the instance property.
    declared = cast("Iterable[Any]", CaseMachine.events)
    return [e.id for e in declared]


def sources(event: str) -> frozenset[str]:
    """The states in which `event` may be sent (before any guard is asked)."""
    return frozenset(t.source.value for t in _transitions(event))


def is_final(state: str) -> bool:
    """A closed case: no event moves it any more."""
    return CaseMachine.states_map[state].final


def transfer_allowed(state: str) -> bool:
    """The registrar may transfer the domains only while the case is transfer_ready."""
    return state == CaseMachine.transfer_ready.value


def can_reissue(state: str) -> bool:
    """A new form version makes sense only while documents are still being collected."""
    return state in sources("reissue")


def needs(state: str, event: str) -> str:
    """A sentence for the 409 answer: in which states `event` is possible and why not now."""
    if event not in events():
        return f"{event} is not an event of a case; the known events are {', '.join(events())}."
    act = _EVENT_ACTS[event]
    allowed_in = [s.value for s in CaseMachine.states if s.value in sources(event)]
    if state in allowed_in:
        here = [t for t in _transitions(event) if t.source.value == state]
        conditions = {str(c) for t in here for c in t.cond}
        if conditions:
            guard = " and ".join(sorted(_GUARD_NEEDS[c] for c in conditions))
            return f"{act} is possible in {state} only {guard}."
        return f"{act} is possible in {state}."
    return (
        f"{act} is only possible in {_either(allowed_in)}; "
        f"the case is {state}: {_STATE_WAITS[state]}."
    )


def settle(case: CaseLike, checks: Iterable[Check]) -> str | None:
    """Move a live case to where its checks put it; return the event sent, or None.

    A closed case never moves, whatever its checks say.
    """
    machine = CaseMachine(case)
    target = overall(checks)
    if is_final(case.state) or case.state == target:
        return None
    event = _SETTLE_BY[target]
    machine.send(event)
    return event


def _either(states: list[str]) -> str:
    if len(states) == 1:
        return states[0]
    return f"{', '.join(states[:-1])} or {states[-1]}"
