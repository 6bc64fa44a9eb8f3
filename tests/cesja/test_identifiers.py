"""Polish identifiers and domain names, as the registrar's data is checked on the way in."""

from __future__ import annotations

import pytest

from cesja.casework import identifiers


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (identifiers.check_pesel, "92110804567", "invalid check digit"),
        (identifiers.check_pesel, "9211080456", "wrong number of digits"),
        (identifiers.check_pesel, "9211080456X", "digits only"),
        (identifiers.check_nip, "5260250996", "invalid check digit"),
        (identifiers.check_regon, "012345678", "invalid check digit"),
        (identifiers.check_krs, "123456789", "10 digits"),
        (identifiers.check_krs, "000012345a", "10 digits"),
        (identifiers.check_pl_postal_code, "90418", "00-000"),
        (identifiers.check_email, "biuro@", "e-mail"),
        (identifiers.check_phone, "call me", "phone"),
        (identifiers.check_domain, "localhost", "full domain"),
        (identifiers.check_domain, "a..pl", "IDNA"),
        (identifiers.check_domain, "x" * 64 + ".pl", "IDNA"),
    ],
)
def test_bad_values_say_what_is_wrong(check, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check(value)


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (identifiers.check_pesel, "92110804566", "92110804566"),
        (identifiers.check_nip, "5260250995", "5260250995"),
        (identifiers.check_nip, "526-025-09-95", "5260250995"),
        (identifiers.check_regon, "012345675", "012345675"),
        (identifiers.check_krs, "0000123456", "0000123456"),
        (identifiers.check_pl_postal_code, "90-418", "90-418"),
        (identifiers.check_phone, "+48 42  123 45 67", "+48 42 123 45 67"),
        (identifiers.check_domain, "ŻÓŁW.pl", "żółw.pl"),
        (identifiers.check_domain, "xn--w-uga1v8h.pl", "żółw.pl"),
        (identifiers.check_domain, "straße.pl", "straße.pl"),
        (identifiers.check_domain, "example.pl.", "example.pl"),
    ],
)
def test_good_values_are_kept_in_canonical_form(check, value: str, expected: str) -> None:
    assert check(value) == expected
