"""E-mail as the registrar's mail host hands it to the service, with the case's form attached."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader, PdfWriter

from tests.conftest import INTAKE, REGISTRAR

OUR_HOST = "mx.registrar.pl"  # CESJA_MAIL_AUTHSERV_ID in these tests
VERIFIED = f"{OUR_HOST}; spf=pass smtp.mailfrom=example.pl; dmarc=pass header.from=example.pl"


def message(
    *,
    sender: str = "biuro@example.pl",
    results: tuple[str, ...] = (VERIFIED,),
    files: tuple[tuple[str, bytes, str], ...] = (),
    message_id: str | None = None,
) -> EmailMessage:
    """An e-mail as the registrar's mail host hands it on: its Authentication-Results on top."""
    mail = EmailMessage()
    for header in results:
        mail["Authentication-Results"] = header
    mail["From"] = f"Biuro Przykład <{sender}>"
    mail["To"] = "cesja@registrar.pl"
    mail["Subject"] = "Podpisany formularz cesji"
    mail["Message-ID"] = message_id or make_msgid(domain="example.pl")
    mail.set_content("Dzień dobry, w załączeniu podpisany formularz.")
    for name, data, media_type in files:
        maintype, _, subtype = media_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def send(client: TestClient, mail: EmailMessage | bytes, headers: dict[str, str] = INTAKE) -> Any:
    raw = mail if isinstance(mail, bytes) else mail.as_bytes()
    return client.post(
        "/api/v1/messages",
        content=raw,
        headers={**headers, "Content-Type": "message/rfc822"},
    )


def form_pdf(client: TestClient, case_id: str, *, pages: tuple[int, ...] = (0, 1)) -> bytes:
    """The case's form as the service prints it (to PDF), these pages of it."""
    whole = client.get(f"/api/v1/cases/{case_id}/form.pdf", headers=REGISTRAR).content
    writer = PdfWriter()
    for index in pages:
        writer.add_page(PdfReader(io.BytesIO(whole)).pages[index])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
