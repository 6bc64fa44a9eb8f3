"""E-mail taken in: the message kept in the scan store like a scan, its sender checked
(`senders`), each attachment that is a scan received as one (channel `email`, the message
its source), anything else refused and kept only as a name."""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cesja.casework.addresses import address_key
from cesja.db.models import MessageAttachmentRow, MessageRow, ScanRow, utcnow
from cesja.errors import BadInput, without_paths
from cesja.intake.received import Kept, keep_file, log_received, record_scan, scan_of
from cesja.intake.senders import DkimKeys, Sender, sender_of
from cesja.runtime import Runtime
from cesja.storage import TooLarge

log = logging.getLogger("cesja.intake")

# More files than any cesja needs: past this, the rest of a message is refused, not read.
MAX_ATTACHMENTS = 50
_NAME_LENGTH = 200
_HEADER_LENGTH = 998  # RFC 5322's longest line
# Real Message-IDs are under 100 characters; a longer one is cut, so that with the sender it
# stays within what a PostgreSQL index entry may hold.
_MESSAGE_ID_LENGTH = 250


@dataclass(frozen=True)
class TakenMessage:
    message: MessageRow
    attachments: list[MessageAttachmentRow]
    new: bool


@dataclass(frozen=True)
class _File:
    name: str
    content: bytes


def new_message_id() -> str:
    return "MS-" + secrets.token_hex(8).upper()


def receive_message(runtime: Runtime, raw: bytes) -> TakenMessage:
    """Take one message (`message/rfc822` bytes): 413 over the upload limit, 422 when it is
    not a message. The same bytes again, or the same Message-ID from the same sender, are the
    same message, answered without taking it twice."""
    settings = runtime.settings
    if len(raw) > settings.max_upload_bytes:
        raise TooLarge(f"the message is larger than the limit of {settings.max_upload_mb} MB")
    message = _parse(raw)
    keys = DkimKeys(settings.mail_resolver) if settings.mail_verify_dkim else None
    sender = sender_of(message, authserv_id=settings.mail_authserv_id, raw=raw, dkim_keys=keys)
    files = _files_of(message)
    sha256 = hashlib.sha256(raw).hexdigest()
    message_id = _header(message, "Message-ID")[:_MESSAGE_ID_LENGTH] or None
    sender_key = address_key(sender.address) if sender.address else None
    for _ in range(2):
        with Session(runtime.engine, expire_on_commit=False) as session:
            existing = _existing(session, sha256, message_id, sender_key)
        if existing is not None:
            return existing
        try:
            return _take(runtime, raw, message, files, sender, message_id=message_id)
        except IntegrityError:
            # The same message (or one of its files) arrived at the same moment through
            # another request: look again, and take what is still new.
            continue
    with Session(runtime.engine, expire_on_commit=False) as session:
        existing = _existing(session, sha256, message_id, sender_key)
    if existing is None:
        raise RuntimeError("a message that could not be recorded was not recorded by another")
    return existing


def attachments_of(session: Session, message_id: str) -> list[MessageAttachmentRow]:
    return list(
        session.exec(
            select(MessageAttachmentRow)
            .where(MessageAttachmentRow.message_id == message_id)
            .order_by(col(MessageAttachmentRow.index))
        )
    )


def _existing(
    session: Session, sha256: str, message_id: str | None, sender_key: str | None
) -> TakenMessage | None:
    same = [col(MessageRow.sha256) == sha256]
    if message_id and sender_key:
        same.append(
            (col(MessageRow.message_id_header) == message_id)
            & (col(MessageRow.sender_key) == sender_key)
        )
    row = session.exec(select(MessageRow).where(or_(*same))).first()
    if row is None:
        return None
    return TakenMessage(row, attachments_of(session, row.id), new=False)


def _take(
    runtime: Runtime,
    raw: bytes,
    message: EmailMessage,
    files: list[_File],
    sender: Sender,
    *,
    message_id: str | None,
) -> TakenMessage:
    settings = runtime.settings
    stored = runtime.store.put(raw, max_bytes=settings.max_upload_bytes)
    row = MessageRow(
        id=new_message_id(),
        sha256=stored.sha256,
        size=stored.size,
        message_id_header=message_id,
        from_header=_header(message, "From"),
        subject=_header(message, "Subject"),
        sender_address=sender.address,
        sender_key=address_key(sender.address) if sender.address else None,
        verified=sender.verified,
        how=sender.how,
        evidence=sender.evidence[:2000] if sender.evidence else None,
        received_at=utcnow(),
    )
    attachments: list[MessageAttachmentRow] = []
    new_scans: dict[str, ScanRow] = {}  # by sha256: one file attached twice is one scan
    for index, file in enumerate(files):
        attachment = MessageAttachmentRow(message_id=row.id, index=index, name=file.name)
        attachments.append(attachment)
        if index >= MAX_ATTACHMENTS:
            # One line for the rest: a message of ten thousand tiny parts is ten thousand rows
            # nobody needs.
            attachment.name = f"{file.name} (+{len(files) - index - 1})"[:_NAME_LENGTH]
            attachment.refused_code = "too_many_attachments"
            attachment.refused_reason = (
                f"the message has more than {MAX_ATTACHMENTS} files; the rest were not read"
            )
            break
        try:
            kept = keep_file(runtime, [file.content])
        except BadInput as refusal:
            attachment.refused_code = refusal.code
            attachment.refused_reason = without_paths(refusal.message)[:2000]
            continue
        if isinstance(kept, Kept):
            scan = new_scans.get(kept.stored.sha256) or scan_of(
                kept, channel="email", sender=sender.address, message_id=row.id
            )
            new_scans[scan.sha256] = scan
            attachment.scan_id = scan.id
        else:
            attachment.scan_id = kept.id
    with Session(runtime.engine, expire_on_commit=False) as session:
        session.add(row)
        session.flush()
        for scan in new_scans.values():
            record_scan(session, scan)
        session.flush()
        session.add_all(attachments)
        session.commit()
    if new_scans:
        runtime.work_ready.set()
    for scan in new_scans.values():
        log_received(scan)
    log.info(
        "message %s received: %d file(s), %d refused, sender %s",
        row.id,
        len(attachments),
        sum(a.scan_id is None for a in attachments),
        "verified" if sender.verified else f"not verified ({sender.how})",
    )
    return TakenMessage(row, attachments, new=True)


def _parse(raw: bytes) -> EmailMessage:
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except RecursionError:
        raise _too_deep() from None
    if not isinstance(message, EmailMessage) or not message.keys():
        raise BadInput("the body is not an e-mail message (RFC 5322)", code="not_a_message")
    return message


def _files_of(message: EmailMessage) -> list[_File]:
    try:
        return list(_files(message))
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> BadInput:
    # Parts nested thousands deep: no mail program writes them; the stdlib recurses on them.
    return BadInput("the message's parts are nested too deeply to read", code="too_complex")


def _files(message: EmailMessage) -> Iterator[_File]:
    """Every part that is a file, forwarded messages and inline images included; the text
    of a message (its plain and HTML bodies) is not a file."""
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and disposition != "attachment":
            continue
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes) or not content:
            continue
        yield _File(_name_of(part), content)


def _name_of(part: EmailMessage) -> str:
    """The file's name to show people, harmless: no path, no control characters, not long.
    It is never used to name anything on disk."""
    try:
        name = part.get_filename() or ""
    except (IndexError, ValueError, TypeError):
        name = ""
    name = name.replace("\\", "/").rpartition("/")[2]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split())[:_NAME_LENGTH]
    return name or f"({part.get_content_type()})"


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = str(message.get(name) or "")
    except (IndexError, ValueError, TypeError):
        return ""
    value = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in value)
    return " ".join(value.split())[:_HEADER_LENGTH]
