"""Each party's own link: the case names both in `customer_urls`; each party's page says what
that party must do next; a party uploads its scan or photo there into the same intake as the
fax gateway's, and its page says what arrived."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from PIL import Image

from cesja import workers
from cesja.app import create_app
from cesja.config import Settings
from cesja.db.engine import MIGRATIONS
from cesja.web import customer
from tests.cesja.flow import add_page, case_in, create_case, runtime_of
from tests.conftest import INTAKE, REGISTRAR, STAFF

CONTACT = "Biuro Rejestratora Przykład, tel. +48 12 345 67 89"
ORIGIN = {"Origin": "http://testserver"}
LINK = re.compile(r"http://127\.0\.0\.1:8000/c/[A-Za-z0-9_-]{32}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[TestClient]:
    url = None if request.param == "sqlite" else request.getfixturevalue("pg_url")
    settings = Settings(database_url=url, customer_contact=CONTACT)
    with TestClient(create_app(settings)) as client:
        yield client


def path_of(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def page_text(client: TestClient, url: str) -> str:
    answer = client.get(path_of(url))
    assert answer.status_code == 200, answer.text
    return answer.text


def steps_of(html: str) -> str:
    """What the page lists as the parties' next steps."""
    return " ".join(re.findall(r'<ul class="party-steps[^"]*">(.*?)</ul>', html, re.S))


def test_the_case_names_a_link_for_each_party(service: TestClient) -> None:
    """GIVEN a new case WHEN the registrar creates, reads and lists it THEN each answer names
    the case's link and one link per party, all three different and unguessable, the same
    every time; each opens a page of that case."""
    made = create_case(service)
    got = service.get(f"/api/v1/cases/{made['id']}", headers=REGISTRAR).json()
    listed = service.get("/api/v1/cases", headers=STAFF).json()["items"][0]

    urls = made["customer_urls"]
    assert set(urls) == {"current_registrant", "new_registrant"}
    assert got["customer_urls"] == listed["customer_urls"] == urls
    assert got["customer_url"] == made["customer_url"]
    every = [made["customer_url"], *urls.values()]
    assert len(set(every)) == 3 and all(LINK.fullmatch(url) for url in every)
    for url in every:
        assert made["id"] in page_text(service, url)


def test_each_party_is_told_what_it_must_do_next(service: TestClient) -> None:
    """GIVEN a case whose current registrant faxed its page without a signature, and whose
    new registrant has sent nothing yet
    WHEN each party opens its own link, and the case's link is opened
    THEN the current registrant reads when its page arrived and that it must sign page 1 and
    send it again, and nothing of page 2; the new registrant reads that its page 2 has not
    arrived and what to do, and nothing of page 1; the case's link says both; every page
    names the contact. Once the new registrant's signed page arrives, its page says it is
    all done."""
    case = create_case(service)
    runtime = runtime_of(service)
    add_page(runtime, case["id"], "current_registrant", channel="fax", signature_present=False)
    urls = case["customer_urls"]

    pages = {
        party: page_text(service, url)
        for party, url in [*urls.items(), ("both", case["customer_url"])]
    }
    current, new, both = (steps_of(pages[p]) for p in (*urls, "both"))

    arrived = re.compile(r"Twoja strona 1 dotarła \d{1,2}\.\d\d\.\d{4} faksem\.")
    sign_again = "Pole podpisu na stronie 1 wygląda na puste: podpisz stronę 1 i wyślij ją"
    not_yet = "Twoja strona 2 jeszcze do nas nie dotarła"
    assert arrived.search(current) and sign_again in current
    assert not re.search(r"stron\w* 2\b", current)
    assert not_yet in new
    assert arrived.search(both) and sign_again in both and not_yet in both
    assert not re.search(r"stron\w* 1\b", new)
    for page in pages.values():
        assert CONTACT in page
        assert "/upload" in page

    add_page(runtime, case["id"], "new_registrant")
    new = steps_of(page_text(service, urls["new_registrant"]))
    assert "Wszystko, czego potrzebujemy od Ciebie na stronie 2, dotarło i jest w porządku." in new
    assert not_yet not in new


def png_photo() -> bytes:
    """A photo of something that is no page of any form."""
    out = io.BytesIO()
    Image.new("L", (320, 240), 255).save(out, format="PNG")
    return out.getvalue()


def upload(client: TestClient, url: str, data: bytes, name: str = "strona.png") -> Any:
    return client.post(
        f"{path_of(url)}/upload",
        files={"file": (name, data, "application/octet-stream")},
        headers=ORIGIN,
        follow_redirects=False,
    )


def test_a_party_uploads_its_page_into_the_intake_and_sees_what_arrived(
    service: TestClient,
) -> None:
    """GIVEN a case and its form, printed to PDF by the new registrant
    WHEN the new registrant uploads that PDF through its link, and the current registrant a
    photo with no page of the case on it, and the readers run
    THEN each upload goes to the party's page saying it arrived; it is the same intake the
    fax gateway uses (the same bytes sent there are a scan already received, channel
    `upload`, its sender the link it came through); afterwards the new registrant's page
    says both pages of the case were found in its file and its page arrived as an uploaded
    file, and the current registrant's says no page of the case was found in its photo —
    neither lists the other's file."""
    case = create_case(service)
    urls = case["customer_urls"]
    form = service.get(f"{path_of(case['customer_url'])}/form.pdf").content

    sent = upload(service, urls["new_registrant"], form, "formularz.pdf")
    photo = upload(service, urls["current_registrant"], png_photo())

    assert sent.status_code == photo.status_code == 303
    landed = service.get(sent.headers["location"])
    assert "Plik dotarł" in landed.text and "dotarł, czytamy go" in landed.text
    again = service.post(
        "/api/v1/scans",
        files={"file": ("x.pdf", form, "application/pdf")},
        data={"channel": "fax"},
        headers=INTAKE,
    )
    assert again.status_code == 200 and again.json()["channel"] == "upload"
    assert again.json()["sender"] == f"customer link: {case['id']}, new_registrant"

    workers.drain(runtime_of(service))

    new = page_text(service, urls["new_registrant"])
    current = page_text(service, urls["current_registrant"])
    assert "znaleźliśmy w nim stronę 1 i 2 tej sprawy" in new
    assert re.search(r"Twoja strona 2 dotarła [0-9.]+ jako przesłany plik\.", new)
    statuses = {
        c["name"]: c["status"]
        for c in service.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()["checks"]
    }
    # The page printed with its party's own link reads as printed: nothing altered on it.
    assert statuses["new_registrant.page_received"] == "passed"
    assert statuses["new_registrant.unaltered"] == "passed"
    assert "nie znaleźliśmy w nim strony tej sprawy" in current
    assert "znaleźliśmy w nim stronę" not in current
    assert "nie znaleźliśmy" not in new


def test_uploads_are_refused_when_bad_too_many_foreign_or_too_late(client: TestClient) -> None:
    """GIVEN a party's link
    WHEN it sends a file that is no scan, a post without a file, a post from another site,
    more files within the hour than a link may send, a file after the case was cancelled, and
    someone sends a file to a link nobody was given
    THEN each is refused with a page saying why (415, 422, 403, 429, 410, 404)."""
    case = create_case(client)
    url = case["customer_urls"]["current_registrant"]

    not_a_scan = upload(client, url, b"just some text, no picture at all")
    foreign = client.post(
        f"{path_of(url)}/upload",
        files={"file": ("a.png", png_photo(), "image/png")},
        headers={"Origin": "https://evil.example"},
    )
    assert not_a_scan.status_code == 415 and "Tego rodzaju pliku nie przyjmujemy" in not_a_scan.text
    assert foreign.status_code == 403
    no_file = client.post(f"{path_of(url)}/upload", data={"x": "y"}, headers=ORIGIN)
    assert no_file.status_code == 422 and "Wybierz plik" in no_file.text
    for n in range(customer.UPLOADS_PER_LINK - 2):  # the refused ones counted too
        assert upload(client, url, png_photo()).status_code == 303, n
    too_many = upload(client, url, png_photo())
    assert too_many.status_code == 429 and "zbyt wiele plików" in too_many.text
    other = upload(client, case["customer_urls"]["new_registrant"], png_photo())
    assert other.status_code == 303  # each link counts its own

    cancelled = case_in(client, "cancelled")
    late = upload(client, cancelled["customer_urls"]["new_registrant"], png_photo())
    assert late.status_code == 410
    assert "Sprawa została anulowana" in late.text
    assert upload(client, "http://127.0.0.1:8000/c/" + "A" * 32, png_photo()).status_code == 404


def test_a_case_made_before_party_links_gets_them_and_keeps_its_own(
    service: TestClient,
) -> None:
    """GIVEN a case made when cases had one link (the database taken back to revision 0009)
    WHEN the database is migrated again
    THEN the case's own link still opens its page, and it has a new link for each party."""
    case = create_case(service)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = runtime_of(service).settings.sqlalchemy_url
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    runtime_of(service).engine.dispose()
    command.downgrade(config, "0009")
    command.upgrade(config, "head")

    again = service.get(f"/api/v1/cases/{case['id']}", headers=REGISTRAR).json()
    assert again["customer_url"] == case["customer_url"]
    assert set(again["customer_urls"]) == {"current_registrant", "new_registrant"}
    assert not set(again["customer_urls"].values()) & set(case["customer_urls"].values())
    for url in [again["customer_url"], *again["customer_urls"].values()]:
        assert case["id"] in page_text(service, url)


def test_each_page_of_the_form_prints_its_party_s_own_link(service: TestClient) -> None:
    """GIVEN a case WHEN its form is fetched by the registrar and by the customer THEN page 1
    prints the current registrant's link and page 2 the new registrant's, neither the other's
    nor the case's."""
    case = create_case(service)
    urls = case["customer_urls"]
    for pdf in (
        service.get(f"/api/v1/cases/{case['id']}/form.pdf", headers=REGISTRAR).content,
        service.get(f"{path_of(case['customer_url'])}/form.pdf").content,
    ):
        pages = [
            re.sub(r"\s+", "", page.extract_text())
            for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
        ]
        assert urls["current_registrant"] in pages[0] and urls["new_registrant"] in pages[1]
        assert urls["new_registrant"] not in pages[0] and urls["current_registrant"] not in pages[1]
        assert all(case["customer_url"] not in page for page in pages)


def test_a_file_over_the_upload_limit_is_refused_as_for_scans(data_dir: Path) -> None:
    """GIVEN a service taking files of up to 1 MB
    WHEN a party sends a little more through its link, then much more
    THEN both are refused with 413 (the first with its page saying the file is too large),
    as `POST /api/v1/scans` refuses them."""
    with TestClient(create_app(Settings(max_upload_mb=1))) as client:
        url = create_case(client)["customer_urls"]["new_registrant"]
        a_little_more = upload(client, url, b"\xff\xd8\xff" + b"\0" * (1024 * 1024 + 10_000))
        much_more = upload(client, url, b"\0" * (3 * 1024 * 1024))

    assert a_little_more.status_code == 413 and "Plik jest za duży" in a_little_more.text
    assert much_more.status_code == 413
