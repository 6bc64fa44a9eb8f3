"""PAdES validation of a signed file with pyHanko: the form's bytes and the changes after it
(difference analysis), each signature's integrity, coverage, certificate path, time,
revocation and QCStatements. Imported only when a received PDF carries a signature: pyHanko
takes a second to import."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.qualified_asn1 import get_qc_statements
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DocInfoRule,
    DSSCompareRule,
    FormUpdatingRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.form_rules_api import ACROFORM_EXEMPT_STRICT_COMPARISON
from pyhanko.sign.validation import EmbeddedPdfSignature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import collect_timing_info
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import InsufficientRevinfoError, ValidationError
from pyhanko_certvalidator.fetchers.api import FetcherBackend

from documents import FormData, page_code, render_form
from documents.layout import Party
from ocr.esign import (
    BROKEN,
    NO_CHAIN,
    NOT_COVERED,
    NOT_QUALIFIED,
    NOT_VALID,
    OUT_OF_VALIDITY,
    REVOCATION_UNKNOWN,
    REVOKED,
    UNTRUSTED,
    Said,
    SignatureReport,
    SignedForm,
    TrustOptions,
    _said,
    judge,
)

MAX_SIGNATURES = 8
_REVOCATION_MODES: dict[str, str] = {"require": "require", "soft": "soft-fail", "off": "none"}

# What may follow the form we issued: signatures (each filling a signature field or adding
# its own) and their validation data. pyHanko's default policy, less the filling of other
# fields (our form has none a signer may fill); `/SigFlags` may be set, as the first
# signature of every signing tool sets it on a form issued without signatures.
DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        DocInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        MetadataUpdateRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(
        field_rules=[SigFieldCreationRule(), SigFieldModificationRule()],
        ignored_acroform_keys=ACROFORM_EXEMPT_STRICT_COMPARISON | {"/SigFlags"},
    ),
)
# The title the form is rendered with (`documents.render`): which case and version a signed
# file claims to be. A claim only: the bytes are compared with the form itself.
_TITLE = re.compile(r"Cesja (CS-[0-9A-Z]{4}-[0-9A-Z]{4}), wersja ([0-9]{1,4})")


@dataclass(frozen=True)
class Claim:
    """The case and form version a signed file's first revision says it is."""

    case_id: str
    form_version: int


def read_claim(data: bytes) -> tuple[PdfFileReader, Claim] | None:
    """The file parsed, and the case and version its first revision names; None when it has
    no signature or names none of ours (then it is read as a scan)."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if not reader.embedded_signatures:
            return None
        info = reader.get_historical_resolver(0).trailer_view.get("/Info")
        title = str(info.get_object().get("/Title", "")) if info is not None else ""
    except Exception:
        return None
    found = _TITLE.fullmatch(title)
    if found is None:
        return None
    return reader, Claim(found.group(1), int(found.group(2)))


def read_signed_form(
    reader: PdfFileReader,
    data: bytes,
    form: FormData,
    party: Party,
    *,
    key: page_code.Keys,
    trust: TrustOptions,
    scan: str,
) -> SignedForm:
    """What the signed file shows for `party`'s page of `form`, the case's current version."""
    issued_bytes = render_form(form, key)
    issued = data[: len(issued_bytes)] == issued_bytes and len(data) > len(issued_bytes)
    try:
        diff = DIFF_POLICY.review_file(reader, 0)
        if isinstance(diff, SuspiciousModification):
            unchanged, changes = False, str(diff)
        else:
            unchanged = diff.modification_level <= ModificationLevel.FORM_FILLING
            changes = "" if unchanged else f"modification level {diff.modification_level.name}"
    except Exception as err:
        unchanged, changes = False, str(err) or type(err).__name__
    embedded = reader.embedded_signatures
    if len(embedded) > MAX_SIGNATURES:
        # Each signature costs a validation and its revocation look-ups: a file is not let
        # make the worker validate without end. Two parties and a seal need three.
        unchanged = False
        changes = f"{len(embedded)} signatures; at most {MAX_SIGNATURES} are read"
    signatures = asyncio.run(_validate_all(embedded[:MAX_SIGNATURES], trust))
    signed = SignedForm(
        case_id=form.case_id,
        form_version=form.form_version,
        issued=issued,
        unchanged=unchanged,
        changes=changes[:500],
        signatures=signatures,
    )
    judge(signed, form, party, trust.company, scan)
    return signed


async def _validate_all(
    signatures: Iterable[EmbeddedPdfSignature], trust: TrustOptions
) -> list[SignatureReport]:
    backend = trust.fetcher_backend
    if backend is None and trust.fetching and trust.revocation != "off":
        from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

        backend = AIOHttpFetcherBackend(per_request_timeout=10)
    try:
        return [await _validate(sig, trust, backend) for sig in signatures]
    finally:
        if backend is not None and trust.fetcher_backend is None:
            await backend.close()


def _context(
    trust: TrustOptions, backend: FetcherBackend | None, moment: datetime | None = None
) -> ValidationContext:
    fetching = backend is not None and trust.revocation != "off"
    return ValidationContext(
        trust_roots=list(trust.roots),
        moment=moment,
        # At a timestamp's moment, a revocation list issued later still says whether the
        # certificate had been revoked by then.
        retroactive_revinfo=moment is not None,
        allow_fetching=fetching,
        fetcher_backend=backend if fetching else None,
        crls=list(trust.crls),
        revocation_mode=_REVOCATION_MODES[trust.revocation],
    )


async def _validate(
    sig: EmbeddedPdfSignature, trust: TrustOptions, backend: FetcherBackend | None
) -> SignatureReport:
    cert = sig.signer_cert
    report = _certificate_report(sig.field_name, cert)
    try:
        coverage = sig.evaluate_signature_coverage()
        report.coverage = coverage.name
        if coverage < SignatureCoverageLevel.ENTIRE_REVISION:
            report.problem = _said(NOT_COVERED, signer=report.signer)
            return report
        # The timestamp first: when it is valid and trusted, the certificate is judged at
        # its time; the signer's own clock proves nothing.
        timing = await collect_timing_info(
            sig.signer_info, _context(trust, backend), raw_digest=sig.compute_digest
        )
        stamp = timing.get("timestamp_validity")
        moment = stamp.timestamp if stamp is not None and stamp.valid and stamp.trusted else None
        status = await async_validate_pdf_signature(
            sig,
            signer_validation_context=_context(trust, backend, moment),
            ts_validation_context=_context(trust, backend),
            diff_policy=DIFF_POLICY,
        )
    except (SignatureValidationError, ValueError, KeyError) as err:
        report.problem = _said(NOT_VALID, signer=report.signer, why=str(err)[:200] or "?")
        return report
    report.intact, report.valid, report.trusted = status.intact, status.valid, status.trusted
    indic = status.trust_problem_indic
    report.trust_problem = indic.name if indic is not None else None  # type: ignore[attr-defined]
    report.modification_level = status.modification_level.name if status.modification_level else ""
    claimed = status.signer_reported_dt
    report.signing_time = claimed.isoformat() if claimed else None
    report.timestamp = moment.isoformat() if moment else None
    report.revocation = _revocation(status, trust)
    report.problem = _problem(report)
    if report.trust_problem == "CERTIFICATE_CHAIN_GENERAL_FAILURE":
        # pyHanko's indication does not say which: the path is validated again to say why.
        report.problem = await _why_chain_failed(sig, _context(trust, backend, moment), report)
    return report


async def _why_chain_failed(
    sig: EmbeddedPdfSignature, context: ValidationContext, report: SignatureReport
) -> Said:
    validator = CertificateValidator(
        sig.signer_cert, intermediate_certs=sig.other_embedded_certs, validation_context=context
    )
    try:
        await validator.async_validate_path()
    except InsufficientRevinfoError:
        report.revocation = "unknown"
        return _said(REVOCATION_UNKNOWN, signer=report.signer)
    except ValidationError as err:
        return _said(NOT_VALID, signer=report.signer, why=err.failure_msg[:200])
    return _said(NOT_VALID, signer=report.signer, why="CERTIFICATE_CHAIN_GENERAL_FAILURE")


def _certificate_report(field_name: str, cert: asn1_x509.Certificate) -> SignatureReport:
    subject = cert.subject.native
    qc_type = None
    qualified = False
    for statement in get_qc_statements(cert):
        kind = statement["statement_id"].native
        if kind == "qc_compliance":
            qualified = True
        elif kind == "qc_type":
            types = {t.native for t in statement["statement_info"]}
            qc_type = "eseal" if "qct_eseal" in types else "esign" if "qct_esign" in types else None
    signer = (
        subject.get("common_name")
        or subject.get("organization_name")
        or cert.subject.human_friendly
    )
    return SignatureReport(
        field=field_name,
        signer=str(signer),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        certificate_sha256=hashlib.sha256(cert.dump()).hexdigest(),
        serial_number=subject.get("serial_number"),
        organization_identifier=subject.get("organization_identifier"),
        given_name=subject.get("given_name"),
        surname=subject.get("surname"),
        qualified=qualified and qc_type is not None,
        qc_type=qc_type if qualified else None,  # type: ignore[arg-type]
        intact=False,
        valid=False,
        trusted=False,
        trust_problem=None,
        coverage="",
        modification_level="",
        signing_time=None,
        timestamp=None,
        revocation="not checked",
    )


def _revocation(status: Any, trust: TrustOptions) -> str:
    if trust.revocation == "off":
        return "not checked (CESJA_ESIGN_REVOCATION=off)"
    details = status.revocation_details
    if details is not None:
        return f"revoked {details.revocation_date.isoformat()} ({details.revocation_reason.native})"
    indic = status.trust_problem_indic
    problem = indic.name if indic is not None else ""
    if "REVOCATION" in problem or problem == "TRY_LATER":
        return "unknown"
    return "not revoked" if status.trusted else "not established"


def _problem(report: SignatureReport) -> Said | None:
    signer = report.signer
    if not (report.intact and report.valid):
        return _said(BROKEN, signer=signer)
    if not report.trusted:
        problem = report.trust_problem or ""
        if "REVOKED" in problem or report.revocation.startswith("revoked"):
            return _said(REVOKED, signer=signer)
        if "REVOCATION" in problem or problem == "TRY_LATER":
            return _said(REVOCATION_UNKNOWN, signer=signer)
        if "OUT_OF_BOUNDS" in problem or problem in ("EXPIRED", "NOT_YET_VALID"):
            return _said(OUT_OF_VALIDITY, signer=signer)
        if problem in NO_CHAIN:  # a self-signed certificate too: a path ending at no root
            return _said(UNTRUSTED, signer=signer)
        return _said(NOT_VALID, signer=signer, why=problem or "untrusted")
    if not report.qualified:
        return _said(NOT_QUALIFIED, signer=signer)
    return None
