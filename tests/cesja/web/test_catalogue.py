"""What the service says to people is in the catalogue: every sentence the checks write and
every message of the web pages has its Polish, with the same values to fill, and a case page
shows no English check sentence."""

from __future__ import annotations

import html
import re
from pathlib import Path
from string import Formatter

from babel.messages.catalog import Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from cesja.casework import customer_view
from cesja.web.catalogue import CATALOGUE, polish
from tests.cesja.flow import case_in
from tests.cesja.web.conftest import ORIGIN
from tests.conftest import STAFF
from workflow.checks import ALL_SENTENCES

ROOT = Path(__file__).resolve().parents[3]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def test_every_sentence_the_checks_write_is_in_the_polish_catalogue() -> None:
    """GIVEN the sentences workflow.checks writes WHEN each is looked up in the catalogue THEN
    it has a Polish sentence naming the same values."""
    catalogue = polish()
    missing = [s for s in ALL_SENTENCES if s not in catalogue]
    assert missing == []
    for sentence in ALL_SENTENCES:
        assert placeholders(catalogue[sentence]) == placeholders(sentence), sentence


def test_every_sentence_the_customer_pages_write_is_in_the_polish_catalogue() -> None:
    """GIVEN what a party's page tells it to do WHEN each sentence is looked up THEN it has a
    Polish sentence naming the same values."""
    catalogue = polish()
    assert [s for s in customer_view.ALL_SENTENCES if s not in catalogue] == []
    for sentence in customer_view.ALL_SENTENCES:
        assert placeholders(catalogue[sentence]) == placeholders(sentence), sentence


def test_a_case_page_says_every_check_in_polish(staff: TestClient) -> None:
    """GIVEN a case in review (a signature not found) and a decision on one check
    WHEN staff open it THEN every check reads in Polish, values in Polish words too, and not
    one of the English sentences the API gives for the same checks is on the page."""
    case = case_in(staff, "in_review")
    failed = next(c["name"] for c in case["checks"] if c["status"] == "failed")
    reject = {"decision": "reject", "reason": "Podpis nie pasuje."}
    assert staff.post(f"/cases/{case['id']}/checks/{failed}", data=reject, headers=ORIGIN)

    page = html.unescape(staff.get(f"/cases/{case['id']}").text)

    english = staff.get(f"/api/v1/cases/{case['id']}", headers=STAFF).json()["checks"]
    assert [c["detail"] for c in english if c["detail"] in page] == []
    assert "Odrzucone przez biuro: Podpis nie pasuje." in page
    assert "Nie otrzymano jeszcze strony od nowego abonenta." in page
    assert "Wydrukowane dane na stronie 1 skanu" in page
    assert "Otrzymana: strona 1 skanu" in page and "pocztą." in page


def test_every_message_the_web_pages_write_has_its_polish() -> None:
    """GIVEN the messages the web pages write: `{% trans %}` and `_()` in the templates,
    gettext and `N_` in the code, as Babel extracts them
    WHEN each is looked up in the catalogue THEN it has a Polish message (each plural form
    too) naming no value the English does not give."""
    method_map = [
        ("cesja/**.py", "python"),
        ("cesja/templates/**.html", "jinja2.ext:babel_extract"),
    ]
    options = {"cesja/templates/**.html": {"trimmed": "true", "extensions": "jinja2.ext.i18n"}}
    written = {
        message: f"{path}:{line}"
        for path, line, message, _, _ in extract_from_dir(
            str(ROOT), method_map, options_map=options
        )
    }
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    assert len(written) > 500  # the extraction saw the templates and the code
    missing = [
        f"{where}: {message!r}"
        for message, where in written.items()
        if not _translated(catalogue.get(message))
    ]
    assert missing == []
    for message in written:
        entry = catalogue.get(message)
        english = message if isinstance(message, tuple) else (message,)
        polish_forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        names = set().union(*map(any_placeholders, english))
        for form in polish_forms:
            assert any_placeholders(form) <= names, (message, form)


def _translated(entry: Message | None) -> bool:
    if entry is None:
        return False
    forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(forms) and not entry.fuzzy


def any_placeholders(message: str) -> set[str]:
    """The values a message names: `{name}` in the code's, `%(name)s` in the templates'."""
    return placeholders(message.replace("%%", "")) | set(re.findall(r"%\((\w+)\)s", message))
