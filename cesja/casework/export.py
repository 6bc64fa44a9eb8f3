"""Everything held about one case, as one ZIP archive: the answer to a data subject's access
request (`cesja export`).

    case.json            the case: parties, domains, state, every form version, decisions
    events.json          its audit trail, oldest first, with the hashes that chain it
    pages.json           each page routed to it: scan, channel, sender, outcome, reading
    scans/<id>.<ext>     each file its pages came in, as received (those still held)
    evidence/<page>/<n>  the images kept for review
    links.json           which customer links exist (not their tokens), files sent through them

The export is recorded in the case's audit trail (who, when, how many files).
"""

from __future__ import annotations

import json
import mimetypes
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from cesja.casework import audit_log, cases
from cesja.db.models import (
    CustomerLinkRow,
    CustomerUploadRow,
    DecisionRow,
    EvidenceRow,
    FormVersionRow,
    PageRow,
    ScanRow,
)
from cesja.runtime import Runtime

EXPORTED = "data_exported"


@dataclass(frozen=True)
class Exported:
    path: Path
    scans: int
    images: int


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def export_case(runtime: Runtime, case_id: str, out: Path, *, actor: str) -> Exported:
    """Write the archive to `out` (never over an existing file) and record the export."""
    with Session(runtime.engine) as session:
        case = cases.get_case(session, case_id, for_update=True)
        pages = list(
            session.exec(
                select(PageRow).where(PageRow.case_id == case_id).order_by(col(PageRow.id))
            )
        )
        scan_ids = sorted({page.scan_id for page in pages})
        scans = {
            scan.id: scan
            for scan in session.exec(select(ScanRow).where(col(ScanRow.id).in_(scan_ids)))
        }
        images = list(
            session.exec(
                select(EvidenceRow).where(col(EvidenceRow.page_id).in_([page.id for page in pages]))
            )
        )
        record = {
            "id": case.id,
            "state": case.state,
            "external_ref": case.external_ref,
            "domains": case.domains,
            "current_registrant": case.current_registrant,
            "new_registrant": case.new_registrant,
            "deadline": case.deadline,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "form_versions": [
                {"version": v.version, "data": v.data, "created_at": v.created_at}
                for v in session.exec(
                    select(FormVersionRow).where(FormVersionRow.case_id == case_id)
                )
            ],
            "decisions": [
                {
                    "form_version": d.form_version,
                    "check": d.check_name,
                    "decision": d.decision,
                    "reason": d.reason,
                    "actor": d.actor,
                    "at": d.at,
                }
                for d in session.exec(select(DecisionRow).where(DecisionRow.case_id == case_id))
            ],
        }
        page_records = [
            {
                "scan_id": page.scan_id,
                "index": page.index,
                "party": page.party,
                "form_version": page.form_version,
                "outcome": page.outcome,
                "channel": scans[page.scan_id].channel,
                "sender": scans[page.scan_id].sender,
                "received_at": scans[page.scan_id].received_at,
                "reading": page.reading,
            }
            for page in pages
        ]
        # Which links exist, never their tokens: an export goes to one party, and a token
        # opens a page.
        links = {
            "links": [
                {"party": link.party}
                for link in session.exec(
                    select(CustomerLinkRow).where(CustomerLinkRow.case_id == case_id)
                )
            ],
            "uploads": [
                {"party": u.party, "scan_id": u.scan_id, "at": u.at}
                for u in session.exec(
                    select(CustomerUploadRow).where(CustomerUploadRow.case_id == case_id)
                )
            ],
        }
        files = {
            scan.id + (mimetypes.guess_extension(scan.media_type) or ""): runtime.store.path_of(
                scan.sha256
            )
            for scan in scans.values()
        }
        held = {name: path for name, path in files.items() if path.is_file()}
        audit_log.append(
            session,
            case_id,
            EXPORTED,
            actor,
            {"scans": sorted(held), "images": len(images), "pages": len(pages)},
        )
        trail = [
            {
                "seq": e.seq,
                "type": e.type,
                "actor": e.actor,
                "at": e.at,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in audit_log.events(session, case_id)
        ]
        # Written before the export is committed: an archive that could not be written is
        # no export.
        _write(out, record, trail, page_records, links, held, images)
        session.commit()
    return Exported(out, len(held), len(images))


def _write(
    out: Path,
    record: dict[str, Any],
    trail: list[dict[str, Any]],
    pages: list[dict[str, Any]],
    links: dict[str, Any],
    files: dict[str, Path],
    images: list[EvidenceRow],
) -> None:
    # O_EXCL: an export never replaces a file that is there, and is readable by its owner alone.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("case.json", _json(record))
            zf.writestr("events.json", _json(trail))
            zf.writestr("pages.json", _json(pages))
            zf.writestr("links.json", _json(links))
            for name, path in sorted(files.items()):
                zf.write(path, f"scans/{name}")
            for image in images:
                zf.writestr(f"evidence/{image.page_id}/{image.name}", image.image)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
