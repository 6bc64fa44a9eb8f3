"""The case state machine: every state against every event, settling, and the 409 sentence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from statemachine.exceptions import TransitionNotAllowed

from workflow import (
    CaseMachine,
    Check,
    can_reissue,
    events,
    is_final,
    needs,
    settle,
    sources,
    transfer_allowed,
)

DEADLINE = datetime(2026, 12, 6, tzinfo=UTC)
AFTER_DEADLINE = DEADLINE + timedelta(seconds=1)
BEFORE_DEADLINE = DEADLINE - timedelta(seconds=1)

LIVE = ["awaiting_documents", "in_review", "transfer_ready"]
FINAL = ["completed", "rejected", "cancelled", "expired"]
STATES = LIVE + FINAL
EVENTS = [
    "review_needed",
    "documents_pending",
    "all_checks_passed",
    "complete",
    "reject",
    "cancel",
    "expire",
    "reissue",
]

# The transition table, written out by hand so that the machine is checked against it.
LEGAL: dict[tuple[str, str], str] = {
    ("awaiting_documents", "review_needed"): "in_review",
    ("transfer_ready", "review_needed"): "in_review",
    ("in_review", "documents_pending"): "awaiting_documents",
    ("transfer_ready", "documents_pending"): "awaiting_documents",
    ("awaiting_documents", "all_checks_passed"): "transfer_ready",
    ("in_review", "all_checks_passed"): "transfer_ready",
    ("transfer_ready", "complete"): "completed",
    ("awaiting_documents", "reject"): "rejected",
    ("in_review", "reject"): "rejected",
    ("transfer_ready", "reject"): "rejected",
    ("awaiting_documents", "cancel"): "cancelled",
    ("in_review", "cancel"): "cancelled",
    ("transfer_ready", "cancel"): "cancelled",
    ("awaiting_documents", "expire"): "expired",
    ("in_review", "expire"): "expired",
    ("awaiting_documents", "reissue"): "awaiting_documents",
    ("in_review", "reissue"): "awaiting_documents",
}


@dataclass
class Case:
    """Stands in for the case row: the machine reads and writes its `state`."""

    state: str
    deadline: datetime = DEADLINE


def test_the_machine_knows_exactly_these_states_and_events() -> None:
    """GIVEN the machine's declaration
    WHEN its states and events are listed
    THEN they are the ones this table covers, and the last four states are final.
    """
    assert sorted(s.value for s in CaseMachine.states) == sorted(STATES)
    assert events() == EVENTS
    assert [s for s in STATES if is_final(s)] == FINAL


def test_a_new_case_starts_awaiting_documents() -> None:
    """GIVEN a case row whose state has not been set
    WHEN a machine is bound to it
    THEN the row's state becomes awaiting_documents.
    """
    case = Case(state=None)  # type: ignore[arg-type]
    CaseMachine(case)
    assert case.state == "awaiting_documents"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_state_and_event(state: str, event: str) -> None:
    """GIVEN a case in some state (and past its deadline, so the expiry guard allows it)
    WHEN an event is sent
    THEN a legal event moves the case's own `state` to the expected state; an illegal one
    raises TransitionNotAllowed, leaves the state alone, and `needs` explains it in a sentence
    that names the current state and where the event would be possible.
    """
    case = Case(state)
    machine = CaseMachine(case)

    if (state, event) in LEGAL:
        machine.send(event, now=AFTER_DEADLINE)
        assert case.state == LEGAL[(state, event)]
        assert state in sources(event)
    else:
        with pytest.raises(TransitionNotAllowed):
            machine.send(event, now=AFTER_DEADLINE)
        assert case.state == state
        sentence = needs(state, event)
        assert sentence.endswith(".")
        assert f"the case is {state}:" in sentence
        assert all(s in sentence for s, e in LEGAL if e == event)


def test_needs_for_completing_a_case_in_review() -> None:
    """GIVEN a case in review
    WHEN the registrar confirms the transfer
    THEN the answer says it is only possible in transfer_ready and what the case waits for.
    """
    assert needs("in_review", "complete") == (
        "Confirming the transfer is only possible in transfer_ready; the case is in_review: "
        "a failed check waits for back office or for new documents."
    )


@pytest.mark.parametrize("state", ["awaiting_documents", "in_review"])
def test_a_case_cannot_expire_before_its_deadline(state: str) -> None:
    """GIVEN a live case whose deadline has not passed
    WHEN it is asked to expire now (also given in another time zone)
    THEN TransitionNotAllowed is raised, and `needs` says the deadline must pass first.
    """
    case = Case(state)
    for now in (BEFORE_DEADLINE, BEFORE_DEADLINE.astimezone(timezone(timedelta(hours=-5)))):
        with pytest.raises(TransitionNotAllowed):
            CaseMachine(case).send("expire", now=now)
    assert case.state == state
    assert "once its deadline has passed" in needs(state, "expire")

    CaseMachine(case).send("expire", now=DEADLINE)
    assert case.state == "expired"


def test_the_deadline_guard_refuses_a_naive_now() -> None:
    """GIVEN a live case
    WHEN it is asked to expire with a naive `now` (its instant depends on the machine's zone)
    THEN the guard refuses it instead of guessing.
    """
    with pytest.raises(ValueError, match="timezone-aware"):
        CaseMachine(Case("in_review")).send("expire", now=datetime(2030, 1, 1))


def test_needs_for_an_unknown_event() -> None:
    """GIVEN any case
    WHEN `needs` is asked about an event the machine does not have
    THEN it says so and lists the events there are.
    """
    assert needs("in_review", "approve").startswith("approve is not an event of a case")


@pytest.mark.parametrize("state", STATES)
def test_transfer_allowed_and_reissue_by_state(state: str) -> None:
    """GIVEN a case in some state
    WHEN asked whether the transfer may happen and whether a new form may be issued
    THEN only transfer_ready allows the transfer, and only the two collecting states reissue.
    """
    assert transfer_allowed(state) == (state == "transfer_ready")
    assert can_reissue(state) == (state in ("awaiting_documents", "in_review"))


def checks_for(outcome: str) -> list[Check]:
    """A minimal list of checks whose overall outcome is `outcome`."""
    status, provisional = {
        "awaiting_documents": ("passed", True),
        "in_review": ("failed", False),
        "transfer_ready": ("accepted", False),
    }[outcome]
    return [
        Check("current_registrant.page_received", "passed", "", False),
        Check("new_registrant.signature_present", status, "", provisional),  # type: ignore[arg-type]
    ]


SETTLE_EVENT = {
    "awaiting_documents": "documents_pending",
    "in_review": "review_needed",
    "transfer_ready": "all_checks_passed",
}


@pytest.mark.parametrize("state", LIVE)
@pytest.mark.parametrize("outcome", ["awaiting_documents", "in_review", "transfer_ready"])
def test_settle_moves_a_live_case_to_its_checks_outcome(state: str, outcome: str) -> None:
    """GIVEN a live case and checks whose overall outcome is some state
    WHEN the case is settled
    THEN it ends in that state, having sent the one event that leads there (none if already
    there), and settling again changes nothing.
    """
    case = Case(state)
    sent = settle(case, checks_for(outcome))

    assert case.state == outcome
    assert sent == (None if state == outcome else SETTLE_EVENT[outcome])
    assert settle(case, checks_for(outcome)) is None
    assert case.state == outcome


@pytest.mark.parametrize("state", FINAL)
@pytest.mark.parametrize("outcome", ["awaiting_documents", "in_review", "transfer_ready"])
def test_settle_never_moves_a_closed_case(state: str, outcome: str) -> None:
    """GIVEN a closed case
    WHEN it is settled with checks of any outcome
    THEN nothing is sent and its state stays.
    """
    case = Case(state)
    assert settle(case, checks_for(outcome)) is None
    assert case.state == state


@pytest.mark.parametrize("state", FINAL)
def test_a_final_state_has_no_way_out(state: str) -> None:
    """GIVEN a closed case
    WHEN any event is sent to it
    THEN every one is refused.
    """
    case = Case(state)
    for event in EVENTS:
        with pytest.raises(TransitionNotAllowed):
            CaseMachine(case).send(event, now=AFTER_DEADLINE)
    assert case.state == state
