"""`cesja demo`: the contract's example case through the whole flow, as the service runs it.

A case is created by the service's own create logic, its form rendered, both pages signed
(and the company's stamped) by the scan simulator, page 1 sent back by fax and page 2 by
post, both taken in by the intake the API uses and read by the workers. With a forged
variant, a second case gets an unsigned page 1 and a page 2 with a value crossed out.

The seed fixes every choice the simulator makes (the pen, the stamp, the scanner and fax
line, which value is forged). The case number and the page codes are the service's own,
new for every case, so two runs with one seed differ in those few printed characters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sqlalchemy import make_url
from sqlmodel import Session, col, select

from cesja import intake, workers
from cesja.casework import cases
from cesja.casework.evidence import case_checks
from cesja.casework.forms import issued_form, issued_pdf
from cesja.casework.schemas import CaseCreate
from cesja.config import Settings
from cesja.db.models import CaseRow, JobRow, PageRow, ScanRow, WebhookDeliveryRow
from cesja.example import EXAMPLE_CASE
from cesja.intake.hot_folder import file_chunks
from cesja.intake.processing import READ_PAGE
from cesja.runtime import Runtime
from documents import FormData, printed_values
from documents.form_data import EMPTY
from documents.simulate import (
    Paper,
    cross_out_and_write,
    fax,
    print_page,
    scan,
    to_pdf,
    to_tiff,
)
from documents.simulate.scenarios import (
    ALTERABLE_FIELDS,
    company_stamp,
    fill_in,
    plausible_change,
)
from ocr import PageReading
from workflow import Check, transfer_allowed

ACTOR = "system:demo"
FORM_FILE = "cesja-demo-form.pdf"
# A failed job's error is shown by its first line, cut to this many characters.
_ERROR_CHARS = 200

# The contract's example case (CONTRACT.md section 3), with a REGON whose check digit holds.
FAX_SENDER = "+48 42 123 45 67"


@dataclass(frozen=True)
class SentPage:
    """One page as it went back to the service: what was done to it, how, and the file."""

    page: int
    party: str
    done: str
    channel: str
    how: str
    path: Path


@dataclass(frozen=True)
class ReceivedScan:
    """One file as the service holds it after the workers ran: read, or why not yet."""

    id: str
    channel: str
    status: str = "queued"
    problem: str | None = None


@dataclass(frozen=True)
class ReadPage:
    """One page as the workers stored it."""

    scan_id: str
    reading: PageReading


@dataclass
class CaseRun:
    """One case taken through the flow, and what the service made of it."""

    title: str
    case_id: str
    form_version: int
    summary: str
    sent: list[SentPage] = field(default_factory=list)
    scans: list[ReceivedScan] = field(default_factory=list)
    pages: list[ReadPage] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    state: str = ""
    transfer_allowed: bool = False
    read_seconds: float = 0.0
    webhook: str = ""
    # The checks the forgery is made to fail, and those a careful reader may fail with them.
    must_fail: tuple[str, ...] = ()
    may_fail: tuple[str, ...] = ()


def run(runtime: Runtime, *, seed: int, out_dir: Path, fraud: bool) -> list[CaseRun]:
    """The genuine case and, with `fraud`, the forged one; form and scans go to `out_dir`."""
    rng = np.random.default_rng(seed)
    runs = [_genuine(runtime, rng, out_dir)]
    if fraud:
        runs.append(_forged(runtime, rng, out_dir))
    return runs


def _genuine(runtime: Runtime, rng: np.random.Generator, out_dir: Path) -> CaseRun:
    case_run, form, pdf = _new_case(runtime, "Genuine: both parties sign, the company stamps")
    (out_dir / FORM_FILE).write_bytes(pdf)
    page1 = print_page(pdf, 1)
    fill_in(page1, rng, form.current_registrant)
    page2 = print_page(pdf, 2)
    fill_in(page2, rng, form.new_registrant)
    done = "signed and stamped"
    _fax_back(runtime, case_run, page1, rng, out_dir / "cesja-demo-page1-fax.tif", done)
    _post_back(runtime, case_run, page2, rng, out_dir / "cesja-demo-page2-post.pdf", "signed")
    _read(runtime, case_run)
    return case_run


def _forged(runtime: Runtime, rng: np.random.Generator, out_dir: Path) -> CaseRun:
    case_run, form, pdf = _new_case(
        runtime, "Forged: page 1 stamped but not signed, page 2 with a value crossed out"
    )
    page1 = print_page(pdf, 1)
    company_stamp(page1, rng, form.current_registrant)
    page2 = print_page(pdf, 2)
    fill_in(page2, rng, form.new_registrant)
    name = ALTERABLE_FIELDS[int(rng.integers(len(ALTERABLE_FIELDS)))]
    key = f"new_registrant.{name}"
    forged_value = plausible_change(name, printed_values(form)[key], rng)
    cross_out_and_write(page2, rng, key, forged_value)
    _fax_back(runtime, case_run, page1, rng, out_dir / "cesja-demo-forged-page1-fax.tif", "stamped")
    altered = f"signed; its {name.replace('_', ' ')} crossed out, {forged_value!r} written by hand"
    _post_back(runtime, case_run, page2, rng, out_dir / "cesja-demo-forged-page2-post.pdf", altered)
    case_run.must_fail = ("current_registrant.signature_present", "new_registrant.unaltered")
    case_run.may_fail = ("new_registrant.fields_match",)
    _read(runtime, case_run)
    return case_run


def _new_case(runtime: Runtime, title: str) -> tuple[CaseRun, FormData, bytes]:
    settings = runtime.settings
    with Session(runtime.engine, expire_on_commit=False) as session:
        case = cases.create_case(
            session,
            CaseCreate.model_validate(EXAMPLE_CASE),
            actor=ACTOR,
            settings=settings,
        )
        session.commit()
        form, pdf = issued_form(session, case, settings), issued_pdf(session, case, settings)
    parties = " → ".join(
        f"{p.name} ({p.kind})" for p in (form.current_registrant, form.new_registrant)
    )
    summary = f"{', '.join(form.domains)}: {parties}"
    case_run = CaseRun(title, case.id, case.form_version, summary)
    return case_run, form, pdf


def _fax_back(
    runtime: Runtime,
    case_run: CaseRun,
    paper: Paper,
    rng: np.random.Generator,
    path: Path,
    done: str,
) -> None:
    """Page 1 by fax: standard resolution, G3, no resolution tags, as many gateways write it."""
    path.write_bytes(to_tiff([fax(paper, rng, fine=False)], "group3", dpi=False))
    how = "fax, standard resolution (204 × 98 dpi), G3 TIFF without resolution tags"
    case_run.sent.append(SentPage(1, "current_registrant", done, "fax", how, path))
    _receive(runtime, case_run, path, channel="fax", sender=FAX_SENDER)


def _post_back(
    runtime: Runtime,
    case_run: CaseRun,
    paper: Paper,
    rng: np.random.Generator,
    path: Path,
    done: str,
) -> None:
    """Page 2 by post: the mail room scans it at 300 dpi grey into a PDF."""
    path.write_bytes(to_pdf([scan(paper, rng, dpi=300)]))
    how = "post, scanned at 300 dpi grey into a PDF"
    case_run.sent.append(SentPage(2, "new_registrant", done, "post", how, path))
    _receive(runtime, case_run, path, channel="post", sender=None)


def _receive(
    runtime: Runtime, case_run: CaseRun, path: Path, *, channel: str, sender: str | None
) -> None:
    received = intake.receive(runtime, file_chunks(path), channel=channel, sender=sender)
    case_run.scans.append(ReceivedScan(received.scan.id, channel))


def _read(runtime: Runtime, case_run: CaseRun) -> None:
    """Run the workers here until the queue is empty, then collect what they stored."""
    start = time.perf_counter()
    workers.drain(runtime)
    case_run.read_seconds = time.perf_counter() - start
    scan_ids = [received.id for received in case_run.scans]
    with Session(runtime.engine) as session:
        case_run.scans = [_after_work(session, received) for received in case_run.scans]
        rows = session.exec(
            select(PageRow)
            .where(col(PageRow.scan_id).in_(scan_ids))
            .order_by(col(PageRow.scan_id), col(PageRow.index))
        ).all()
        order = {scan_id: i for i, scan_id in enumerate(scan_ids)}
        case_run.pages = sorted(
            (ReadPage(r.scan_id, r.page_reading()) for r in rows),
            key=lambda p: (order[p.scan_id], p.reading.index),
        )
        case = session.get_one(CaseRow, case_run.case_id)
        case_run.checks = case_checks(
            session, case, require_original=runtime.settings.require_original
        )
        case_run.state = case.state
        case_run.transfer_allowed = transfer_allowed(case.state)
        case_run.webhook = _webhook(session, runtime.settings, case)


def _after_work(session: Session, received: ReceivedScan) -> ReceivedScan:
    """The scan's status and, when a job of its pages did not finish, what went wrong and what
    is next."""
    row = session.get_one(ScanRow, received.id)
    problem = row.error
    if row.status != "done":
        job = session.exec(
            select(JobRow)
            .where(JobRow.kind == READ_PAGE)
            .where(col(JobRow.ref).startswith(f"{received.id}/"))
            .where(col(JobRow.last_error).is_not(None))
            .order_by(col(JobRow.id).desc())
        ).first()
        if job is not None and job.last_error:
            error = job.last_error.splitlines()[0][:_ERROR_CHARS]
            retry = "given up" if job.done_at else f"to be tried again at {job.run_at:%H:%M:%S} UTC"
            problem = f"its job failed (attempt {job.attempts}, {retry}): {error}"
    return replace(received, status=row.status, problem=problem)


def _webhook(session: Session, settings: Settings, case: CaseRow) -> str:
    """What became of the transfer-ready notice, if the case got that far."""
    if case.state != "transfer_ready":
        return ""
    if not settings.webhook_url:
        return "not sent: CESJA_WEBHOOK_URL is not set"
    notice = session.exec(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.case_id == case.id)
        .order_by(col(WebhookDeliveryRow.created_at).desc())
    ).first()
    if notice is None:
        return "no notice recorded"
    return f"{notice.id} {notice.status} after {notice.attempts} attempt(s)"


# --- what the operator reads ------------------------------------------------------------------


def report(case_run: CaseRun) -> Iterator[str]:
    """The run as plain lines for a terminal."""
    yield case_run.title
    yield f"  case {case_run.case_id} created, form version {case_run.form_version}"
    yield f"    {case_run.summary}"
    yield "  sent back:"
    for sent in case_run.sent:
        size = sent.path.stat().st_size / 1024
        who = sent.party.replace("_", " ")
        yield f"    page {sent.page} ({who}): {sent.done}"
        yield f"      by {sent.how}: {sent.path.name} ({size:.0f} kB)"
    scans = ", ".join(f"{r.id} ({r.channel})" for r in case_run.scans)
    yield f"  received through intake: {scans}"
    yield f"  read by the workers in {case_run.read_seconds:.1f} s:"
    for received in case_run.scans:
        if received.status != "done" or received.problem:
            problem = received.problem or "not read yet"
            yield f"    {received.id}: {received.status}: {problem}"
    for page in case_run.pages:
        yield from _page_lines(page)
    yield "  checks:"
    width = max((len(c.name) for c in case_run.checks), default=0)
    for check in case_run.checks:
        mark = _mark(case_run, check)
        yield f"    {check.status:<8} {check.name:<{width}}  {check.detail}{mark}"
    allowed = "yes" if case_run.transfer_allowed else "no"
    yield f"  state: {case_run.state}   transfer_allowed: {allowed}"
    if case_run.webhook:
        yield f"  transfer-ready webhook: {case_run.webhook}"
    if case_run.must_fail:
        yield from _verdict_on_forgery(case_run)


def _page_lines(page: ReadPage) -> Iterator[str]:
    r = page.reading
    where = f"    {page.scan_id} page {r.index + 1}: {r.outcome}"
    if r.case_id:
        party = (r.party or "?").replace("_", " ")
        how = {"qr": "its QR code", "case_number": "its printed case number"}.get(
            r.routed_by or "", "?"
        )
        where += f" → case {r.case_id}, {party}, form v{r.form_version}, routed by {how}"
    yield f"{where} ({sum(r.timings_ms.values()):.0f} ms)"
    if r.detail:
        yield f"      note: {r.detail}"
    if r.outcome != "matched":
        return
    printed = {n: f for n, f in r.fields.items() if f.expected != EMPTY}
    matching = sum(1 for f in printed.values() if f.verdict == "match")
    found = [
        f"printed values {matching}/{len(printed)} match",
        f"signature {_yes(r.signature_present)}",
    ]
    if r.stamp_present is not None:
        found.append(f"stamp {_yes(r.stamp_present)}")
    found.append(f"unaltered {_yes(r.unaltered)}")
    yield "      " + ", ".join(found)
    for name, f in printed.items():
        if f.verdict != "match":
            yield f"      mismatch {name}: read {f.read!r}, expected {f.expected!r}"
    for name in r.altered_fields:
        yield f"      handwriting over {name}"


def _yes(value: object) -> str:
    return "yes" if value else "no"


def _mark(case_run: CaseRun, check: Check) -> str:
    if not case_run.must_fail or check.status != "failed":
        return ""
    if check.name in case_run.must_fail:
        return "   ← caught"
    if check.name in case_run.may_fail:
        return "   ← caught (also)"
    return "   ← failed, though not forged"


def _verdict_on_forgery(case_run: CaseRun) -> Iterator[str]:
    failed = {c.name for c in case_run.checks if c.status == "failed"}
    missed = [name for name in case_run.must_fail if name not in failed]
    extra = sorted(failed - set(case_run.must_fail) - set(case_run.may_fail))
    yield f"  the forgery should fail: {', '.join(case_run.must_fail)}"
    if not missed and not extra:
        yield "  caught: every forged detail failed its check, nothing else did"
    for name in missed:
        yield f"  MISSED: {name} did not fail"
    for name in extra:
        yield f"  ALSO FAILED (not forged): {name}"


def data_dir_line(settings: Settings, *, fresh: bool) -> str:
    where = "a temporary data dir, removed at the end" if fresh else "the configured database"
    url = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
    return f"data: {url} ({where})"
