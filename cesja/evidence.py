"""From stored page readings and staff decisions to the checks of CONTRACT.md section 3."""

from __future__ import annotations

from sqlmodel import Session, select

from cesja.models import CaseRow, DecisionRow, PageRow, ScanRow
from workflow import Check, Decision, Evidence, compute_checks


def case_evidence(session: Session, case: CaseRow) -> list[Evidence]:
    """Matched pages of the case's current form version, as the workflow sees them."""
    rows = session.exec(
        select(PageRow, ScanRow)
        .join(ScanRow, PageRow.scan_id == ScanRow.id)  # type: ignore[arg-type]
        .where(PageRow.case_id == case.id)
        .where(PageRow.outcome == "matched")
        .where(PageRow.form_version == case.form_version)
    ).all()
    evidence = []
    for page, scan in rows:
        r = page.reading
        evidence.append(
            Evidence(
                party=page.party,  # type: ignore[arg-type]
                form_version=page.form_version or 0,
                channel=scan.channel,  # type: ignore[arg-type]
                received_at=scan.received_at,
                scan_id=scan.id,
                page_index=page.index,
                # False (a failed page_received) unless the reader vouches for the QR code.
                code_valid=bool(r.get("code_valid")),
                fields_match=bool(r.get("fields_match")),
                signature_present=bool(r.get("signature_present")),
                stamp_present=r.get("stamp_present"),
                unaltered=bool(r.get("unaltered")),
                mismatched_fields=tuple(
                    name
                    for name, f in (r.get("fields") or {}).items()
                    if f.get("verdict") == "mismatch"
                ),
                altered_fields=tuple(r.get("altered_fields") or ()),
            )
        )
    return evidence


def case_decisions(session: Session, case: CaseRow) -> list[Decision]:
    rows = session.exec(
        select(DecisionRow)
        .where(DecisionRow.case_id == case.id)
        .where(DecisionRow.form_version == case.form_version)
    ).all()
    return [
        Decision(check=d.check_name, decision=d.decision, reason=d.reason, actor=d.actor, at=d.at)  # type: ignore[arg-type]
        for d in rows
    ]


def case_checks(session: Session, case: CaseRow, *, require_original: bool) -> list[Check]:
    return compute_checks(
        {
            "current_registrant": case.current_registrant["kind"],
            "new_registrant": case.new_registrant["kind"],
        },
        case.form_version,
        case_evidence(session, case),
        case_decisions(session, case),
        require_original=require_original,
    )
