"""Writes docs/email-case-opened.html and .txt, the notice shown in the README, as the service
words it for the contract's example case: `python docs/render_email.py`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cesja.casework.cases import new_case
from cesja.casework.notices import letter
from cesja.casework.schemas import CaseCreate
from cesja.config import Settings
from cesja.db.models import NoticeRow
from cesja.example import EXAMPLE_CASE

if __name__ == "__main__":
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        public_url="https://cesja.registrar.pl",
        smtp_url="smtp://mail.registrar.pl:587?starttls=true",
        mail_from="cesja@registrar.pl",
        # The attached form's QR codes need a key; this one signs nothing anyone reads.
        secret_key="documentation only, never a real key",  # noqa: S106
    )
    case = new_case(CaseCreate.model_validate(EXAMPLE_CASE), deadline_days=14)
    # Fixed, so that the files change only when the words do.
    case.id, case.customer_token = "CS-7K3M-Q9XA", "przykladowy-link-do-sprawy"
    case.created_at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    case.deadline = datetime(2026, 12, 19, tzinfo=UTC)
    notice = NoticeRow(
        id="NT-0000000000000001",
        case_id=case.id,
        kind="case_opened",
        party="current_registrant",
        address=EXAMPLE_CASE["current_registrant"]["email"],
        data={},
        created_at=case.created_at,
    )
    links = {
        "current_registrant": "https://cesja.example.pl/c/link-obecnego-abonenta",
        "new_registrant": "https://cesja.example.pl/c/link-nowego-abonenta",
    }
    said = letter(settings, case, notice, links)
    here = Path(__file__).parent
    (here / "email-case-opened.html").write_text(said.html, encoding="utf-8")
    (here / "email-case-opened.txt").write_text(
        f"Subject: {said.subject}\nAttached: {', '.join(n for n, _ in said.attachments)}\n\n"
        + said.text,
        encoding="utf-8",
    )
    print(f"wrote {here / 'email-case-opened.html'} and .txt")
