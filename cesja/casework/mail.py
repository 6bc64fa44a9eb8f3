"""One notice as an e-mail: its words from the templates in `templates/mail` (plain text and
HTML, autoescaped, no remote images), its Message-ID from the notice's id, DKIM-signed when a
key is configured, and handed to the SMTP server (smtplib), whose answer becomes an `Outcome`."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import dkim
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cesja.casework.addresses import ascii_domain
from cesja.config import Settings, SmtpServer

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "mail"
# What a DKIM signature covers: what a reader sees and what ties the message to its notice.
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version"]


@dataclass(frozen=True)
class Letter:
    """What a notice says: its subject, its text and HTML bodies, and any files with it."""

    subject: str
    text: str
    html: str
    attachments: tuple[tuple[str, bytes], ...] = ()  # (file name, PDF)


@dataclass(frozen=True)
class Outcome:
    """What the SMTP server made of one attempt: `sent`; `refused` when it refused the
    recipient or the message for good (5xx: sending it again would be refused again);
    `retry` otherwise: a 4xx answer, no answer, or a refusal of our own login or From
    address, which the operator can put right while the notice waits."""

    outcome: Literal["sent", "retry", "refused"]
    code: int | None = None
    error: str | None = None


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def write(context: dict[str, Any], language: str = "pl") -> tuple[str, str, str]:
    """The subject, text and HTML of a notice, in Polish or English (`subject_en.txt`,
    `paragraphs_en.txt`; the words around them in `words.txt`). Its words are written once
    (`paragraphs.txt`): blank lines part paragraphs, lines starting `- ` make a list."""
    env = _environment()
    own = "_en" if language == "en" else ""
    context = {**context, "language": language}
    subject = " ".join(env.get_template(f"subject{own}.txt").render(context).split())
    words = env.get_template(f"paragraphs{own}.txt").render(context)
    blocks = _blocks(words)
    text = env.get_template("notice.txt").render(context, words="\n\n".join(blocks_text(blocks)))
    html = env.get_template("notice.html").render(context, blocks=blocks, subject=subject)
    return subject, text, html


def _blocks(words: str) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    for chunk in words.split("\n\n"):
        lines = [" ".join(line.split()) for line in chunk.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if all(line.startswith("- ") for line in lines):
            blocks.append(("list", [line[2:] for line in lines]))
        else:
            blocks.append(("paragraph", [" ".join(lines)]))
    return blocks


def blocks_text(blocks: list[tuple[str, list[str]]]) -> list[str]:
    return [
        "\n".join(f"- {item}" for item in items) if kind == "list" else items[0]
        for kind, items in blocks
    ]


def message_id(notice_id: str, sender: str) -> str:
    """The same on every attempt: a receiver that drops duplicates keeps one."""
    return f"<{notice_id.lower()}@{sender.rpartition('@')[2]}>"


def compose(settings: Settings, letter: Letter, *, notice_id: str, to: str, date: Any) -> bytes:
    """The message as it goes out, signed when CESJA_MAIL_DKIM_KEY is set."""
    sender = settings.mail_from or ""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ascii_address(to)
    mail["Subject"] = letter.subject
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = message_id(notice_id, sender)
    # Replies and bounces are not read by a person as answers to the notice.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(letter.text)
    mail.add_alternative(letter.html, subtype="html")
    for name, data in letter.attachments:
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    raw = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
    if settings.mail_dkim_key and settings.mail_dkim_selector:
        raw = sign(raw, settings.mail_dkim_key, settings.mail_dkim_selector, sender)
    return raw


def sign(raw: bytes, key: Path, selector: str, sender: str) -> bytes:
    """The message with a DKIM-Signature of the From domain (relaxed/relaxed, rsa-sha256)."""
    domain = sender.rpartition("@")[2].encode("idna")
    signature = dkim.sign(
        raw,
        selector.encode("ascii"),
        domain,
        key.read_bytes(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=SIGNED_HEADERS,
    )
    return signature + raw


def ascii_address(address: str) -> str:
    """The address with its domain in ASCII (IDNA), as every SMTP server takes it."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def send(server: SmtpServer, timeout: float, sender: str, to: str, raw: bytes) -> Outcome:
    """Hand one message to the SMTP server. Errors are the server's words, never the URL
    (nor the password in it)."""
    try:
        with _connect(server, timeout) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.sendmail(ascii_address(sender), [ascii_address(to)], raw)
    except smtplib.SMTPRecipientsRefused as err:
        code, said = next(iter(err.recipients.values()))
        return _answered(code, said, final=True)
    except smtplib.SMTPDataError as err:
        return _answered(err.smtp_code, err.smtp_error, final=True)
    except smtplib.SMTPAuthenticationError as err:
        return _answered(err.smtp_code, err.smtp_error, final=False, about="the login: ")
    except smtplib.SMTPResponseException as err:
        return _answered(err.smtp_code, err.smtp_error, final=False)
    except (smtplib.SMTPException, OSError) as err:
        return Outcome("retry", error=f"{type(err).__name__}: {err}"[:500])
    return Outcome("sent", code=250)


def _connect(server: SmtpServer, timeout: float) -> smtplib.SMTP:
    if server.tls:
        return smtplib.SMTP_SSL(
            server.host, server.port, timeout=timeout, context=ssl.create_default_context()
        )
    return smtplib.SMTP(server.host, server.port, timeout=timeout)


def _answered(code: int, said: bytes | str, *, final: bool, about: str = "") -> Outcome:
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else said
    error = f"{about}{code} {text}"[:500]
    refused = final and 500 <= code < 600
    return Outcome("refused" if refused else "retry", code=code, error=error)
