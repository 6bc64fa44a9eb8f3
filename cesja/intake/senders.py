"""Who sent an e-mail: its From address, and whether the registrar's own mail host vouched
for it in an `Authentication-Results` header (RFC 8601) by DMARC or by an aligned DKIM
signature. Headers that any other host wrote are ignored: a sender can write them himself.
With CESJA_MAIL_VERIFY_DKIM the service also checks the DKIM signatures itself (dkimpy), the
keys read from DNS (`DkimKeys`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

import authres
import authres.dmarc
import dkim
import dns.exception
import dns.resolver

from cesja.casework.addresses import ascii_domain

log = logging.getLogger("cesja.intake")

_RESULTS = authres.FeatureContext(authres.dmarc)  # dkim, spf and the rest are in the core
# Each signature checked here costs a DNS look-up and an RSA verification: a few are enough
# (a sender's own, its provider's, a list's), more are not looked at.
MAX_SIGNATURES = 5


@dataclass(frozen=True)
class Sender:
    """The From address (None when there is none, or more than one) and how it was
    authenticated: `how` is a code of `workflow.checks.HOW`, `evidence` the result that
    decided, as the mail host wrote it (`dkim=pass header.d=example.pl`)."""

    address: str | None
    verified: bool
    how: str
    evidence: str | None = None


@dataclass(frozen=True)
class DkimKeys:
    """Where DKIM public keys are read: the system's resolver, or the one at `resolver`
    (an IP address and a port)."""

    resolver: tuple[str, int] | None = None
    timeout: float = 5.0

    def txt(self, name: bytes, timeout: float = 5.0) -> bytes | None:
        """The TXT record at `name`, its strings joined, as dkimpy asks for it."""
        try:
            answer = self._resolver().resolve(
                name.decode("ascii"), "TXT", lifetime=min(timeout, self.timeout)
            )
        except (UnicodeDecodeError, dns.exception.DNSException):
            return None
        for record in answer:
            return b"".join(record.strings)  # type: ignore[attr-defined,no-any-return]
        return None

    def _resolver(self) -> dns.resolver.Resolver:
        if self.resolver is None:
            return dns.resolver.Resolver()
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.resolver[0]]
        resolver.port = self.resolver[1]
        return resolver


def sender_of(
    message: EmailMessage,
    *,
    authserv_id: str | None,
    raw: bytes = b"",
    dkim_keys: DkimKeys | None = None,
) -> Sender:
    """The sender as our mail host judged it; when it did not vouch and `dkim_keys` are
    given, as the message's own DKIM signatures (of `raw`) prove it."""
    address = _from_address(message)
    if address is None:
        return Sender(None, verified=False, how="no_sender")
    domain = ascii_domain(address.rpartition("@")[2])
    judged = _by_mail_host(message, address, domain, authserv_id)
    if judged.verified or dkim_keys is None:
        return judged
    return _by_own_dkim(message, raw, address, domain, dkim_keys) or judged


def _by_mail_host(
    message: EmailMessage, address: str, domain: str, authserv_id: str | None
) -> Sender:
    if not authserv_id:
        return Sender(address, verified=False, how="not_configured")
    ours = authserv_id.strip().lower()
    results = [
        result
        for header in message.get_all("Authentication-Results") or []
        for result in _results_of(str(header), ours)
    ]
    if not results:
        return Sender(address, verified=False, how="no_results")
    for result in results:
        if result.method == "dmarc" and result.result == "pass":
            said = getattr(result, "header_from", None)
            # DMARC judged the From domain; one naming another domain judged another message.
            if said is None or ascii_domain(str(said)) == domain:
                return Sender(address, verified=True, how="dmarc", evidence=str(result))
    unaligned = None
    for result in results:
        if result.method == "dkim" and result.result == "pass":
            # header.d names the signing domain; some hosts write only header.i=@domain.
            signer = (
                getattr(result, "header_d", None)
                or str(getattr(result, "header_i", None) or "").rpartition("@")[2]
            )
            if signer and aligned(domain, ascii_domain(str(signer))):
                return Sender(address, verified=True, how="dkim", evidence=str(result))
            unaligned = unaligned or str(result)
    if unaligned:
        return Sender(address, verified=False, how="dkim_not_aligned", evidence=unaligned)
    return Sender(address, verified=False, how="not_passed", evidence=str(results[0]))


def _by_own_dkim(
    message: EmailMessage, raw: bytes, address: str, domain: str, keys: DkimKeys
) -> Sender | None:
    """The first of the message's DKIM signatures that verifies for the From domain (or a
    parent of it) and covers the whole body: a signature with a body length (`l=`) would
    vouch for text appended after it."""
    count = len(message.get_all("DKIM-Signature") or [])
    checker = dkim.DKIM(raw, timeout=keys.timeout)
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            if not checker.verify(idx=index, dnsfunc=keys.txt):
                continue
        except dkim.DKIMException:
            continue
        if b"l" in checker.signature_fields:
            continue
        signer = ascii_domain((checker.domain or b"").decode("ascii", "replace"))
        if aligned(domain, signer):
            selector = (checker.selector or b"").decode("ascii", "replace")
            evidence = f"dkim=pass header.d={signer} header.s={selector} (checked by the service)"
            return Sender(address, verified=True, how="dkim", evidence=evidence)
    return None


def aligned(from_domain: str, signer: str) -> bool:
    """DMARC's relaxed alignment, without a public-suffix list: the From domain is the
    signing domain or under it. A signer of one label (`pl`) aligns with nothing: no
    registrant signs for a whole top-level domain."""
    if "." not in signer:
        return False
    return from_domain == signer or from_domain.endswith("." + signer)


def _from_address(message: EmailMessage) -> str | None:
    try:
        header = message["From"]
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    except (IndexError, ValueError, TypeError):
        # The stdlib's header parser raises on a few malformed headers instead of noting them.
        return None
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        return None
    return str(addresses[0].addr_spec)[:320]


def _results_of(header: str, authserv_id: str) -> list[authres.core.AuthenticationResult]:
    unfolded = " ".join(header.split())
    try:
        parsed = _RESULTS.parse_value(unfolded)
    except authres.AuthResError:
        # A header that does not parse says nothing; whose it was cannot even be told.
        log.info("an Authentication-Results header that does not parse was ignored")
        return []
    if parsed.authserv_id != authserv_id:
        return []
    return list(parsed.results)
