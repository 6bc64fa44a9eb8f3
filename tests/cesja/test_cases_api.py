"""Cases through the HTTP API: create, read, list, reissue; roles and validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import INTAKE, REGISTRAR, STAFF


def create(client: TestClient, body: dict[str, Any], headers: dict[str, str] = REGISTRAR) -> Any:
    return client.post("/api/v1/cases", json=body, headers=headers)


def test_registrar_creates_a_case_and_reads_it_back(client: TestClient, case_body: dict) -> None:
    """GIVEN the contract's example case WHEN the registrar posts it THEN it is stored as sent."""
    created = create(client, case_body)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["id"].startswith("CS-")
    assert case["state"] == "awaiting_documents"
    assert case["transfer_allowed"] is False
    assert case["domains"] == ["example.pl", "żółw.pl"]
    assert case["form_version"] == 1
    assert case["external_ref"] == "REG-42"
    assert case["current_registrant"]["name"] == "Zażółć Gęślą Jaźń Sp. z o.o."
    assert case["customer_url"].startswith("http://127.0.0.1:8000/c/")
    assert case["deadline"].endswith("T00:00:00Z")
    names = {c["name"] for c in case["checks"]}
    # The company gets a stamp check, the person does not.
    assert "current_registrant.stamp_present" in names
    assert "new_registrant.stamp_present" not in names
    assert {c["status"] for c in case["checks"]} == {"pending"}

    fetched = client.get(f"/api/v1/cases/{case['id']}", headers=STAFF)
    assert fetched.status_code == 200
    assert fetched.json()["new_registrant"] == case_body["new_registrant"]
    # The answer to the create is the case as stored, to the microsecond.
    assert fetched.json() == case


def test_customer_links_are_unguessable_and_distinct(client: TestClient, case_body: dict) -> None:
    urls = {create(client, case_body).json()["customer_url"] for _ in range(3)}
    assert len(urls) == 3
    for url in urls:
        assert len(url.rsplit("/", 1)[1]) >= 32


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (("new_registrant", "pesel"), "92110804567", "new_registrant.pesel", "invalid check digit"),
        (("new_registrant", "pesel"), None, "new_registrant.pesel", "required"),
        (
            ("current_registrant", "nip"),
            "5260250996",
            "current_registrant.nip",
            "invalid check digit",
        ),
        (("current_registrant", "nip"), None, "current_registrant.nip", "required"),
        (
            ("current_registrant", "regon"),
            "012345678",
            "current_registrant.regon",
            "invalid check digit",
        ),
        (("current_registrant", "krs"), "12345", "current_registrant.krs", "10 digits"),
        (
            ("current_registrant", "representatives"),
            [],
            "current_registrant.representatives",
            "at least one",
        ),
        (
            ("new_registrant", "address", "postal_code"),
            "31042",
            "new_registrant.address.postal_code",
            "00-000",
        ),
        (("new_registrant", "email"), "not-an-address", "new_registrant.email", "e-mail"),
        (("domains",), ["example.pl", "-bad-.pl"], "domains.1", "IDNA"),
        (("domains",), ["example.pl", "EXAMPLE.pl"], "domains.1", "same domain"),
        (("domains",), [], "domains", "at least 1"),
        (("new_registrant", "kind"), "robot", "new_registrant.kind", "person"),
    ],
)
def test_invalid_case_names_the_field_and_stores_nothing(
    client: TestClient, case_body: dict, path: tuple, value: Any, field: str, message: str
) -> None:
    """GIVEN one bad field WHEN the case is posted THEN 422 names it and no case exists."""
    target = case_body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    response = create(client, case_body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and message.lower() in e["message"].lower() for e in errors), (
        errors
    )
    assert any(line.startswith(f"{field}: ") for line in response.json()["detail"])
    assert client.get("/api/v1/cases", headers=STAFF).json()["count"] == 0


def test_idna_2008_keeps_sharp_s(client: TestClient, case_body: dict) -> None:
    """IDNA 2003 would turn straße.pl into strasse.pl: a different domain."""
    case_body["domains"] = ["straße.pl", "xn--w-uga1v8h.pl"]
    case = create(client, case_body).json()
    assert case["domains"] == ["straße.pl", "żółw.pl"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("post", "/api/v1/cases", {}, 401),
        ("post", "/api/v1/cases", {"Authorization": "Bearer wrong"}, 401),
        ("post", "/api/v1/cases", INTAKE, 403),
        ("get", "/api/v1/cases", INTAKE, 403),
        ("get", "/api/v1/cases", {"Authorization": "Basic ZGV2LXN0YWZmOg=="}, 401),
    ],
)
def test_roles(
    client: TestClient, case_body: dict, method: str, path: str, headers: dict, status: int
) -> None:
    body = case_body if method == "post" else None
    response = client.request(method.upper(), path, json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] in ("unauthenticated", "forbidden")


def test_list_filters_by_state_and_domain(client: TestClient, case_body: dict) -> None:
    first = create(client, case_body).json()
    case_body["domains"] = ["inna-domena.pl"]
    create(client, case_body, headers=STAFF)
    by_domain = client.get("/api/v1/cases", params={"domain": "ŻÓŁW.pl"}, headers=REGISTRAR).json()
    assert [c["id"] for c in by_domain["items"]] == [first["id"]]
    by_state = client.get(
        "/api/v1/cases", params={"state": "awaiting_documents"}, headers=REGISTRAR
    ).json()
    assert by_state["count"] == 2
    assert (
        client.get("/api/v1/cases", params={"state": "completed"}, headers=REGISTRAR).json()[
            "count"
        ]
        == 0
    )


def test_reissue_makes_a_new_form_version(client: TestClient, case_body: dict) -> None:
    case = create(client, case_body).json()
    new_registrant = dict(case_body["new_registrant"], name="Małgorzata Żółkiewska")
    response = client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": new_registrant},
        headers=REGISTRAR,
    )
    assert response.status_code == 200, response.text
    reissued = response.json()
    assert reissued["form_version"] == 2
    assert reissued["new_registrant"]["name"] == "Małgorzata Żółkiewska"
    assert reissued["domains"] == case["domains"]
    bad = client.post(
        f"/api/v1/cases/{case['id']}/reissue", json={"domains": ["nie domena"]}, headers=REGISTRAR
    )
    assert bad.status_code == 422
    assert client.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()["form_version"] == 2


def test_unknown_case_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/cases/CS-0000-0000", headers=REGISTRAR)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
