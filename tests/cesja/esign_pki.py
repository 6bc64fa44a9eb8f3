"""A test PKI made with `cryptography`, and forms signed with pyHanko as a signing tool would:
a root, a qualified CA whose certificates carry QCStatements, a timestamp authority, CRLs
served over HTTP from this machine and the qualified CA's OCSP responder answering there too
(`CrlServer`), and the people and companies who sign. Keys are ECDSA P-256: made in
milliseconds."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.ades.qualified_asn1 import QcStatements
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")
NOW = datetime.now(UTC)


@dataclass
class Holder:
    """A certificate and its key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)
    # Where the CRL of the certificates this one issues is published, and its OCSP responder.
    crl_url: str = ""
    ocsp_url: str = ""
    # The certificates it issued, by serial number: what its OCSP responder answers for.
    issued: dict[int, x509.Certificate] = field(default_factory=dict)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def signer(self) -> signers.SimpleSigner:
        der = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return signers.SimpleSigner(
            signing_cert=_asn1(self.cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in self.chain]),
        )


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _qc_statements(qc_type: str) -> x509.UnrecognizedExtension:
    statements = QcStatements(
        [
            {"statement_id": "qc_compliance"},
            {"statement_id": "qc_type", "statement_info": [qc_type]},
        ]
    )
    return x509.UnrecognizedExtension(QC_STATEMENTS, statements.dump())


def _distribution_point(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _ca(name: str, issuer: Holder | None, crl_url: str | None = None) -> Holder:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=3650))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if crl_url is not None:
        builder = builder.add_extension(_distribution_point(crl_url), critical=False)
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Holder(cert, key, [issuer.cert, *issuer.chain] if issuer else [])


def _leaf(
    issuer: Holder,
    attributes: list[x509.NameAttribute],
    *,
    qc_type: str | None = "qct_esign",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    self_signed: bool = False,
    tsa: bool = False,
    ocsp_only: bool = False,
) -> Holder:
    # pyHanko's test timestamper signs with RSA only.
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
        rsa.generate_private_key(65537, 2048) if tsa else _key()
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"), *attributes])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if self_signed else issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=365))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=not tsa,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if ocsp_only:  # no CRL named: its revocation is known only from the CA's OCSP responder
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(issuer.ocsp_url),
                    )
                ]
            ),
            critical=False,
        )
    elif not self_signed:
        builder = builder.add_extension(_distribution_point(issuer.crl_url), critical=False)
    if not self_signed:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if qc_type is not None:
        builder = builder.add_extension(_qc_statements(qc_type), critical=False)
    cert = builder.sign(key if self_signed else issuer.key, hashes.SHA256())
    if not self_signed:
        issuer.issued[cert.serial_number] = cert
    return Holder(cert, key, [] if self_signed else [issuer.cert, *issuer.chain])


def person(issuer: Holder, given: str, surname: str, pesel: str, **options: object) -> Holder:
    """A natural person's certificate: serialNumber `PNOPL-<PESEL>` (ETSI EN 319 412-1)."""
    return _leaf(
        issuer,
        [
            x509.NameAttribute(NameOID.GIVEN_NAME, given),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given} {surname}"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"PNOPL-{pesel}"),
        ],
        **options,  # type: ignore[arg-type]
    )


def seal(issuer: Holder, organization: str, identifier: str) -> Holder:
    """A company's e-seal certificate: organizationIdentifier `VATPL-<NIP>` or `NTRPL-<KRS>`."""
    return _leaf(
        issuer,
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, organization),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, identifier),
        ],
        qc_type="qct_eseal",
    )


@dataclass
class Pki:
    root: Holder
    qca: Holder
    tsa: Holder
    revoked: list[x509.Certificate] = field(default_factory=list)

    @property
    def roots_pem(self) -> bytes:
        return self.root.pem

    def crls(self) -> dict[str, bytes]:
        """The CRLs as they stand, by where they are published: the root's (for the qualified
        CA and the TSA) and the qualified CA's, with the certificates in `revoked` revoked
        three hours ago."""
        return {
            self.root.crl_url: _crl(self.root, []),
            self.qca.crl_url: _crl(self.qca, self.revoked),
        }

    def timestamper(self, at: datetime | None = None) -> DummyTimeStamper:
        return DummyTimeStamper(
            tsa_cert=_asn1(self.tsa.cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(
                self.tsa.key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=SimpleCertificateStore.from_certs([_asn1(self.root.cert)]),
            fixed_dt=at,
        )


def _crl(issuer: Holder, revoked: list[x509.Certificate]) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(NOW - timedelta(hours=2))
        .next_update(NOW + timedelta(days=7))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(NOW - timedelta(hours=3))
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def make_pki(crl_base: str) -> Pki:
    """The PKI, its CRLs to be published under `crl_base` (`root.crl`, `qca.crl`)."""
    root = _ca("Cesja Test Root CA", None)
    root.crl_url = f"{crl_base}/root.crl"
    qca = _ca("Cesja Test Qualified CA", root, root.crl_url)
    qca.crl_url = f"{crl_base}/qca.crl"
    qca.ocsp_url = f"{crl_base}/ocsp/qca"
    tsa = _leaf(
        root, [x509.NameAttribute(NameOID.COMMON_NAME, "Cesja Test TSA")], qc_type=None, tsa=True
    )
    return Pki(root=root, qca=qca, tsa=tsa)


def sign(
    pdf: bytes,
    holder: Holder,
    field_name: str,
    *,
    timestamper: DummyTimeStamper | None = None,
) -> bytes:
    """`pdf` with one more PAdES signature by `holder`, in the signature field named."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=SigSeedSubFilter.PADES)
    out = signers.sign_pdf(writer, meta, signer=holder.signer(), timestamper=timestamper)
    return out.getvalue()  # type: ignore[no-any-return]


def sign_short(pdf: bytes, holder: Holder, field_name: str, *, left_out: int = 40) -> bytes:
    """`pdf` signed by `holder`, but with a ByteRange that stops `left_out` bytes short of the
    end of its revision: a genuine signature over less than the revision it is part of."""
    signed = sign(pdf, holder, field_name)
    found = list(re.finditer(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed))[-1]
    len1, start2, len2 = (int(g) for g in found.groups())
    array = found.group(0)
    shorter = array.replace(str(len2).encode(), str(len2 - left_out).encode().ljust(len(str(len2))))
    signed = signed[: found.start()] + shorter + signed[found.end() :]
    covered = signed[:len1] + signed[start2 : start2 + len2 - left_out]
    cms = asyncio.run(
        holder.signer().async_sign(hashlib.sha256(covered).digest(), "sha256", use_pades=True)
    )
    contents = cms.dump().hex().encode()
    room = start2 - len1 - 2  # between the < and > of /Contents
    assert len(contents) <= room
    return signed[: len1 + 1] + contents.ljust(room, b"0") + signed[start2 - 1 :]


def ocsp_answer(request: bytes, issuer: Holder, revoked: list[x509.Certificate]) -> bytes:
    """What `issuer`'s OCSP responder answers to `request`: good, revoked (three hours ago,
    as on the CRL), or unknown, signed by the CA itself, the request's nonce echoed."""
    asked = ocsp.load_der_ocsp_request(request)
    cert = issuer.issued.get(asked.serial_number)
    if cert is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED
        ).public_bytes(serialization.Encoding.DER)
    is_revoked = any(r.serial_number == cert.serial_number for r in revoked)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=issuer.cert,
            algorithm=asked.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if is_revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - timedelta(hours=1),
            next_update=NOW + timedelta(days=1),
            revocation_time=NOW - timedelta(hours=3) if is_revoked else None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
    )
    for extension in asked.extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class CrlServer:
    """CRLs served over HTTP on 127.0.0.1, as a trust service publishes them, and the OCSP
    responders registered with `answer_ocsp`."""

    def __init__(self) -> None:
        self.published: dict[str, bytes] = {}
        self.responders: dict[str, tuple[Holder, list[x509.Certificate]]] = {}
        served, responders = self.published, self.responders

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = served.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def do_POST(self) -> None:
                request = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                responder = responders.get(self.path)
                body = ocsp_answer(request, *responder) if responder else b""
                self.send_response(200 if responder else 404)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, crls: dict[str, bytes]) -> None:
        for url, crl in crls.items():
            self.published[url.removeprefix(self.base)] = crl

    def answer_ocsp(self, url: str, issuer: Holder, revoked: list[x509.Certificate]) -> None:
        self.responders[url.removeprefix(self.base)] = (issuer, revoked)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
