"""A member of staff reviews a case in a real browser: Debian's chromium against the service
under uvicorn, with a page the simulator printed, left unsigned, scanned and sent by fax; and
in English, switched to in the header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlmodel import Session

from cesja import workers
from cesja.casework import staff
from documents.simulate import to_png
from tests.cesja.flow import add_page
from tests.cesja.sent_pages import clean_scan, form_of, signed_form
from tests.cesja.test_page_handling import without_code_and_number
from tests.cesja.web.conftest import CHROMIUM_ARGS, LiveService
from tests.cesja.web.seed import case_with_page, create_case, send_scan
from tests.cesja.web.test_languages import ASCII_CASE, POLISH_LETTERS
from tests.conftest import STAFF

pytestmark = pytest.mark.browser

SIGNATURE = "new_registrant.signature_present"
PASSWORD = "correct horse battery staple"
# What the page says after an acceptance that leaves the case waiting for the other page.
ACCEPTED_AWAITING = (
    "Sprawdzenie zaakceptowane. Sprawa czeka na dokumenty: brakuje jeszcze stron albo ich odczytu."
)


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # A fresh, empty profile of its own each run (playwright's launch makes one).
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="pl-PL")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _wait_until_shown(page: Page, image: Locator, wider_than: int) -> None:
    """Wait until the image has loaded as a picture wider than `wider_than` pixels.

    Visible is not enough: a lazily loaded image is laid out before its bytes arrive.
    """
    page.wait_for_function(
        "([img, width]) => img.complete && img.naturalWidth > width",
        arg=[image.element_handle(), wider_than],
    )


def test_staff_accept_a_missing_signature_and_see_it_in_the_trail(
    live_service: LiveService, page: Page, tmp_path: Path
) -> None:
    """GIVEN a case whose new registrant's page came by fax without a signature (in_review)
    WHEN staff sign in as themselves (after a registrar's key and a wrong password are
    refused), find the case at the top of the queue, open it, compare the expected
    and read values beside the scan, and accept the signature check with a reason
    THEN the page shows the check accepted, the case back to waiting for the other party's
    page, and the decision in the audit trail under their name; signing out locks them out.
    """
    case = case_with_page(live_service.api, live_service.runtime, "fraud-missing-signature")
    assert case["state"] == "in_review"
    case_id = case["id"]
    # A script or style the page's CSP blocks, or a script error, shows up as a console error.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    with Session(live_service.runtime.engine) as session:
        staff.add_staff(session, "anna", "Anna Nowak", PASSWORD)
        session.commit()
    page.goto(live_service.url + "/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.get_by_text("Logowanie kluczem API").click()
    page.get_by_label("Klucz API").fill("dev-registrar")
    page.get_by_role("button", name="Zaloguj kluczem").click()
    expect(page.get_by_role("alert")).to_contain_text("nie należy do pracownika")
    page.get_by_label("Login").fill("anna")
    page.get_by_label("Hasło").fill("not her password at all")
    page.get_by_role("button", name="Zaloguj", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nieprawidłowy login lub hasło")
    page.get_by_label("Login").fill("anna")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj", exact=True).click()

    expect(page.get_by_role("heading", name="Kolejka spraw")).to_be_visible()
    first = page.locator("table.queue tbody tr").first
    expect(first).to_contain_text(case_id)
    expect(first).to_contain_text("do weryfikacji")
    expect(first).to_contain_text("nowy abonent: podpis")
    page.get_by_role("link", name=case_id).click()

    expect(page.get_by_role("heading", name=f"Sprawa {case_id}")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("do weryfikacji")
    scan = page.locator("#pages figure.scan img")
    expect(scan).to_be_visible()
    _wait_until_shown(page, scan, wider_than=500)
    name_row = page.locator("table.fields tr", has_text="nowy abonent: nazwa").first
    expect(name_row).to_contain_text("Małgorzata Żółkiewska-Ćwik")
    signing_area = page.locator('#pages img[src$="zone/signing_area.jpg"]')
    expect(signing_area).to_be_visible()
    expect(page.locator(".signing")).to_contain_text("BRAK")
    check = page.locator(f'tr[data-check="{SIGNATURE}"]')
    expect(check).to_contain_text("niespełnione")
    page.screenshot(path=str(tmp_path / "case-in-review.png"), full_page=True)
    # Beside the failed check, its evidence; on the page, its box drawn as failed.
    evidence = check.locator("details.evidence")
    expect(evidence).to_contain_text("BRAK")
    expect(evidence.locator("img.signing-close-up")).to_be_visible()
    expect(page.locator('#pages svg.marks rect.bad[data-what="signature"]')).to_have_count(1)
    expect(page.locator('#pages svg.marks rect.ok[data-what="new_registrant.name"]')).to_have_count(
        1
    )
    # Opened in place at the scan's own resolution, at the signature box, then zoomed.
    evidence.get_by_role("link", name="Powiększ skan w tym miejscu").click()
    viewer = page.locator("dialog#viewer")
    expect(viewer).to_have_attribute("data-ready", "true")
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))  # no new page, no new tab
    width = viewer.locator("img").evaluate("img => img.naturalWidth")
    small = page.locator("#pages figure.scan img").evaluate("img => img.naturalWidth")
    assert width >= 1.9 * small, (width, small)
    box = viewer.locator('rect[data-what="signature"]').bounding_box()
    stage = viewer.locator(".viewer-stage").bounding_box()
    assert box and stage and box["width"] > 0.5 * stage["width"], (box, stage)
    page.screenshot(path=str(tmp_path / "viewer.png"))
    before = viewer.locator(".viewer-scale").inner_text()
    page.keyboard.press("+")
    assert int(viewer.locator(".viewer-scale").inner_text().rstrip(" %")) > int(before.rstrip(" %"))
    page.keyboard.press("0")
    whole = viewer.locator(".viewer-sheet").bounding_box()
    assert whole and whole["height"] <= stage["height"] + 1, (whole, stage)
    page.keyboard.press("Escape")
    expect(viewer).not_to_be_visible()

    check.get_by_role("textbox").fill("Podpis złożony na oryginale, okazanym w oddziale.")
    check.get_by_role("button", name="Akceptuj").click()

    expect(page.get_by_role("status")).to_have_text(ACCEPTED_AWAITING)
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}\?done=accept$"))
    assert page.evaluate("typeof window.htmx") == "object", "htmx is loaded"
    expect(page.locator(f'tr[data-check="{SIGNATURE}"]')).to_contain_text("zaakceptowane")
    expect(page.locator("#case-state")).to_have_text("czeka na dokumenty")
    decision = page.locator("table.audit tr.event-check_decided")
    expect(decision).to_contain_text("pracownik anna")
    expect(decision).to_contain_text("Podpis złożony na oryginale, okazanym w oddziale.")
    expect(page.locator(".chain-ok")).to_be_visible()
    page.screenshot(path=str(tmp_path / "case-after-decision.png"), full_page=True)

    page.get_by_role("button", name="Wyloguj").click()
    expect(page.get_by_role("status")).to_have_text("Wylogowano.")
    page.goto(f"{live_service.url}/cases/{case_id}")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/cases/"))
    # The refused sign-ins (a registrar's key: 403, a wrong password: 401) are logged by the
    # browser; nothing else may fail.
    assert [p for p in problems if "403" not in p and "401" not in p] == [], failed


def test_staff_assign_a_page_nothing_routed_and_accept_it_once_read(
    live_service: LiveService, page: Page
) -> None:
    """GIVEN a case, and its new registrant's signed page faxed with the code and the case
    number torn off: the page is on the list of pages without a case
    WHEN staff open that list, see the page's picture, assign it to the case as the new
    registrant's page with a reason, and, once a worker has read it, open the case
    THEN the case shows the page read against its form (the name as printed, the signature
    found), says at the top of the page that staff assigned it, shows the check that no code
    proved the page ours waiting for them, and the assignment in the audit trail with the
    reason; accepting that check with a reason is recorded, and the page is no longer on the
    list."""
    runtime = live_service.runtime
    case_id = create_case(live_service.api)["id"]
    rng = np.random.default_rng(31)
    key = runtime.settings.keys.keys
    paper = signed_form(form_of(runtime, case_id), "new_registrant", key, rng)
    send_scan(live_service.api, runtime, to_png(clean_scan(without_code_and_number(paper), rng)))

    page.goto(live_service.url + "/sign-in")
    page.get_by_text("Logowanie kluczem API").click()
    page.get_by_label("Klucz API").fill("dev-staff")
    page.get_by_role("button", name="Zaloguj kluczem").click()
    page.get_by_role("link", name="Strony bez sprawy").click()
    row = page.locator("table.loose tbody tr").first
    expect(row).to_contain_text("nie rozpoznano")
    picture = row.locator("td.thumb img")
    expect(picture).to_be_visible()
    _wait_until_shown(page, picture, wider_than=50)

    row.get_by_text("Przypisz do sprawy").click()
    row.get_by_label("Numer sprawy").fill(f" {case_id.lower()} ")
    row.get_by_label("nowego abonenta (strona 2)").check()
    row.get_by_label("Powód").first.fill(
        "Kod urwany na faksie; klientka potwierdziła telefonicznie."
    )
    row.get_by_role("button", name="Przypisz").click()

    expect(page).to_have_url(re.compile(rf"/cases/{case_id}\?done=page_assigned$"))
    expect(page.get_by_role("status")).to_contain_text("Strona przypisana do sprawy")
    workers.drain(runtime)
    page.reload()

    name_row = page.locator("table.fields tr", has_text="nowy abonent: nazwa").first
    expect(name_row).to_contain_text("Małgorzata Żółkiewska-Ćwik")
    expect(page.locator(".page-card .routed")).to_contain_text("przypisał do sprawy pracownik")
    check = page.locator('tr[data-check="new_registrant.page_received"]')
    expect(check).to_contain_text("niespełnione")
    assigned = page.locator("table.audit tr.event-page_assigned")
    expect(assigned).to_contain_text("klientka potwierdziła telefonicznie")
    check.get_by_role("textbox").fill("Strona sprawdzona z klientką; kod urwany przy wysyłce.")
    check.get_by_role("button", name="Akceptuj").click()
    # Its torn-off case number still fails fields_match: the case stays for a person.
    expect(page.get_by_role("status")).to_contain_text("Sprawa zostaje do weryfikacji")
    expect(page.locator('tr[data-check="new_registrant.page_received"]')).to_contain_text(
        "zaakceptowane"
    )
    page.get_by_role("link", name="Strony bez sprawy").click()
    expect(page.locator("table.loose")).to_contain_text("Wszystkie otrzymane strony")


def test_a_reviewer_clears_five_cases_in_a_row_with_the_keyboard_alone(
    live_service: LiveService, page: Page
) -> None:
    """GIVEN five cases in review, each because a signature was not found
    WHEN a reviewer, signed in, goes through them with the keyboard alone: `j` to the next
    case in review, `a` to accept its failed check, a reason typed, Ctrl+Enter to send
    THEN each decision is recorded and said (with what it did to the case), `j` leads from
    each case to the next one waiting longest, and after the fifth none is left in review."""
    runtime = live_service.runtime
    waiting = []
    for _ in range(5):
        case_id = create_case(live_service.api)["id"]
        assert add_page(runtime, case_id, "new_registrant", signature_present=False) == (
            "in_review"
        )
        waiting.append(case_id)
    with Session(runtime.engine) as session:
        staff.add_staff(session, "anna", "Anna Nowak", PASSWORD)
        session.commit()
    page.goto(live_service.url + "/sign-in")
    # The login field takes the focus once the page is shown: keys typed before that are lost.
    expect(page.get_by_role("textbox", name="Login")).to_be_focused()
    page.keyboard.type("anna")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Kolejka spraw")).to_be_visible()
    page.locator("body").focus()

    for case_id in waiting:  # longest waiting first
        page.keyboard.press("j")
        expect(page.get_by_role("heading", name=f"Sprawa {case_id}")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
        failed = page.locator('tr.status-failed[data-check="new_registrant.signature_present"]')
        expect(failed).to_be_visible()
        page.keyboard.press("a")
        page.keyboard.type("Podpis sprawdzony z oryginałem w oddziale.")
        page.keyboard.press("Control+Enter")
        expect(page.get_by_role("status")).to_have_text(ACCEPTED_AWAITING)
        expect(page).to_have_url(re.compile(rf"/cases/{case_id}\?done=accept$"))

    expect(page.locator(".case-steps")).to_contain_text("nie ma innych spraw do weryfikacji")
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_contain_text("następna / poprzednia sprawa")
    for case_id in waiting:
        answer = live_service.api.get(f"/api/v1/cases/{case_id}", headers=STAFF).json()
        assert answer["state"] == "awaiting_documents"
        events = live_service.api.get(f"/api/v1/cases/{case_id}/events", headers=STAFF).json()
        assert [e["actor"] for e in events if e["type"] == "check_decided"] == ["staff:@anna"]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (820, 1180), (390, 844)])
def test_every_page_fits_the_screen_without_scrolling_sideways(
    live_service: LiveService, browser: Browser, width: int, height: int
) -> None:
    """GIVEN a case in review with a faxed page, a page without a case, and a signed-in
    reviewer WHEN the queue, the case, the pages without a case and the customer's page are
    opened on a desktop (1280×800), a tablet (820×1180) and a phone (390×844) THEN none is
    wider than the screen: nothing scrolls sideways."""
    case = case_with_page(live_service.api, live_service.runtime, "fraud-missing-signature")
    runtime = live_service.runtime
    other = create_case(live_service.api)["id"]
    rng = np.random.default_rng(51)
    paper = signed_form(form_of(runtime, other), "new_registrant", runtime.settings.keys.keys, rng)
    send_scan(live_service.api, runtime, to_png(clean_scan(without_code_and_number(paper), rng)))
    context = browser.new_context(viewport={"width": width, "height": height}, locale="pl-PL")
    page = context.new_page()
    try:
        page.goto(live_service.url + "/sign-in")
        page.get_by_text("Logowanie kluczem API").click()
        page.get_by_label("Klucz API").fill("dev-staff")
        page.get_by_role("button", name="Zaloguj kluczem").click()
        expect(page.get_by_role("heading", name="Kolejka spraw")).to_be_visible()
        customer = case["customer_url"].replace("http://127.0.0.1:8000", live_service.url)
        for path in ["/", f"/cases/{case['id']}", "/unmatched", customer]:
            page.goto(path if path.startswith("http") else live_service.url + path)
            page.wait_for_load_state("load")
            wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            assert wide[0] <= wide[1], f"{path} at {width}×{height}: {wide[0]} px wide"
    finally:
        context.close()


@pytest.fixture
def reasons_in_english(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reasons a reviewer picks from are the operator's words, shown as configured: here
    an English-speaking office's."""
    monkeypatch.setenv("CESJA_REVIEW_REASONS", "Original shown at the branch.|Confirmed by phone.")


def test_a_reviewer_switches_to_english_decides_a_check_and_switches_back(
    reasons_in_english: None, live_service: LiveService, page: Page
) -> None:
    """GIVEN a case in review (the new registrant's signature not found), its values written
    without Polish letters, and a reviewer signed in (the back office in Polish)
    WHEN she switches to English in the header, opens the case from the queue, accepts the
    failed check with a reason, goes to another page, reloads it, and switches back
    THEN the queue, the case, its check names, states and the sentence after the decision are
    in English with no Polish letter on the page, the choice holds on every page after it
    and after a reload, and "Polski" brings the Polish back."""
    runtime = live_service.runtime
    case_id = create_case(live_service.api, ASCII_CASE)["id"]
    assert add_page(runtime, case_id, "new_registrant", signature_present=False) == "in_review"
    with Session(runtime.engine) as session:
        staff.add_staff(session, "anna", "Anna Nowak", PASSWORD)
        session.commit()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_service.url + "/sign-in")
    page.get_by_label("Login").fill("anna")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj", exact=True).click()
    expect(page.get_by_role("heading", name="Kolejka spraw")).to_be_visible()

    page.get_by_role("button", name="English").click()

    expect(page.get_by_role("heading", name="Case queue")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    row = page.locator("table.queue tbody tr", has_text=case_id)
    expect(row).to_contain_text("in review")
    expect(row).to_contain_text("new registrant: signature")
    assert not POLISH_LETTERS.search(page.locator("body").inner_text())
    page.get_by_role("link", name=case_id).click()

    expect(page.get_by_role("heading", name=f"Case {case_id}")).to_be_visible()
    expect(page.locator("#case-state")).to_have_text("in review")
    check = page.locator(f'tr[data-check="{SIGNATURE}"]')
    expect(check).to_contain_text("signature")
    expect(check).to_contain_text("failed")
    expect(check).to_contain_text("No signature was found in the signature box")
    assert not POLISH_LETTERS.search(page.locator("body").inner_text())
    check.get_by_role("textbox").fill("Signature checked against the original at the branch.")
    check.get_by_role("button", name="Accept").click()

    expect(page.get_by_role("status")).to_have_text(
        "Check accepted. The case is waiting for documents: pages, or their reading, are "
        "still missing."
    )
    expect(page.locator(f'tr[data-check="{SIGNATURE}"]')).to_contain_text("accepted")
    expect(page.locator("#case-state")).to_have_text("awaiting documents")
    decision = page.locator("table.audit tr.event-check_decided")
    expect(decision).to_contain_text("decision of staff")
    expect(decision).to_contain_text("staff anna")
    assert not POLISH_LETTERS.search(page.locator("body").inner_text())

    page.get_by_role("link", name="Pages without a case").click()
    expect(page.get_by_role("heading", name="Pages without a case")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Pages without a case")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("button", name="Polski").click()
    expect(page.get_by_role("heading", name="Strony bez sprawy")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    page.get_by_role("link", name="Kolejka spraw").click()
    expect(page.get_by_role("heading", name="Kolejka spraw")).to_be_visible()
    assert problems == []
