"""Electronically signed forms: what a signed file of a case's form shows, and the rules that
turn its signatures into a party's checks (the validation itself is `ocr.pades`).

A signed file counts as the form when its first revision is, byte for byte, the form this
service renders for the case's current version, and every later revision only adds signatures
and their validation data (pyHanko's difference analysis). Each signature counts when it is
intact, covers its whole revision, chains to a trusted root, is valid at signing time (the
time of its RFC 3161 timestamp when it has a trusted one, else now), not revoked, and
qualified (QCStatements: QcCompliance with QcType esign or eseal); then it is the right
person by `PNOPL-<PESEL>`, the right representative by name, the company's seal by
`VATPL-<NIP>` or `NTRPL-<KRS>`.
"""

from __future__ import annotations

import mmap
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from documents import FormData
from documents.layout import Party
from documents.render import signature_field_name

if TYPE_CHECKING:
    from pyhanko_certvalidator.fetchers.api import FetcherBackend

RevocationMode = Literal["require", "soft", "off"]
CompanyPolicy = Literal["signature", "signature+seal"]

_PNOPL = re.compile(r"PNOPL-([0-9]{11})")
# pyHanko's indications that no path led from the certificate to a trusted root: its issuer
# is then whoever the signer said it was.
NO_CHAIN = (
    "NO_CERTIFICATE_CHAIN_FOUND",
    "CHAIN_CONSTRAINTS_FAILURE",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE",
)
# What a sentence names in place of a signer (their name, their identity, pyHanko's words on
# their certificate) once what was received for the case is destroyed (`without_holders`).
ERASED = "[erased]"
# A reason that is only one of pyHanko's indications names no one and is kept.
_INDICATION = re.compile(r"[A-Z_]{1,64}")
# A signed file's bytes are only searched for this before pyHanko parses it.
_SIGNATURE_MARK = b"/ByteRange"


@dataclass(frozen=True)
class TrustOptions:
    """Whom and how signatures are trusted: the roots, the revocation checking, the company
    policy, and where revocation data comes from."""

    roots: tuple[asn1_x509.Certificate, ...]
    revocation: RevocationMode = "require"
    company: CompanyPolicy = "signature"
    # Revocation lists known beforehand (an offline registrar's, the tests').
    crls: tuple[bytes, ...] = ()
    # Fetch the CRLs and OCSP answers the certificates point to.
    fetching: bool = True
    # The HTTP client that fetches them; pyhanko-certvalidator's own when None.
    fetcher_backend: FetcherBackend | None = None


def load_trust_roots(path: Path) -> tuple[asn1_x509.Certificate, ...]:
    """The certificates of a PEM bundle, or of every PEM or DER file in a directory;
    OSError when it cannot be read, ValueError naming a file that holds no certificate."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    roots: list[asn1_x509.Certificate] = []
    for file in files:
        data = file.read_bytes()
        try:
            ders = (
                [der for kind, _, der in pem.unarmor(data, multiple=True) if kind == "CERTIFICATE"]
                if pem.detect(data)
                else [data]
            )
            certificates = [asn1_x509.Certificate.load(der) for der in ders]
            for certificate in certificates:
                _ = certificate.subject  # asn1crypto parses lazily: a bad file fails here
        except (ValueError, TypeError) as err:
            raise ValueError(f"{file.name} holds no readable certificate ({err})") from None
        roots.extend(certificates)
    return tuple(roots)


# What a signature or a signed file is found to be, in English; each is a key of the Polish
# catalogue (`cesja/locale`), with its values named.
NOT_ISSUED = (
    "The electronically signed file names case {case}, version {version}, but is not the form "
    "this service issued for it: its bytes differ (a copy made again, or changed before "
    "signing)."
)
CHANGED = (
    "The electronically signed file was changed after the service issued it ({changes}): "
    "only signatures and their validation data may be added to the form."
)
ISSUED = (
    "The electronically signed file in scan {scan} begins with the form this service issued, "
    "byte for byte."
)
ISSUED_UNCHANGED = (
    "The electronically signed file in scan {scan} is the form this service issued, unchanged."
)
SIGNED_BY_PARTY = (
    "Signed electronically by {signer} with a qualified electronic signature (scan {scan})."
)
SEALED_BY_COMPANY = "Sealed with the company's qualified electronic seal by {signer} (scan {scan})."
SEAL_BY_POLICY = (
    "The representative's qualified electronic signature stands for the company's stamp "
    "(scan {scan})."
)
NOT_SIGNED = "The {party} did not sign the electronically signed file in scan {scan}."
NOT_A_PARTY = "Signed by {signer}, {identity}: not a party of this case."
NOT_A_REPRESENTATIVE = "Signed by {signer}: not a listed representative of the {party}."
NO_SEAL = (
    "No qualified electronic seal of the {party} on the electronically signed file in scan {scan}."
)
SEAL_OF_ANOTHER = "Sealed by {signer}, {identity}: not the {party}."
NOT_COVERED = (
    "The signature of {signer} does not cover the whole revision it signs (its ByteRange): "
    "what it leaves out is not signed."
)
BROKEN = "The signature of {signer} does not match the bytes it signs: the file was altered."
UNTRUSTED = (
    "The certificate of {signer} does not chain to a trusted root (CESJA_TRUST_ROOTS): "
    "anyone can make such a certificate."
)
REVOKED = "The certificate of {signer} was revoked before it signed."
OUT_OF_VALIDITY = (
    "The certificate of {signer} was not valid when it signed (expired or not yet valid)."
)
REVOCATION_UNKNOWN = (
    "Whether the certificate of {signer} was revoked could not be established "
    "(CESJA_ESIGN_REVOCATION requires it)."
)
NOT_VALID = "The signature of {signer} is not valid ({why})."
NOT_QUALIFIED = (
    "The signature of {signer} is an advanced electronic signature, not a qualified one: "
    "a person must decide whether it stands for a handwritten one."
)
SENTENCES = (
    NOT_ISSUED,
    CHANGED,
    ISSUED,
    ISSUED_UNCHANGED,
    SIGNED_BY_PARTY,
    SEALED_BY_COMPANY,
    SEAL_BY_POLICY,
    NOT_SIGNED,
    NOT_A_PARTY,
    NOT_A_REPRESENTATIVE,
    NO_SEAL,
    SEAL_OF_ANOTHER,
    NOT_COVERED,
    BROKEN,
    UNTRUSTED,
    REVOKED,
    OUT_OF_VALIDITY,
    REVOCATION_UNKNOWN,
    NOT_VALID,
    NOT_QUALIFIED,
)

Said = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class SignatureReport:
    """One PAdES signature as validated: who, by which certificate, and whether it counts."""

    field: str
    signer: str
    subject: str
    issuer: str
    certificate_sha256: str
    serial_number: str | None
    organization_identifier: str | None
    given_name: str | None
    surname: str | None
    qualified: bool
    qc_type: Literal["esign", "eseal"] | None
    intact: bool
    valid: bool
    trusted: bool
    trust_problem: str | None
    coverage: str
    modification_level: str
    signing_time: str | None  # what the signer's clock said: a claim
    timestamp: str | None  # the time of a valid, trusted RFC 3161 timestamp
    revocation: str
    # Why it does not count, or None when it is a valid, trusted, qualified signature.
    problem: Said | None = None
    # What the certificate said of its holder was destroyed with what the case received.
    erased: bool = False

    @property
    def counts(self) -> bool:
        return self.problem is None

    @property
    def pesel(self) -> str | None:
        found = _PNOPL.fullmatch(self.serial_number or "")
        return found.group(1) if found else None

    def identity(self) -> str:
        """Who signed, as a sentence names them: the PESEL masked past its first digit."""
        if self.pesel:
            return f"PESEL {self.pesel[0]}…"
        if self.organization_identifier:
            return self.organization_identifier
        return f"SHA-256 {self.certificate_sha256[:16]}…"

    def without_holder(self) -> SignatureReport:
        """The report with everything the certificate said of the person or company holding
        it erased: their name, subject, PESEL or NIP, and its issuer too when it chained to
        no trusted root (then the signer named the issuer). Kept: which certificate (its
        sha256), whether it was qualified, intact, valid, trusted and not revoked, its
        signing time and timestamp, and why it does not count."""
        chained = self.trusted or (
            self.trust_problem is not None and self.trust_problem not in NO_CHAIN
        )
        return replace(
            self,
            signer="",
            subject="",
            issuer=self.issuer if chained else "",
            serial_number=None,
            organization_identifier=None,
            given_name=None,
            surname=None,
            problem=_without_holder(self.problem),
            erased=True,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problem"] = _said_to_json(self.problem)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignatureReport:
        return cls(**{**data, "problem": _said_from_json(data.get("problem"))})


@dataclass
class SignedForm:
    """What an electronically signed file shows for one party's page of it."""

    case_id: str
    form_version: int
    issued: bool  # the first revision is the form this service renders for that version
    unchanged: bool  # after it, only signatures and their validation data
    changes: str  # pyHanko's word on what was changed, when something was
    signatures: list[SignatureReport] = field(default_factory=list)
    # Per check (its short name): passed, and what to say.
    verdicts: dict[str, tuple[bool, Said]] = field(default_factory=dict)

    def passes(self, check: str) -> bool:
        verdict = self.verdicts.get(check)
        return verdict is not None and verdict[0]

    def without_holders(self) -> SignedForm:
        """What the file showed with every signer's name and identity erased, in its reports
        and in what its verdicts say; which check passed, and why one failed, kept."""
        return replace(
            self,
            signatures=[s.without_holder() for s in self.signatures],
            verdicts={
                check: (ok, _without_holder(said) or said)
                for check, (ok, said) in self.verdicts.items()
            },
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "form_version": self.form_version,
            "issued": self.issued,
            "unchanged": self.unchanged,
            "changes": self.changes,
            "signatures": [s.to_dict() for s in self.signatures],
            "verdicts": {k: [ok, _said_to_json(said)] for k, (ok, said) in self.verdicts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignedForm:
        return cls(
            case_id=data["case_id"],
            form_version=data["form_version"],
            issued=data["issued"],
            unchanged=data["unchanged"],
            changes=data.get("changes") or "",
            signatures=[SignatureReport.from_dict(s) for s in data.get("signatures") or []],
            verdicts={
                k: (bool(ok), _said_from_json(said) or ("", ()))
                for k, (ok, said) in (data.get("verdicts") or {}).items()
            },
        )


def _said_to_json(said: Said | None) -> list[Any] | None:
    return None if said is None else [said[0], [list(pair) for pair in said[1]]]


def _said_from_json(data: Any) -> Said | None:
    if not data:
        return None
    template, values = data
    return template, tuple((str(k), str(v)) for k, v in values)


def _without_holder(said: Said | None) -> Said | None:
    """A sentence naming a signer with their name, identity and any words of pyHanko's that
    may hold them (other than a bare indication) erased."""
    if said is None:
        return None
    template, values = said
    return template, tuple(
        (
            key,
            ERASED
            if key in ("signer", "identity") or (key == "why" and not _INDICATION.fullmatch(value))
            else value,
        )
        for key, value in values
    )


def _said(template: str, **values: str) -> Said:
    return template, tuple(values.items())


def looks_signed(path: Path) -> bool:
    """Whether a PDF carries a signature dictionary: looked for in its bytes, so that a
    scanned PDF never reaches the signature parser."""
    # Each page of a file is a job of its own, and a worker reads one after another: the
    # bytes of a post room's 73 MB stack were searched for each of its 50 pages (26 ms of CPU
    # a page). The answer is kept for the file as it is (a changed file is another key).
    stat = path.stat()
    return _has_signature_mark(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _has_signature_mark(path: Path, _inode: int, _size: int, _mtime_ns: int) -> bool:
    with path.open("rb") as file:
        try:
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return data.find(_SIGNATURE_MARK) >= 0
        except ValueError:  # an empty file cannot be mapped
            return False


def belongs_to(signed: SignedForm, form: FormData, party: Party) -> bool:
    """Whether the party signed the file or was meant to: a signature in its field, or one
    whose certificate names it."""
    return any(
        s.field == signature_field_name(party) or _names(s, form, party) for s in signed.signatures
    )


def judge(
    signed: SignedForm, form: FormData, party: Party, company: CompanyPolicy, scan: str
) -> None:
    """Each check of `party` as the signed file settles it, with what to say: the page, its
    values and their integrity from the file's bytes; the signature (and a company's stamp)
    from who signed."""
    where = {"scan": scan}
    if not signed.issued:
        form_said = _said(NOT_ISSUED, case=form.case_id, version=str(form.form_version))
        page = fields = unaltered = (False, form_said)
    elif not signed.unchanged:
        page = (True, _said(ISSUED, **where))
        fields = unaltered = (False, _said(CHANGED, changes=signed.changes))
    else:
        page = (True, _said(ISSUED, **where))
        fields = unaltered = (True, _said(ISSUED_UNCHANGED, **where))
    signed.verdicts = {"page_received": page, "fields_match": fields, "unaltered": unaltered}
    kind = form.party(party).kind
    signature = _signature_verdict(signed, form, party, scan)
    signed.verdicts["signature_present"] = signature
    if kind == "company":
        signed.verdicts["stamp_present"] = _seal_verdict(
            signed, form, party, company, signature, scan
        )


def _signature_verdict(
    signed: SignedForm, form: FormData, party: Party, scan: str
) -> tuple[bool, Said]:
    for s in signed.signatures:
        if s.counts and s.qc_type == "esign" and _names(s, form, party):
            return True, _said(SIGNED_BY_PARTY, signer=s.signer, scan=scan)
    # Who was to sign here, and why they do not count: the signature in the party's field
    # first, then any other.
    own = [s for s in signed.signatures if s.field == signature_field_name(party)]
    for s in own + [s for s in signed.signatures if s not in own and s.qc_type != "eseal"]:
        if s.problem is not None:
            return False, s.problem
        if form.party(party).kind == "company":
            return False, _said(NOT_A_REPRESENTATIVE, signer=s.signer, party=party)
        return False, _said(NOT_A_PARTY, signer=s.signer, identity=s.identity())
    return False, _said(NOT_SIGNED, party=party, scan=scan)


def _seal_verdict(
    signed: SignedForm,
    form: FormData,
    party: Party,
    company: CompanyPolicy,
    signature: tuple[bool, Said],
    scan: str,
) -> tuple[bool, Said]:
    seals = [s for s in signed.signatures if s.qc_type == "eseal" or s.organization_identifier]
    for s in seals:
        if s.counts and s.qc_type == "eseal" and _names(s, form, party):
            return True, _said(SEALED_BY_COMPANY, signer=s.signer, scan=scan)
    if company == "signature" and signature[0]:
        return True, _said(SEAL_BY_POLICY, scan=scan)
    for s in seals:
        if s.problem is not None:
            return False, s.problem
        return False, _said(SEAL_OF_ANOTHER, signer=s.signer, identity=s.identity(), party=party)
    return False, _said(NO_SEAL, party=party, scan=scan)


def _names(s: SignatureReport, form: FormData, party: Party) -> bool:
    """Whether the certificate names the party: its PESEL, a representative's name, or (a
    seal) the company's NIP or KRS."""
    data = form.party(party)
    if data.kind == "person":
        return s.qc_type != "eseal" and s.pesel is not None and s.pesel == data.pesel
    if s.qc_type == "eseal" or s.organization_identifier:
        ids = {f"VATPL-{data.nip}" if data.nip else "", f"NTRPL-{data.krs}" if data.krs else ""}
        return (s.organization_identifier or "") in ids - {""}
    signer = _folded(" ".join(filter(None, (s.given_name, s.surname))) or s.signer)
    return any(_folded(name) == signer for name in data.representatives)


def _folded(name: str) -> str:
    """A name's words without diacritics, case or order: "Łukasz Żak" is "lukasz zak"."""
    decomposed = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    # In either order: a register may list "Surname Given name".
    return " ".join(sorted(plain.casefold().replace("-", " ").split()))


__all__ = [
    "ERASED",
    "NO_CHAIN",
    "SENTENCES",
    "CompanyPolicy",
    "RevocationMode",
    "SignatureReport",
    "SignedForm",
    "TrustOptions",
    "belongs_to",
    "judge",
    "load_trust_roots",
    "looks_signed",
]
