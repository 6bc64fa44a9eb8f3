"""The contract's example case (CONTRACT.md section 3, with a REGON whose check digit holds):
what the demo sends, what a warming worker reads, what the tests start from."""

from __future__ import annotations

from typing import Any

EXAMPLE_CASE: dict[str, Any] = {
    "domains": ["example.pl", "żółw.pl"],
    "current_registrant": {
        "kind": "company",
        "name": "Zażółć Gęślą Jaźń Sp. z o.o.",
        "nip": "5260250995",
        "regon": "012345675",
        "krs": "0000123456",
        "representatives": ["Grzegorz Brzęczyszczykiewicz"],
        "address": {
            "street": "ul. Źródlana 17/4",
            "postal_code": "90-418",
            "city": "Łódź",
            "country": "PL",
        },
        "email": "biuro@example.pl",
        "phone": "+48 42 123 45 67",
    },
    "new_registrant": {
        "kind": "person",
        "name": "Małgorzata Żółkiewska-Ćwik",
        "pesel": "92110804566",
        "address": {
            "street": "ul. Świętokrzyska 36 m. 12",
            "postal_code": "31-042",
            "city": "Kraków",
            "country": "PL",
        },
        "email": "m.zolkiewska@example.com",
        "phone": None,
    },
    "external_ref": "REG-42",
}
