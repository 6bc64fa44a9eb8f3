"""Database rows: what was received and decided. The rules live in `workflow`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from cesja.db.types import UTCDateTime
from ocr import PageReading


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(timezone=True), **kw))


# The case row's version column: SQLAlchemy bumps it on every update and refuses an update
# whose version was changed underneath it (optimistic locking).
_case_lock_version = Column("lock_version", Integer, nullable=False)


class CaseRow(SQLModel, table=True):
    """One cesja: domains, both registrants, and where the case stands."""

    __tablename__ = "cases"

    id: str = Field(primary_key=True, max_length=16)
    state: str = Field(max_length=32)
    external_ref: str | None = Field(default=None, index=True, max_length=200)
    domains: list[str] = Field(sa_column=Column(JSON, nullable=False))
    current_registrant: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    new_registrant: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    form_version: int = 1
    deadline: datetime = _ts(nullable=False)
    customer_token: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)
    # Optimistic locking: two staff deciding at once cannot both write on the same version.
    lock_version: int = Field(default=1, sa_column=_case_lock_version)
    # What the case is found by, folded (`cesja.casework.search`): written with each version.
    search: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # The language the parties are written to in: "pl" or "en" (`cesja.casework.notices`).
    language: str = Field(
        default="pl", sa_column=Column(String(2), nullable=False, server_default="pl")
    )
    # The id of the key the current form version's page codes are signed with (`cesja.keyring`).
    page_key_id: str = Field(
        default="1", sa_column=Column(String(1), nullable=False, server_default="1")
    )

    __mapper_args__ = {"version_id_col": _case_lock_version}
    # A list by state, newest first, reads its page from the index instead of sorting every
    # case in that state (4,000 cases: 5.3 ms a list, 0.1 ms with it).
    __table_args__ = (Index("ix_cases_state_created_at", "state", "created_at"),)


class CaseDomainRow(SQLModel, table=True):
    """A domain of a case, as its own row so that `?domain=` is an indexed look-up."""

    __tablename__ = "case_domains"

    case_id: str = Field(foreign_key="cases.id", primary_key=True, max_length=16)
    domain: str = Field(primary_key=True, index=True, max_length=253)


class FormVersionRow(SQLModel, table=True):
    """The data each form version printed, so an older page can still be shown and explained."""

    __tablename__ = "form_versions"

    case_id: str = Field(foreign_key="cases.id", primary_key=True, max_length=16)
    version: int = Field(primary_key=True)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False)


class ScanRow(SQLModel, table=True):
    """One received file: stored by its sha256 before it is answered."""

    __tablename__ = "scans"

    id: str = Field(primary_key=True, max_length=32)
    sha256: str = Field(unique=True, max_length=64)
    channel: str = Field(max_length=16)
    sender: str | None = Field(default=None, max_length=320)
    media_type: str = Field(max_length=64)
    size: int
    status: str = Field(default="queued", index=True, max_length=16)
    error: str | None = None
    # How many pages the file has, each read by a job of its own; None for a scan received
    # before pages were jobs, until its one job has counted them.
    pages: int | None = None
    received_at: datetime = _ts(nullable=False)
    processed_at: datetime | None = _ts(nullable=True)
    # The e-mail it came attached to, whose sender decides whether its pages count.
    message_id: str | None = Field(
        default=None, foreign_key="messages.id", index=True, max_length=32
    )


class PageRow(SQLModel, table=True):
    """What one page of a scan turned out to be, with its reading."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("scan_id", "index"),)

    id: int | None = Field(default=None, primary_key=True)
    scan_id: str = Field(foreign_key="scans.id", index=True, max_length=32)
    index: int
    outcome: str = Field(max_length=16)
    case_id: str | None = Field(default=None, index=True, max_length=16)
    party: str | None = Field(default=None, max_length=32)
    form_version: int | None = None
    reading: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False)
    # A page that counted for no case, assigned or dismissed by a person: who, why, when.
    handled_by: str | None = Field(default=None, max_length=64)
    handled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    handled_at: datetime | None = _ts(nullable=True)

    def page_reading(self) -> PageReading:
        """What the reader found on the page, as the reader's own typed model."""
        return PageReading.from_dict(
            self.reading,
            index=self.index,
            case_id=self.case_id,
            party=self.party,  # type: ignore[arg-type]
            form_version=self.form_version,
        )


class EvidenceRow(SQLModel, table=True):
    """Images kept for review: the aligned page and its zone crops, JPEG or PNG as the name
    ends."""

    __tablename__ = "evidence"

    page_id: int = Field(foreign_key="pages.id", primary_key=True)
    name: str = Field(primary_key=True, max_length=64)
    image: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DecisionRow(SQLModel, table=True):
    """A staff decision on one check of one form version."""

    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    form_version: int
    check_name: str = Field(max_length=64)
    decision: str = Field(max_length=8)
    reason: str
    actor: str = Field(max_length=64)
    at: datetime = _ts(nullable=False)


class EventRow(SQLModel, table=True):
    """One entry of a case's audit trail, hash-chained to the one before."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    seq: int
    type: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = _ts(nullable=False)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # How `hash` is made (`workflow.audit.CHAINS`): events from before the audit key are
    # plain sha256, the column's default for them; every event written since is keyed.
    chain: str = Field(max_length=16, sa_column_kwargs={"server_default": "sha256"})


class JobRow(SQLModel, table=True):
    """A unit of background work, committed in the same transaction as what caused it.

    Workers lease a job; a job whose worker died is leased again once the lease runs out.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "done_at", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ref: str = Field(max_length=64)
    run_at: datetime = _ts(nullable=False)
    attempts: int = 0
    leased_until: datetime | None = _ts(nullable=True)
    leased_by: str | None = Field(default=None, max_length=128)
    last_error: str | None = None
    done_at: datetime | None = _ts(nullable=True)
    # Set when the job will not run again and did not succeed: `last_error` says why.
    given_up_at: datetime | None = _ts(nullable=True, index=True)


class WebhookDeliveryRow(SQLModel, table=True):
    """One `cesja.transfer_ready` notice: one webhook-id, however often it is tried."""

    __tablename__ = "webhook_deliveries"

    id: str = Field(primary_key=True, max_length=40)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime = _ts(nullable=False)
    delivered_at: datetime | None = _ts(nullable=True)
    last_attempt_at: datetime | None = _ts(nullable=True)
    # When the next attempt is due while pending: what staff see, not what schedules it (a job).
    next_attempt_at: datetime | None = _ts(nullable=True)


class WebhookAttemptRow(SQLModel, table=True):
    """One POST of a notice: when, and what the receiver answered (never the secret)."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", index=True, max_length=40)
    number: int  # counted from 1, again from 1 after staff re-send the notice
    at: datetime = _ts(nullable=False)
    outcome: str = Field(max_length=16)
    status_code: int | None = None
    error: str | None = None


class PeriodicTaskRow(SQLModel, table=True):
    """When a periodic job is next due. Workers on every machine race to move `next_run_at`
    forward; the one whose conditional update wins enqueues that run's job."""

    __tablename__ = "periodic_tasks"

    name: str = Field(primary_key=True, max_length=32)
    next_run_at: datetime = _ts(nullable=False)


class WorkerHeartbeatRow(SQLModel, table=True):
    """A worker process, on any machine, saying every few seconds that it is alive and taking
    jobs; `/readyz` counts the recent ones."""

    __tablename__ = "worker_heartbeats"

    # `host:pid`, as the `leased_by` of the jobs it runs.
    worker: str = Field(primary_key=True, max_length=128)
    started_at: datetime = _ts(nullable=False)
    seen_at: datetime = _ts(nullable=False, index=True)


class StaffRow(SQLModel, table=True):
    """A member of staff who signs in to the back office as themselves; what they do is
    recorded under their own name (`staff:@<username>`)."""

    __tablename__ = "staff"

    username: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class RefusedUploadRow(SQLModel, table=True):
    """A file an intake caller sent that was not taken, and why: the file itself is not kept
    (its sender still has it), but staff can see that it came and was turned away."""

    __tablename__ = "refused_uploads"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = _ts(nullable=False, index=True)
    channel: str = Field(max_length=16)
    sender: str | None = Field(default=None, max_length=320)
    code: str = Field(max_length=64)
    http_status: int
    reason: str = Field(sa_column=Column(Text, nullable=False))


class MessageRow(SQLModel, table=True):
    """One e-mail taken in: kept by its sha256 like a scan, its sender as the mail host
    vouched for it; each attachment that is a scan became one (`ScanRow.message_id`)."""

    __tablename__ = "messages"
    # The same message again, however its bytes changed on the way (headers added by a
    # relay), is known by its Message-ID from the same sender.
    __table_args__ = (UniqueConstraint("message_id_header", "sender_key"),)

    id: str = Field(primary_key=True, max_length=32)
    sha256: str = Field(unique=True, max_length=64)
    size: int
    message_id_header: str | None = Field(default=None, max_length=998)
    from_header: str = Field(default="", sa_column=Column(Text, nullable=False))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    sender_address: str | None = Field(default=None, max_length=320)
    # The address compared: lower case, its domain in ASCII (`cesja.casework.addresses`).
    sender_key: str | None = Field(default=None, index=True, max_length=320)
    verified: bool = False
    how: str = Field(max_length=32)  # workflow.checks.HOW
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = _ts(nullable=False, index=True)


class MessageAttachmentRow(SQLModel, table=True):
    """A part of a message that was a file: the scan it became, or why it was refused. Its
    name is shown, never used for anything else (no path is made of it)."""

    __tablename__ = "message_attachments"

    message_id: str = Field(foreign_key="messages.id", primary_key=True, max_length=32)
    index: int = Field(primary_key=True)
    name: str = Field(max_length=255)
    scan_id: str | None = Field(default=None, foreign_key="scans.id", index=True, max_length=32)
    refused_code: str | None = Field(default=None, max_length=64)
    refused_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class StaffSessionRow(SQLModel, table=True):
    """A member of staff signed in to the back office. The browser holds the session's random
    id; the server keeps only its sha256, so signing out ends the session here, and a copy of
    the cookie stops working with it."""

    __tablename__ = "staff_sessions"

    digest: str = Field(primary_key=True, max_length=64)
    actor: str = Field(max_length=64, index=True)
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False, index=True)
    # The language the back office speaks to them in, "pl" or "en" (`cesja.web.catalogue`).
    language: str = Field(
        default="pl", sa_column=Column(String(2), nullable=False, server_default="pl")
    )


class CustomerLinkRow(SQLModel, table=True):
    """A customer's link to a case: the case's own (`party` None: the one `customer_url`
    names, for both parties, whose token the case row holds too) or one party's. Found by
    the token's sha256, so that how long a look-up takes says nothing of the tokens that
    exist."""

    __tablename__ = "customer_links"

    digest: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    party: str | None = Field(default=None, max_length=32)
    token: str = Field(max_length=64)


class CustomerUploadRow(SQLModel, table=True):
    """A file a party sent through its link into the intake, so that its page can say what
    arrived and what became of it."""

    __tablename__ = "customer_uploads"

    id: int | None = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    party: str | None = Field(default=None, max_length=32)
    scan_id: str = Field(foreign_key="scans.id", max_length=32)
    at: datetime = _ts(nullable=False)


class NoticeRow(SQLModel, table=True):
    """One e-mail to one party about one thing that happened to its case: one Message-ID,
    however often it is tried. What it says was decided when it happened (`data`)."""

    __tablename__ = "notices"

    id: str = Field(primary_key=True, max_length=32)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=16)
    kind: str = Field(max_length=32)  # cesja.casework.notices.KINDS
    party: str = Field(max_length=32)
    address: str = Field(max_length=320)
    language: str = Field(default="pl", max_length=8)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _ts(nullable=False, index=True)
    sent_at: datetime | None = _ts(nullable=True)
    last_attempt_at: datetime | None = _ts(nullable=True)
    next_attempt_at: datetime | None = _ts(nullable=True)
