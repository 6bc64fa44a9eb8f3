"""The form as the registrar and the customer get it: PDF by API and by the customer's link."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import zxingcpp
from fastapi.testclient import TestClient

from documents import page_code
from documents._exec import pdftoppm
from tests.conftest import INTAKE, REGISTRAR, STAFF


def _create(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/cases", json=body, headers=REGISTRAR)
    assert response.status_code == 201, response.text
    return response.json()


def _codes(pdf: bytes) -> list[str]:
    texts = []
    for page in (1, 2):
        found = zxingcpp.read_barcodes(
            pdftoppm.render_gray(pdf, page, 120), formats=zxingcpp.BarcodeFormat.QRCode
        )
        texts.extend(f.text for f in found)
    return texts


def test_registrar_downloads_the_form_of_the_current_version(
    client: TestClient, case_body: dict
) -> None:
    """GIVEN a new case WHEN the registrar asks for its form THEN it is a two-page PDF whose
    codes name this case, version 1, each page its own party, under the service's secret."""
    case = _create(client, case_body)
    response = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Zażółć Gęślą Jaźń Sp. z o.o." in text and "żółw.pl" in text
    secret = client.app.state.runtime.settings.keys.keys  # type: ignore[attr-defined]
    decoded = [page_code.decode(t, secret) for t in _codes(response.content)]
    assert [(c.case_id, c.form_version, c.party) for c in decoded] == [
        (case["id"], 1, "current_registrant"),
        (case["id"], 1, "new_registrant"),
    ]


def test_a_reissued_form_carries_the_new_version(client: TestClient, case_body: dict) -> None:
    """GIVEN a case whose form was fetched (and so drawn and kept) WHEN it is reissued with a
    new address THEN the form fetched next is version 2 with the new address, every time."""
    case = _create(client, case_body)
    first = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=STAFF).content
    assert client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=STAFF).content == first
    case_body["new_registrant"]["address"]["street"] = "ul. Floriańska 3"
    client.post(
        f"/api/v1/cases/{case['id']}/reissue",
        json={"new_registrant": case_body["new_registrant"]},
        headers=STAFF,
    )
    pdf = client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=STAFF).content
    assert client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content == pdf
    secret = client.app.state.runtime.settings.keys.keys  # type: ignore[attr-defined]
    assert {page_code.decode(t, secret).form_version for t in _codes(pdf)} == {2}
    assert "ul. Floriańska 3" in pypdf.PdfReader(io.BytesIO(pdf)).pages[1].extract_text()


def test_the_fax_gateway_may_not_read_forms(client: TestClient, case_body: dict) -> None:
    case = _create(client, case_body)
    assert client.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=INTAKE).status_code == 403
    assert client.get(f"/api/v1/cases/{case['id']}/form.pdf").status_code == 401


def test_the_customer_page_says_what_to_do_and_what_is_missing(
    client: TestClient, case_body: dict
) -> None:
    """GIVEN the customer's link WHEN opened THEN a Polish page offers the PDF, says where to
    send it and by when, lists what is still missing, and is kept out of caches and search."""
    case = _create(client, case_body)
    path = case["customer_url"].removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    assert f'href="{path}/form.pdf"' in html
    assert "Pobierz formularz" in html
    assert "+48 22 000 00 00" in html  # the fax number from configuration
    assert "Twoja strona 1 jeszcze do nas nie dotarła" in html  # nothing received yet
    assert "Twoja strona 2 jeszcze do nas nie dotarła" in html
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "noindex" in page.headers["x-robots-tag"]
    pdf = client.get(f"{path}/form.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_wrong_customer_link_reveals_nothing(client: TestClient, case_body: dict) -> None:
    case = _create(client, case_body)
    token = case["customer_url"].rsplit("/", 1)[1]
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/c/{wrong}", f"/c/{wrong}/form.pdf"):
        response = client.get(path)
        assert response.status_code == 404
        assert case["id"] not in response.text


def test_values_too_long_to_print_are_refused_by_field(client: TestClient, case_body: dict) -> None:
    """GIVEN a name that fits the API's length limit but not the form's box at 7 pt
    THEN 422 names the field, and nothing is stored."""
    case_body["new_registrant"]["name"] = "W" * 160
    response = client.post("/api/v1/cases", json=case_body, headers=REGISTRAR)
    assert response.status_code == 422
    assert response.json()["detail"][0].startswith("new_registrant.name: too long to print")
    assert client.get("/api/v1/cases", headers=STAFF).json()["count"] == 0
