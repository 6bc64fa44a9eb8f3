"""From stored page readings and staff decisions to the checks of CONTRACT.md section 3."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from cesja.casework.addresses import same_address
from cesja.db import rows_of
from cesja.db.models import CaseRow, DecisionRow, MessageRow, PageRow, ScanRow
from ocr import PageReading
from workflow import Check, Decision, EmailSender, Evidence, compute_checks

# Built once: a statement made per call cost more than running it (0.2–0.4 ms each on a read
# of one case). Each takes the ids of the cases whose evidence is wanted, so a list of cases
# is two queries, not two per case.
_EVIDENCE = (
    select(
        col(PageRow.case_id),
        col(PageRow.party),
        col(PageRow.form_version),
        col(PageRow.index),
        col(PageRow.reading),
        col(ScanRow.id),
        col(ScanRow.channel),
        col(ScanRow.received_at),
        col(MessageRow.sender_address),
        col(MessageRow.verified),
        col(MessageRow.how),
    )
    .join(ScanRow, col(PageRow.scan_id) == col(ScanRow.id))
    .outerjoin(MessageRow, col(ScanRow.message_id) == col(MessageRow.id))
    .where(col(PageRow.case_id).in_(bindparam("case_ids", expanding=True)))
    .where(col(PageRow.outcome) == "matched")
)
_DECISIONS = (
    select(
        col(DecisionRow.case_id),
        col(DecisionRow.form_version),
        col(DecisionRow.check_name),
        col(DecisionRow.decision),
        col(DecisionRow.reason),
        col(DecisionRow.actor),
        col(DecisionRow.at),
    )
    .where(col(DecisionRow.case_id).in_(bindparam("case_ids", expanding=True)))
    # In the order given: of two decisions at the same instant, the later one wins.
    .order_by(col(DecisionRow.id))
)


def evidence_of_cases(session: Session, cases: Sequence[CaseRow]) -> dict[str, list[Evidence]]:
    """Matched pages of each case's current form version, as the workflow sees them."""
    version = {case.id: case.form_version for case in cases}
    evidence: dict[str, list[Evidence]] = {case.id: [] for case in cases}
    if not cases:
        return evidence
    by_id = {case.id: case for case in cases}
    rows = rows_of(session, _EVIDENCE, {"case_ids": list(version)})
    for (
        case_id,
        party,
        form_version,
        index,
        reading,
        scan_id,
        channel,
        received_at,
        sender_address,
        verified,
        how,
    ) in rows:
        if form_version != version[case_id]:
            continue
        read = PageReading.from_dict(
            reading, index=index, case_id=case_id, party=party, form_version=form_version
        )
        sender = None
        if how is not None:  # the scan came attached to a message
            party_address = getattr(by_id[case_id], party).get("email")
            sender = EmailSender(
                address=sender_address,
                authenticated=verified,
                how=how,
                is_party=same_address(sender_address, party_address),
            )
        evidence[case_id].append(
            Evidence.from_reading(
                read, channel=channel, received_at=received_at, scan_id=scan_id, sender=sender
            )
        )
    return evidence


def case_evidence(session: Session, case: CaseRow) -> list[Evidence]:
    """Matched pages of the case's current form version, as the workflow sees them."""
    return evidence_of_cases(session, [case])[case.id]


def decisions_of_cases(session: Session, cases: Sequence[CaseRow]) -> dict[str, list[Decision]]:
    """Staff decisions on each case's current form version."""
    version = {case.id: case.form_version for case in cases}
    decisions: dict[str, list[Decision]] = defaultdict(list)
    if not cases:
        return decisions
    rows = rows_of(session, _DECISIONS, {"case_ids": list(version)})
    for case_id, form_version, check, decision, reason, actor, at in rows:
        if form_version == version[case_id]:
            decisions[case_id].append(
                Decision(check=check, decision=decision, reason=reason, actor=actor, at=at)
            )
    return decisions


def checks_of_cases(
    session: Session, cases: Sequence[CaseRow], *, require_original: bool
) -> dict[str, list[Check]]:
    """Every case's checks, by case id: two queries however many cases there are."""
    evidence = evidence_of_cases(session, cases)
    decisions = decisions_of_cases(session, cases)
    return {
        case.id: _checks(case, evidence[case.id], decisions[case.id], require_original)
        for case in cases
    }


def checks_of_new_case(case: CaseRow, *, require_original: bool) -> list[Check]:
    """The checks of a case made in this transaction: no page and no decision yet."""
    return _checks(case, [], [], require_original)


def _checks(
    case: CaseRow, evidence: list[Evidence], decisions: list[Decision], require_original: bool
) -> list[Check]:
    return compute_checks(
        {
            "current_registrant": case.current_registrant["kind"],
            "new_registrant": case.new_registrant["kind"],
        },
        case.form_version,
        evidence,
        decisions,
        require_original=require_original,
    )


def case_checks(session: Session, case: CaseRow, *, require_original: bool) -> list[Check]:
    return checks_of_cases(session, [case], require_original=require_original)[case.id]
