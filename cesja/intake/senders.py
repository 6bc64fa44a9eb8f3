"""Who sent an e-mail: its From address, and whether the registrar's own mail host vouched
for it in an `Authentication-Results` header (RFC 8601) by DMARC or by an aligned DKIM
signature. Headers that any other host wrote are ignored: a sender can write them himself."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

import authres
import authres.dmarc

from cesja.casework.addresses import ascii_domain

log = logging.getLogger("cesja.intake")

_RESULTS = authres.FeatureContext(authres.dmarc)  # dkim, spf and the rest are in the core


@dataclass(frozen=True)
class Sender:
    """The From address (None when there is none, or more than one) and how it was
    authenticated: `how` is a code of `workflow.checks.HOW`, `evidence` the result that
    decided, as the mail host wrote it (`dkim=pass header.d=example.pl`)."""

    address: str | None
    verified: bool
    how: str
    evidence: str | None = None


def sender_of(message: EmailMessage, *, authserv_id: str | None) -> Sender:
    address = _from_address(message)
    if address is None:
        return Sender(None, verified=False, how="no_sender")
    if not authserv_id:
        return Sender(address, verified=False, how="not_configured")
    domain = ascii_domain(address.rpartition("@")[2])
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
