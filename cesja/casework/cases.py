"""Cases: create, read, list and reissue, each change recorded in the audit trail."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from cesja.casework import audit_log, customer_links, lifecycle, notices
from cesja.casework.forms import printable
from cesja.casework.schemas import (
    CaseCreate,
    CaseReissue,
    FieldProblem,
    normalised_domains,
    normalised_registrant,
)
from cesja.casework.search import matching, search_line
from cesja.config import Settings
from cesja.db.models import CaseDomainRow, CaseRow, FormVersionRow, utcnow
from cesja.errors import BadInput, NotFound
from documents import DoesNotFit, layout_problems
from documents.page_code import CASE_ID_ALPHABET
from workflow import CaseMachine, can_reissue


class InvalidCase(BadInput):
    """The case data breaks a rule; `problems` names each field by its path."""

    code = "invalid_case"

    def __init__(self, problems: list[FieldProblem]):
        super().__init__(f"{len(problems)} field(s) are invalid")
        self.problems = problems


def new_case_id() -> str:
    chars = "".join(secrets.choice(CASE_ID_ALPHABET) for _ in range(8))
    return f"CS-{chars[:4]}-{chars[4:]}"


# Where a value the form cannot print came from, by the form's field name.
_INPUT_OF_PRINTED_FIELD = {
    "name": "name",
    "regon": "regon",
    "krs": "krs",
    "representatives": "representatives",
    "street": "address.street",
    "postal_city": "address.city",
    "email": "email",
    "phone": "phone",
}


def _checked(body: CaseCreate | CaseReissue, current: CaseRow | None = None) -> dict[str, Any]:
    """The case's data after the rules, or InvalidCase naming every bad field."""
    problems: list[FieldProblem] = []
    data: dict[str, Any] = {}
    if body.domains is not None:
        data["domains"] = normalised_domains(body.domains, problems)
    for party in ("current_registrant", "new_registrant"):
        registrant = getattr(body, party)
        if registrant is not None:
            data[party] = normalised_registrant(registrant, party, problems)
    if problems:
        raise InvalidCase(problems)
    if current is not None:
        data.setdefault("domains", current.domains)
        data.setdefault("current_registrant", current.current_registrant)
        data.setdefault("new_registrant", current.new_registrant)
    problems = [_printing_problem(data, err) for err in layout_problems(printable(data))]
    if problems:
        raise InvalidCase(problems)
    return data


def _printing_problem(data: dict[str, Any], err: DoesNotFit) -> FieldProblem:
    """A value the form cannot print, named by the path it was sent under."""
    if err.field == "domains":
        return FieldProblem(field="domains", message=f"together, {err.reason}")
    party, _, printed = err.field.partition(".")
    if printed == "id_number":
        source = "nip" if data[party]["kind"] == "company" else "pesel"
    else:
        source = _INPUT_OF_PRINTED_FIELD[printed]
    return FieldProblem(field=f"{party}.{source}", message=err.reason)


def create_case(session: Session, body: CaseCreate, *, actor: str, settings: Settings) -> CaseRow:
    made = new_case(body, deadline_days=settings.document_deadline_days)
    add_new_case(session, made, actor=actor, settings=settings)
    return made


def new_case(body: CaseCreate, *, deadline_days: int) -> CaseRow:
    """The row of a case to be made, checked and complete, in no session yet: the work a
    create does before it needs the database (on SQLite, before it waits for the writer's
    turn, so that the turn is held for the inserts alone)."""
    data = _checked(body)
    now = utcnow()
    # Midnight UTC `deadline_days` after the day of creation, as CONTRACT.md's example shows.
    deadline = (now + timedelta(days=deadline_days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    case = CaseRow(
        id=new_case_id(),
        state="awaiting_documents",
        external_ref=body.external_ref,
        language=body.language,
        domains=data["domains"],
        current_registrant=data["current_registrant"],
        new_registrant=data["new_registrant"],
        form_version=1,
        deadline=deadline,
        customer_token=customer_links.new_token(),
        created_at=now,
        updated_at=now,
    )
    case.search = search_line(case)
    return case


def add_new_case(
    session: Session, case: CaseRow, *, actor: str, settings: Settings
) -> dict[str, str]:
    """Store a case `new_case` made, with its first form version and audit event, and the
    notices that tell the parties it was opened. Its form is signed with the current key.
    Returns each party's link token, by party."""
    case.page_key_id = settings.keys.current_id
    session.add(case)
    session.flush()  # the rows below refer to it, and the models declare no relationships
    _record_form_version(session, case, case.created_at, replacing=False)
    tokens = customer_links.add_links(session, case)
    audit_log.start(
        session,
        case.id,
        "case_created",
        actor,
        {"after": _snapshot(case, settings), "deadline": case.deadline.isoformat()},
        at=case.created_at,
    )
    notices.case_opened(session, settings, case)
    return tokens


def reissue(
    session: Session, case: CaseRow, body: CaseReissue, *, actor: str, settings: Settings
) -> CaseRow:
    """Corrected data and a new form version: pages of older versions stop counting, and
    both parties are sent the new form (at their addresses as corrected).

    Only while documents are still being collected (`workflow.can_reissue`); the case goes
    back to awaiting_documents. The caller holds the case row locked, then re-evaluates it.
    """
    if not can_reissue(case.state):
        raise lifecycle.TransitionRefused(case.state, "reissue")
    data = _checked(body, current=case)
    before = _snapshot(case, settings)
    now = utcnow()
    lifecycle.send(case, "reissue")
    case.domains = data["domains"]
    case.current_registrant = data["current_registrant"]
    case.new_registrant = data["new_registrant"]
    case.form_version += 1
    case.page_key_id = settings.keys.current_id  # a new version: the current key
    case.updated_at = now
    case.search = search_line(case)
    session.add(case)
    _record_form_version(session, case, now, replacing=True)
    session.flush()
    audit_log.append(
        session,
        case.id,
        "form_reissued",
        actor,
        {"event": "reissue", "before": before, "after": _snapshot(case, settings)},
        at=now,
    )
    notices.form_reissued(session, settings, case)
    return case


def _snapshot(case: CaseRow, settings: Settings) -> dict[str, Any]:
    """A form version as the audit trail keeps it: each party's kind, and each of its values
    as a keyed hash (`audit_log.keyed_value`), so the trail holds no personal data of its own
    (erasing what a case received leaves it whole) yet proves, to whoever holds the audit
    key, which values the version carried."""
    key = settings.audit_secret
    return {
        "domains": case.domains,
        "current_registrant": _keyed_party(key, case.current_registrant),
        "new_registrant": _keyed_party(key, case.new_registrant),
        "form_version": case.form_version,
        "state": case.state,
    }


def _keyed_party(key: bytes, party: dict[str, Any]) -> dict[str, Any]:
    keyed: dict[str, Any] = {"kind": party.get("kind")}
    for name, value in sorted(party.items()):
        if name != "kind" and value not in (None, "", [], {}):
            keyed[name] = audit_log.keyed_value(key, name, value)
    return keyed


def _record_form_version(
    session: Session, case: CaseRow, now: datetime, *, replacing: bool
) -> None:
    # The domain index follows the current form's domains.
    if replacing:
        for row in session.exec(select(CaseDomainRow).where(CaseDomainRow.case_id == case.id)):
            session.delete(row)
        session.flush()
    for domain in case.domains:
        session.add(CaseDomainRow(case_id=case.id, domain=domain))
    session.add(
        FormVersionRow(
            case_id=case.id,
            version=case.form_version,
            data={
                "domains": case.domains,
                "current_registrant": case.current_registrant,
                "new_registrant": case.new_registrant,
                "deadline": case.deadline.isoformat(),
            },
            created_at=now,
        )
    )


# Built once: every request about a case looks it up.
_CASE = select(CaseRow).where(col(CaseRow.id) == bindparam("case_id"))
_CASE_FOR_UPDATE = _CASE.with_for_update()


def get_case(session: Session, case_id: str, *, for_update: bool = False) -> CaseRow:
    stmt = _CASE_FOR_UPDATE if for_update else _CASE
    case = session.exec(stmt, params={"case_id": case_id}).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def list_cases(
    session: Session,
    *,
    state: str | None,
    domain: str | None,
    limit: int,
    offset: int,
    query: str | None = None,
) -> tuple[list[CaseRow], int]:
    stmt = select(CaseRow)
    if state:
        stmt = stmt.where(CaseRow.state == state)
    found = matching(query or "")
    if found is not None:
        stmt = stmt.where(found)
    if domain:
        stmt = stmt.where(
            col(CaseRow.id).in_(select(CaseDomainRow.case_id).where(CaseDomainRow.domain == domain))
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(CaseRow.created_at).desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def lookup_domain(raw: str) -> str:
    """A domain from a query, in the form cases store (Unicode), or a 422 naming it."""
    problems: list[FieldProblem] = []
    domains = normalised_domains([raw], problems)
    if problems:
        raise InvalidCase([FieldProblem(field="domain", message=problems[0].message)])
    return domains[0]


def open_cases_by_key(session: Session) -> dict[str, int]:
    """How many open cases print their current form under each page-code key, by key id: a
    key may be retired once no open case needs it."""
    final = [s.value for s in CaseMachine.states if s.final]
    rows = session.exec(
        select(CaseRow.page_key_id, func.count())
        .where(col(CaseRow.state).not_in(final))
        .group_by(CaseRow.page_key_id)
    )
    return {key_id: count for key_id, count in rows}
