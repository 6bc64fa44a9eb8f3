"""E-mail addresses compared as mail hosts compare them: case aside, domains in ASCII (IDNA)."""

from __future__ import annotations

import idna


def ascii_domain(domain: str) -> str:
    """The domain as DNS knows it (`żółw.pl` → `xn--w-uga1v8h.pl`), lower case; a name IDNA
    refuses stays as written, lower case, and so matches only itself."""
    domain = domain.strip().rstrip(".").lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain


def address_key(address: str) -> str:
    """What two spellings of one mailbox have in common: `Biuro@Żółw.PL` and
    `biuro@xn--w-uga1v8h.pl` give the same key. The local part is compared without case, as
    registrars' rules ask (RFC 5321 lets a host tell cases apart; none in practice does)."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.lower()}@{ascii_domain(domain)}"


def same_address(one: str | None, other: str | None) -> bool:
    return bool(one and other) and address_key(one or "") == address_key(other or "")
