"""Customers' links: the case's own link and one per party, each an unguessable token, found
by its hash and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from cesja.config import Settings
from cesja.db import rows_of
from cesja.db.models import CaseRow, CustomerLinkRow
from cesja.errors import NotFound
from documents.layout import Party

PARTIES: tuple[Party, Party] = ("current_registrant", "new_registrant")
# What a token looks like (`new_token` makes 32 of these characters); anything else is no link
# of ours and is not looked up at all.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class UnknownLink(NotFound):
    code = "unknown_link"


@dataclass(frozen=True)
class Link:
    """The case a link opens, and whose link it is (None: the case's own, for both parties)."""

    case: CaseRow
    party: Party | None


def new_token() -> str:
    # 192 bits from the system's CSPRNG: a link that cannot be guessed or enumerated.
    return secrets.token_urlsafe(24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_links(session: Session, case: CaseRow) -> dict[str, str]:
    """The links of a case being made, in the caller's transaction: its own (the token on its
    row) and one per party, whose tokens it returns by party."""
    session.add(
        CustomerLinkRow(
            digest=_digest(case.customer_token),
            case_id=case.id,
            party=None,
            token=case.customer_token,
        )
    )
    tokens: dict[str, str] = {party: new_token() for party in PARTIES}
    for party, token in tokens.items():
        session.add(
            CustomerLinkRow(digest=_digest(token), case_id=case.id, party=party, token=token)
        )
    return tokens


def link(session: Session, token: str) -> Link:
    """The case and party a token opens, or UnknownLink: the same for every token we did not
    give out, whatever it looks like."""
    refused = UnknownLink("this link is not valid; ask the registrar for a new one")
    if not TOKEN.fullmatch(token):
        raise refused
    row = session.get(CustomerLinkRow, _digest(token))
    if row is None or not hmac.compare_digest(row.token.encode(), token.encode()):
        raise refused
    case = session.get(CaseRow, row.case_id)
    if case is None:
        raise refused
    return Link(case, row.party)  # type: ignore[arg-type]


def url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/c/{token}"


# Built once (every case read or listed reads them), as three columns, not as objects.
_PARTY_LINKS = select(
    col(CustomerLinkRow.case_id), col(CustomerLinkRow.party), col(CustomerLinkRow.token)
).where(
    col(CustomerLinkRow.case_id).in_(bindparam("case_ids", expanding=True)),
    col(CustomerLinkRow.party).is_not(None),
)


def party_urls(
    session: Session, settings: Settings, cases: Sequence[CaseRow]
) -> dict[str, dict[str, str]]:
    """Each case's party links, by case id then party: one query however many cases."""
    urls: dict[str, dict[str, str]] = defaultdict(dict)
    if not cases:
        return urls
    rows = rows_of(session, _PARTY_LINKS, {"case_ids": [case.id for case in cases]})
    for case_id, party, token in rows:
        urls[case_id][str(party)] = url(settings, token)
    return urls
