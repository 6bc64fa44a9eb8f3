"""What the back-office pages show: the queue, a case under review, loose pages, stuck notices."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case as when
from sqlalchemy import func
from sqlmodel import Session, col, select

from cesja.casework import audit_log
from cesja.casework.evidence import case_checks, case_evidence, checks_of_cases
from cesja.casework.search import matching
from cesja.casework.webhooks import RESENDABLE
from cesja.db.models import (
    CaseRow,
    DecisionRow,
    EventRow,
    EvidenceRow,
    FormVersionRow,
    MessageAttachmentRow,
    MessageRow,
    PageRow,
    RefusedUploadRow,
    ScanRow,
    WebhookDeliveryRow,
)
from documents import layout
from documents.layout import Box
from ocr import PageReading
from workflow import PARTIES, BrokenLink, Check, best_page, is_final

# The evidence images a page may have (`ocr.reading`): a fixed list, so that no name a
# browser sends is ever more than a key looked up in this set. Scans are kept as JPEG, the
# party's ink as PNG; readings made before December 2026 kept every image as PNG.
IMAGE_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
EVIDENCE_STEMS = frozenset(
    {
        "page",
        "page_zoom",
        "party_ink",
        "zone/signing_area",
        "zone/case_number",
        *(f"zone/{name}" for name in layout.FIELD_BOXES),
    }
)
EVIDENCE_NAMES = frozenset(stem + suffix for stem in EVIDENCE_STEMS for suffix in IMAGE_TYPES)


def image_named(images: frozenset[str], stem: str | None) -> str | None:
    """The name under which a page keeps the image `stem` ("page", "zone/signing_area"…),
    whichever format it was kept in; None when it has none."""
    if stem is None:
        return None
    return next((stem + suffix for suffix in IMAGE_TYPES if stem + suffix in images), None)


# Pages that reached no case (or no longer count for one): nothing received may drop from sight.
UNROUTED_OUTCOMES = ("unmatched", "invalid_code", "blank", "stale_version")


@dataclass(frozen=True)
class QueueRow:
    case: CaseRow
    failed: list[Check]
    open: list[Check]  # pending, or passed only provisionally


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    count: int


def work_queue(
    session: Session,
    *,
    require_original: bool,
    state: str | None,
    search: str | None,
    limit: int,
    offset: int,
) -> QueuePage:
    """Cases that need a person first (longest waiting on top), then the rest, newest first."""
    stmt = select(CaseRow)
    if state:
        stmt = stmt.where(CaseRow.state == state)
    found = matching(search or "")
    if found is not None:
        stmt = stmt.where(found)
    count = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    in_review = col(CaseRow.state) == "in_review"
    rows = session.exec(
        stmt.order_by(
            when((in_review, 0), else_=1),
            when((in_review, CaseRow.updated_at), else_=None),
            col(CaseRow.created_at).desc(),
        )
        .limit(limit)
        .offset(offset)
    ).all()
    open_cases = [case for case in rows if not is_final(case.state)]
    checks_of = checks_of_cases(session, open_cases, require_original=require_original)
    queue = []
    for case in rows:
        checks = checks_of.get(case.id, [])
        queue.append(
            QueueRow(
                case=case,
                failed=[c for c in checks if c.status == "failed"],
                open=[c for c in checks if c.status == "pending" or c.provisional],
            )
        )
    return QueuePage(queue, count)


@dataclass(frozen=True)
class FieldView:
    name: str
    party: str | None  # None for the domains and the case number
    short: str  # the field within its party, e.g. "email"
    expected: str
    read: str
    verdict: str
    confidence: float | None
    zone: str  # the evidence stem of its crop (kept only for values in doubt)
    doubted: tuple[int, ...] = ()  # places read as printed whose shapes are nearer others


_CHECK_BOXES = (
    ("signature_present", layout.SIGNATURE),
    ("stamp_present", layout.STAMP),
    ("page_received", layout.QR_CODE),
)


def _with_margin(box: Box, mm: float = 4.0) -> Box:
    return Box(box.x - mm, box.y - mm, box.w + 2 * mm, box.h + 2 * mm)


@dataclass(frozen=True)
class Mark:
    """A box drawn over the page's image, in millimetres of the form: what was judged there,
    in the colour of its verdict ("ok", "bad", or "none": nothing to judge)."""

    box: Box
    verdict: str
    what: str  # a field's name, "signature" or "stamp"


@dataclass(frozen=True)
class PageView:
    page: PageRow
    scan: ScanRow
    counts: bool  # a matched page of the case's current form version
    used_for_checks: bool  # the party's best page, the one its checks were read from
    kinds: dict[str, str]  # party → person/company, as that page's form version printed them
    fields: list[FieldView]
    images: frozenset[str]
    message: MessageRow | None = None  # the e-mail it came in

    def image(self, stem: str) -> str | None:
        return image_named(self.images, stem)

    def focus(self, check: str) -> str | None:
        """Where on the page `check` (its short name) was decided, as the viewer takes it
        ("x y w h" in millimetres): the first value in doubt, the signature or stamp box, the
        page code; None for the whole page."""
        reading = self.reading
        names = {"fields_match": reading.mismatched_fields, "unaltered": reading.altered_fields}
        boxes = [layout.FIELD_BOXES[n] for n in names.get(check, []) if n in layout.FIELD_BOXES]
        boxes += [b for c, b in _CHECK_BOXES if c == check]
        if not boxes:
            return None
        box = _with_margin(boxes[0])
        return f"{box.x:g} {box.y:g} {box.w:g} {box.h:g}"

    @property
    def marks(self) -> list[Mark]:
        """Every value's box, the signature's and the stamp's, as this page's reading judged
        them (a value with ink over it is marked as a mismatch is)."""
        reading = self.reading
        if not reading.aligned:
            return []
        altered = set(reading.altered_fields)
        marks = []
        for f in self.fields:
            box = layout.FIELD_BOXES.get(f.name)
            if box is None or f.verdict == "empty":
                continue
            bad = f.verdict == "mismatch" or f.name in altered
            marks.append(Mark(box, "bad" if bad else "ok", f.name))
        for what, box, finding in (
            ("signature", layout.SIGNATURE, reading.signature),
            ("stamp", layout.STAMP, reading.stamp),
        ):
            if finding is not None:
                marks.append(Mark(box, "ok" if finding.present else "bad", what))
        return marks

    @property
    def reading(self) -> PageReading:
        return self.page.page_reading()


@dataclass(frozen=True)
class CheckView:
    check: Check
    party: str
    short: str
    decisions: list[DecisionRow]  # staff decisions on it for the current version, oldest first


@dataclass(frozen=True)
class CaseReview:
    case: CaseRow
    checks: list[CheckView]
    current_pages: list[PageView]
    older_pages: list[PageView]
    events: list[EventRow]
    broken: BrokenLink | None
    open: bool  # checks can still be decided, the case rejected or cancelled

    def page_of(self, party: str) -> PageView | None:
        """The page `party`'s checks were read from: the evidence beside each of them."""
        return next(
            (p for p in self.current_pages if p.used_for_checks and p.page.party == party), None
        )


def case_review(session: Session, case: CaseRow, *, require_original: bool) -> CaseReview:
    checks = case_checks(session, case, require_original=require_original)
    decisions: dict[str, list[DecisionRow]] = defaultdict(list)
    for d in session.exec(
        select(DecisionRow)
        .where(DecisionRow.case_id == case.id)
        .where(DecisionRow.form_version == case.form_version)
        .order_by(col(DecisionRow.at), col(DecisionRow.id))
    ):
        decisions[d.check_name].append(d)
    views = []
    for check in checks:
        party, _, short = check.name.partition(".")
        views.append(CheckView(check, party, short, decisions.get(check.name, [])))
    pages = _pages_of(session, case, require_original=require_original)
    events = audit_log.events(session, case.id)
    return CaseReview(
        case=case,
        checks=views,
        current_pages=[p for p in pages if p.counts],
        older_pages=[p for p in pages if not p.counts],
        events=events,
        broken=audit_log.verify_case(session, case.id),
        open=not is_final(case.state),
    )


def _pages_of(session: Session, case: CaseRow, *, require_original: bool) -> list[PageView]:
    rows = session.exec(
        select(PageRow, ScanRow, MessageRow)
        .join(ScanRow, PageRow.scan_id == ScanRow.id)  # type: ignore[arg-type]
        .outerjoin(MessageRow, ScanRow.message_id == MessageRow.id)  # type: ignore[arg-type]
        .where(PageRow.case_id == case.id)
        .order_by(col(ScanRow.received_at).desc(), col(PageRow.index))
    ).all()
    kinds_of = {
        v.version: {str(p): str(v.data[p]["kind"]) for p in PARTIES}
        for v in session.exec(select(FormVersionRow).where(FormVersionRow.case_id == case.id))
    }
    best = _best_pages(session, case, require_original=require_original)
    images = evidence_names(session, [page.id for page, _, _ in rows if page.id is not None])
    views = []
    for page, scan, message in rows:
        counts = page.outcome == "matched" and page.form_version == case.form_version
        views.append(
            PageView(
                page=page,
                scan=scan,
                counts=counts,
                used_for_checks=counts and (scan.id, page.index) in best,
                kinds=kinds_of.get(page.form_version or 0, {}),
                fields=_fields(page),
                images=images.get(page.id or 0, frozenset()),
                message=message,
            )
        )
    return views


def _best_pages(session: Session, case: CaseRow, *, require_original: bool) -> set[tuple[str, int]]:
    evidence = case_evidence(session, case)
    chosen = set()
    for party in PARTIES:
        page = best_page(
            [e for e in evidence if e.party == party],
            kind=getattr(case, party)["kind"],
            require_original=require_original,
        )
        if page is not None:
            chosen.add((page.scan_id, page.page_index))
    return chosen


def _fields(page: PageRow) -> list[FieldView]:
    views = []
    for name, f in page.page_reading().fields.items():
        party, dot, short = name.partition(".")
        views.append(
            FieldView(
                name=name,
                party=party if dot else None,
                short=short if dot else name,
                expected=f.expected,
                read=f.read,
                verdict=f.verdict,
                confidence=f.confidence,
                zone=f"zone/{name}",
                doubted=f.doubted,
            )
        )
    # What disagrees first: the reviewer's eye goes there; values the form left empty last.
    order = {"mismatch": 0, "match": 1, "empty": 2}
    return sorted(views, key=lambda view: order.get(view.verdict, 1))


def evidence_names(session: Session, page_ids: list[int]) -> dict[int, frozenset[str]]:
    """Which images each page has, without loading the images."""
    if not page_ids:
        return {}
    found: dict[int, set[str]] = defaultdict(set)
    for page_id, name in session.exec(
        select(EvidenceRow.page_id, EvidenceRow.name).where(col(EvidenceRow.page_id).in_(page_ids))
    ):
        found[page_id].add(name)
    return {page_id: frozenset(names) for page_id, names in found.items()}


@dataclass(frozen=True)
class EvidenceImage:
    image: bytes
    media_type: str
    case_id: str | None  # the case the page was routed or assigned to, if any
    scan_id: str
    page_index: int


def evidence_image(session: Session, page_id: int, name: str) -> EvidenceImage | None:
    """A page's evidence image, or None when it has no such image."""
    if name not in EVIDENCE_NAMES:
        return None
    found = session.exec(
        select(EvidenceRow.image, PageRow.case_id, PageRow.scan_id, PageRow.index)
        .join(PageRow, col(PageRow.id) == col(EvidenceRow.page_id))
        .where(EvidenceRow.page_id == page_id, EvidenceRow.name == name)
    ).first()
    if found is None:
        return None
    image, case_id, scan_id, index = found
    return EvidenceImage(image, IMAGE_TYPES[name[name.rindex(".") :]], case_id, scan_id, index)


def cases_of_scan(session: Session, scan_id: str) -> list[str]:
    """The cases a page of the scan counts or counted for, in order."""
    found = session.exec(
        select(PageRow.case_id)
        .where(PageRow.scan_id == scan_id)
        .where(col(PageRow.case_id).is_not(None))
        .distinct()
    )
    return sorted(case_id for case_id in found if case_id is not None)


def cases_of_message(session: Session, message_id: str) -> list[str]:
    """The cases a page of the e-mail's files counts or counted for, in order."""
    found = session.exec(
        select(PageRow.case_id)
        .join(MessageAttachmentRow, col(MessageAttachmentRow.scan_id) == col(PageRow.scan_id))
        .where(MessageAttachmentRow.message_id == message_id)
        .where(col(PageRow.case_id).is_not(None))
        .distinct()
    )
    return sorted(case_id for case_id in found if case_id is not None)


@dataclass(frozen=True)
class LoosePage:
    page: PageRow
    scan: ScanRow
    images: frozenset[str]

    def image(self, stem: str) -> str | None:
        return image_named(self.images, stem)


@dataclass(frozen=True)
class LoosePages:
    pages: list[LoosePage]
    count: int
    failed_scans: list[ScanRow] = field(default_factory=list)
    refused: list[RefusedUploadRow] = field(default_factory=list)


# How far `j` and `k` look along the cases in review: a reviewer's day, and then some.
NEIGHBOURS_LOOKED_AT = 1000


def in_review_neighbours(session: Session, case_id: str) -> tuple[str | None, str | None]:
    """The cases in review before and after this one, longest waiting first; for a case not
    (or no longer) in review, none before and the longest waiting one after."""
    waiting = list(
        session.exec(
            select(CaseRow.id)
            .where(CaseRow.state == "in_review")
            .order_by(col(CaseRow.updated_at), col(CaseRow.id))
            .limit(NEIGHBOURS_LOOKED_AT)
        )
    )
    if case_id not in waiting:
        return None, waiting[0] if waiting else None
    at = waiting.index(case_id)
    before = waiting[at - 1] if at > 0 else None
    after = waiting[at + 1] if at + 1 < len(waiting) else None
    return before, after


def loose_count(session: Session) -> int:
    """How many pages count for no case and wait for a person."""
    return session.exec(
        select(func.count()).select_from(PageRow).where(col(PageRow.outcome).in_(UNROUTED_OUTCOMES))
    ).one()


def loose_pages(session: Session, *, limit: int, offset: int) -> LoosePages:
    """Pages that count for no case, newest first, and files that could not be read at all."""
    stmt = (
        select(PageRow, ScanRow)
        .join(ScanRow, PageRow.scan_id == ScanRow.id)  # type: ignore[arg-type]
        .where(col(PageRow.outcome).in_(UNROUTED_OUTCOMES))
    )
    count = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(
        stmt.order_by(col(ScanRow.received_at).desc(), col(ScanRow.id), col(PageRow.index))
        .limit(limit)
        .offset(offset)
    ).all()
    images = evidence_names(session, [page.id for page, _ in rows if page.id is not None])
    failed = session.exec(
        select(ScanRow).where(ScanRow.status == "failed").order_by(col(ScanRow.received_at).desc())
    ).all()
    refused = session.exec(
        select(RefusedUploadRow).order_by(col(RefusedUploadRow.received_at).desc()).limit(100)
    ).all()
    return LoosePages(
        pages=[LoosePage(page, scan, images.get(page.id or 0, frozenset())) for page, scan in rows],
        count=count,
        failed_scans=list(failed),
        refused=list(refused),
    )


def notices(session: Session, *, status: str | None) -> list[WebhookDeliveryRow]:
    """Transfer-ready notices: by default those only a person can move (dead or gone)."""
    statuses = (status,) if status else RESENDABLE
    return list(
        session.exec(
            select(WebhookDeliveryRow)
            .where(col(WebhookDeliveryRow.status).in_(statuses))
            .order_by(col(WebhookDeliveryRow.created_at).desc())
            .limit(500)
        )
    )


@dataclass(frozen=True)
class AttachmentView:
    attachment: MessageAttachmentRow
    scan: ScanRow | None  # None when it was refused
    pages: list[PageRow]  # what each page of its scan turned out to be, in order


@dataclass(frozen=True)
class MessageView:
    message: MessageRow
    attachments: list[AttachmentView]


@dataclass(frozen=True)
class Messages:
    messages: list[MessageView]
    count: int


def messages(
    session: Session, *, limit: int, offset: int, message_id: str | None = None
) -> Messages:
    """E-mail taken in, newest first (or the one asked for): the sender and how it was
    verified, each file and the scan it became (its pages and their cases), or why not."""
    chosen = select(MessageRow)
    if message_id is not None:
        chosen = chosen.where(MessageRow.id == message_id)
    count = session.exec(select(func.count()).select_from(chosen.subquery())).one()
    rows = list(
        session.exec(
            chosen.order_by(col(MessageRow.received_at).desc(), col(MessageRow.id))
            .limit(limit)
            .offset(offset)
        )
    )
    ids = [m.id for m in rows]
    attachments = session.exec(
        select(MessageAttachmentRow)
        .where(col(MessageAttachmentRow.message_id).in_(ids))
        .order_by(col(MessageAttachmentRow.index))
    ).all()
    scan_ids = {a.scan_id for a in attachments if a.scan_id}
    scans = {s.id: s for s in session.exec(select(ScanRow).where(col(ScanRow.id).in_(scan_ids)))}
    pages: dict[str, list[PageRow]] = defaultdict(list)
    for page in session.exec(
        select(PageRow).where(col(PageRow.scan_id).in_(scan_ids)).order_by(col(PageRow.index))
    ):
        pages[page.scan_id].append(page)
    files: dict[str, list[AttachmentView]] = defaultdict(list)
    for a in attachments:
        scan = scans.get(a.scan_id) if a.scan_id else None
        files[a.message_id].append(AttachmentView(a, scan, pages.get(a.scan_id or "", [])))
    return Messages([MessageView(m, files[m.id]) for m in rows], count)
