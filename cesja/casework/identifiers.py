"""Checks for what a registrant is identified by: PESEL, NIP, REGON, KRS, postal codes, domains."""

from __future__ import annotations

import re

import idna
from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.pl import nip, pesel, regon

_KRS = re.compile(r"\d{10}")
_PL_POSTAL = re.compile(r"\d{2}-\d{3}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,22}[0-9]")


def _stdnum_message(err: StdnumError) -> str:
    if isinstance(err, InvalidChecksum):
        return "invalid check digit"
    if isinstance(err, InvalidLength):
        return "wrong number of digits"
    if isinstance(err, InvalidFormat):
        return "must contain digits only"
    if isinstance(err, InvalidComponent):
        return "contains an impossible part (e.g. a birth date that does not exist)"
    return "not a valid number"


def _stdnum(module: object, value: str) -> str:
    try:
        return module.validate(value)  # type: ignore[attr-defined,no-any-return]
    except StdnumError as err:
        raise ValueError(_stdnum_message(err)) from None


def check_pesel(value: str) -> str:
    return _stdnum(pesel, value)


def check_nip(value: str) -> str:
    return _stdnum(nip, value)


def check_regon(value: str) -> str:
    return _stdnum(regon, value)


def check_krs(value: str) -> str:
    """KRS numbers are 10 digits (leading zeros kept) and carry no check digit."""
    value = value.strip()
    if not _KRS.fullmatch(value):
        raise ValueError("must be exactly 10 digits")
    return value


def check_pl_postal_code(value: str) -> str:
    value = value.strip()
    if not _PL_POSTAL.fullmatch(value):
        raise ValueError("must look like 00-000")
    return value


def check_email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValueError(f"not a valid e-mail address: {err}") from None


def check_phone(value: str) -> str:
    value = " ".join(value.split())
    if not _PHONE.fullmatch(value):
        raise ValueError("must be a phone number such as +48 42 123 45 67")
    return value


def check_domain(value: str) -> str:
    """An IDNA-2008 domain (Unicode or `xn--`), returned in its Unicode form, lower case.

    `idna` with UTS #46 mapping, never Python's `idna` codec (IDNA 2003 maps `straße` to
    `strasse`, which is a different domain).
    """
    name = value.strip().rstrip(".")
    if not name or "." not in name:
        raise ValueError("must be a full domain name such as example.pl")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError as err:
        raise ValueError(f"not a valid IDNA-2008 domain name: {err}") from None
    if len(ascii_name) > 253:
        raise ValueError("longer than 253 characters in its xn-- form")
    return unicode_name
