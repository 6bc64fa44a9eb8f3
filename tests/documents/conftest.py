"""Fixtures for the documents tests: the sample case of CONTRACT.md as the form sees it."""

from __future__ import annotations

from datetime import date

import pytest

from documents.form_data import Address, FormData, PartyData, SendTo

SECRET_KEY = b"test-secret-key-for-page-codes"


def make_sample_form(case_id: str = "CS-7K2M-P9XR", form_version: int = 1) -> FormData:
    """The case of CONTRACT.md: a company assigns two domains to a person, Polish letters."""
    return FormData(
        case_id=case_id,
        form_version=form_version,
        domains=("example.pl", "żółw.pl"),
        current_registrant=PartyData(
            kind="company",
            name="Zażółć Gęślą Jaźń Sp. z o.o.",
            address=Address("ul. Źródlana 17/4", "90-418", "Łódź", "PL"),
            email="biuro@example.pl",
            phone="+48 42 123 45 67",
            nip="5260250995",
            regon="012345675",
            krs="0000123456",
            representatives=("Grzegorz Brzęczyszczykiewicz",),
        ),
        new_registrant=PartyData(
            kind="person",
            name="Małgorzata Żółkiewska-Ćwik",
            address=Address("ul. Świętokrzyska 36 m. 12", "31-042", "Kraków", "PL"),
            email="m.zolkiewska@example.com",
            pesel="92110804566",
        ),
        deadline=date(2026, 12, 6),
        send_to=SendTo(
            postal_address="Rejestrator Sp. z o.o., ul. Prosta 1, 00-001 Warszawa",
            fax_number="+48 22 100 20 30",
            customer_url="http://127.0.0.1:8000/c/abc123",
        ),
    )


@pytest.fixture(scope="session")
def sample_form() -> FormData:
    return make_sample_form()


@pytest.fixture(scope="session")
def secret_key() -> bytes:
    return SECRET_KEY
