"""The checks of a case, from page evidence and staff decisions (CONTRACT.md section 3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workflow import (
    Check,
    Decision,
    EmailSender,
    Evidence,
    check_names,
    compute_checks,
    overall,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KINDS: dict[Any, Any] = {"current_registrant": "company", "new_registrant": "person"}
CURRENT = "current_registrant"
NEW = "new_registrant"


def page(
    party: str = CURRENT,
    *,
    version: int = 1,
    channel: str = "post",
    at: datetime = T0,
    scan: str = "scan-a",
    index: int = 0,
    code_valid: bool = True,
    fields_match: bool = True,
    signature: bool = True,
    stamp: bool | str | None = "by kind",
    unaltered: bool = True,
    mismatched: tuple[str, ...] = (),
    altered: tuple[str, ...] = (),
) -> Evidence:
    """A page as the reader reports it; by default a clean, signed (and stamped) original."""
    if stamp == "by kind":
        stamp = True if KINDS[party] == "company" else None
    return Evidence(
        party=party,  # type: ignore[arg-type]
        form_version=version,
        channel=channel,  # type: ignore[arg-type]
        received_at=at,
        scan_id=scan,
        page_index=index,
        code_valid=code_valid,
        fields_match=fields_match,
        signature_present=signature,
        stamp_present=stamp,  # type: ignore[arg-type]
        unaltered=unaltered,
        mismatched_fields=mismatched,
        altered_fields=altered,
    )


def decision(check: str, verdict: str, at: datetime, reason: str = "checked by phone") -> Decision:
    return Decision(check=check, decision=verdict, reason=reason, actor="staff:anna", at=at)  # type: ignore[arg-type]


def run(
    evidence: list[Evidence],
    decisions: Sequence[Decision] = (),
    *,
    version: int = 1,
    require_original: bool = False,
    kinds: dict[Any, Any] = KINDS,
) -> dict[str, Check]:
    checks = compute_checks(kinds, version, evidence, decisions, require_original=require_original)
    return {c.name: c for c in checks}


def statuses(checks: dict[str, Check]) -> dict[str, str]:
    return {name: c.status for name, c in checks.items()}


def both_good(**kw: Any) -> list[Evidence]:
    return [page(CURRENT, **kw), page(NEW, **kw)]


ALL_NAMES = [
    "current_registrant.page_received",
    "current_registrant.fields_match",
    "current_registrant.signature_present",
    "current_registrant.stamp_present",
    "current_registrant.unaltered",
    "new_registrant.page_received",
    "new_registrant.fields_match",
    "new_registrant.signature_present",
    "new_registrant.unaltered",
]


def test_no_pages_leaves_every_check_pending() -> None:
    """GIVEN a case with no page received
    WHEN its checks are computed
    THEN every check of both parties is pending, says no page came, and the case awaits documents.
    """
    checks = run([])

    assert list(checks) == ALL_NAMES
    assert set(statuses(checks).values()) == {"pending"}
    assert all("no page" in c.detail.lower() for c in checks.values())
    assert overall(checks.values()) == "awaiting_documents"


def test_good_pages_pass_every_check() -> None:
    """GIVEN a clean, signed page from each party (the company's stamped), by post
    WHEN the checks are computed
    THEN every check passes, none is provisional, each names its page, and transfer is ready.
    """
    checks = run([page(CURRENT, scan="scan-a", index=0), page(NEW, scan="scan-a", index=1)])

    assert set(statuses(checks).values()) == {"passed"}
    assert not any(c.provisional for c in checks.values())
    assert "page 1 of scan scan-a" in checks["current_registrant.signature_present"].detail
    assert "page 2 of scan scan-a" in checks["new_registrant.signature_present"].detail
    assert overall(checks.values()) == "transfer_ready"


def test_one_party_missing_leaves_its_checks_pending() -> None:
    """GIVEN only the current registrant's page
    WHEN the checks are computed
    THEN its checks pass, the new registrant's are pending, and the case awaits documents.
    """
    checks = run([page(CURRENT)])

    assert {s for n, s in statuses(checks).items() if n.startswith(CURRENT)} == {"passed"}
    assert {s for n, s in statuses(checks).items() if n.startswith(NEW)} == {"pending"}
    assert overall(checks.values()) == "awaiting_documents"


@pytest.mark.parametrize(
    ("party", "flaw", "failed_check", "detail_says"),
    [
        (CURRENT, {"code_valid": False}, "page_received", "code could not be verified"),
        (NEW, {"code_valid": False}, "page_received", "back office may accept"),
        (
            CURRENT,
            {"fields_match": False, "mismatched": ("nip", "address.city")},
            "fields_match",
            "do not match the case: nip, address.city",
        ),
        (NEW, {"fields_match": False}, "fields_match", "do not match the case"),
        (CURRENT, {"signature": False}, "signature_present", "No signature"),
        (NEW, {"signature": False}, "signature_present", "No signature"),
        (CURRENT, {"stamp": False}, "stamp_present", "No company stamp"),
        (CURRENT, {"stamp": None}, "stamp_present", "No company stamp"),
        (
            NEW,
            {"unaltered": False, "altered": ("pesel",)},
            "unaltered",
            "Handwritten changes were found on page 1 of scan scan-a: pesel",
        ),
    ],
)
def test_each_flaw_fails_exactly_its_check(
    party: str, flaw: dict[str, Any], failed_check: str, detail_says: str
) -> None:
    """GIVEN good pages, except that one party's page has one flaw
    WHEN the checks are computed
    THEN exactly that check fails, saying what was seen, the rest of that page is still
    evaluated (and passes), and the case goes to review.
    """
    other = NEW if party == CURRENT else CURRENT
    checks = run([page(party, **flaw), page(other)])

    failed = {n for n, s in statuses(checks).items() if s == "failed"}
    assert failed == {f"{party}.{failed_check}"}
    assert detail_says in checks[f"{party}.{failed_check}"].detail
    assert {s for n, s in statuses(checks).items() if n not in failed} == {"passed"}
    assert overall(checks.values()) == "in_review"


def test_person_has_no_stamp_check_and_company_has_one() -> None:
    """GIVEN a person and a company as parties, in either role
    WHEN the checks are listed
    THEN only the company party has a stamp_present check.
    """
    assert "new_registrant.stamp_present" not in check_names(KINDS)
    assert "current_registrant.stamp_present" in check_names(KINDS)
    swapped: dict[Any, Any] = {"current_registrant": "person", "new_registrant": "company"}
    assert check_names(swapped) == [
        "current_registrant.page_received",
        "current_registrant.fields_match",
        "current_registrant.signature_present",
        "current_registrant.unaltered",
        "new_registrant.page_received",
        "new_registrant.fields_match",
        "new_registrant.signature_present",
        "new_registrant.stamp_present",
        "new_registrant.unaltered",
    ]
    pages = [page(CURRENT, stamp=None), page(NEW, stamp=True)]
    checks = run(pages, kinds=swapped)
    assert list(checks) == check_names(swapped)
    assert set(statuses(checks).values()) == {"passed"}


@pytest.mark.parametrize("half_forged_first", [True, False])
def test_two_half_good_pages_never_combine_into_a_pass(half_forged_first: bool) -> None:
    """GIVEN two pages of the same party: one signed with wrong values, one with the right
    values but unsigned (in either order of arrival)
    WHEN the checks are computed
    THEN they are judged on one page only, so one of signature or fields fails, never both
    pass, and the case goes to review.
    """
    signed_wrong = page(fields_match=False, mismatched=("name",), scan="scan-sig")
    unsigned_right = page(signature=False, scan="scan-fields")
    first, second = (
        (signed_wrong, unsigned_right)
        if half_forged_first
        else (
            unsigned_right,
            signed_wrong,
        )
    )
    first = replace(first, received_at=T0)
    second = replace(second, received_at=T0 + timedelta(hours=1))
    checks = run([first, second, page(NEW)])

    sig = checks["current_registrant.signature_present"].status
    fields = checks["current_registrant.fields_match"].status
    assert (sig, fields) in {("passed", "failed"), ("failed", "passed")}
    # The tie goes to the later page: its scan is the one named in every detail.
    assert all(second.scan_id in c.detail for n, c in checks.items() if n.startswith(CURRENT))
    assert overall(checks.values()) == "in_review"


def test_best_page_is_the_one_passing_most_checks_even_if_older() -> None:
    """GIVEN a good page, then a later page of the same party that fails two checks
    WHEN the checks are computed
    THEN the good page is the one judged, and everything passes.
    """
    good = page(scan="scan-good", at=T0)
    worse = page(scan="scan-worse", at=T0 + timedelta(days=1), signature=False, stamp=False)
    checks = run([worse, good, page(NEW)])

    assert set(statuses(checks).values()) == {"passed"}
    assert "scan-good" in checks["current_registrant.fields_match"].detail


def test_pages_of_an_older_form_version_do_not_count() -> None:
    """GIVEN perfect pages of form version 1, and a case reissued as version 2
    WHEN the checks are computed for version 2
    THEN the old pages are ignored: every check is pending; a version-2 page then counts.
    """
    stale = both_good(version=1)
    assert set(statuses(run(stale, version=2)).values()) == {"pending"}

    checks = run([*stale, page(CURRENT, version=2)], version=2)
    assert {s for n, s in statuses(checks).items() if n.startswith(CURRENT)} == {"passed"}
    assert {s for n, s in statuses(checks).items() if n.startswith(NEW)} == {"pending"}


def test_staff_accept_overrides_a_failed_check() -> None:
    """GIVEN a page routed by its printed case number (code unreadable), otherwise good
    WHEN staff accept page_received with a reason
    THEN the check is accepted with the reason shown, and the case is transfer ready.
    """
    pages = [page(code_valid=False), page(NEW)]
    assert run(pages)["current_registrant.page_received"].status == "failed"

    accept = decision("current_registrant.page_received", "accept", T0 + timedelta(hours=1))
    checks = run(pages, [accept])

    assert checks["current_registrant.page_received"].status == "accepted"
    assert "checked by phone" in checks["current_registrant.page_received"].detail
    assert overall(checks.values()) == "transfer_ready"


def test_staff_accept_can_cover_a_check_with_no_page() -> None:
    """GIVEN no page at all from the new registrant
    WHEN staff accept its signature check
    THEN that check is accepted, and the others stay pending.
    """
    accept = decision("new_registrant.signature_present", "accept", T0)
    checks = run([page(CURRENT)], [accept])

    assert checks["new_registrant.signature_present"].status == "accepted"
    assert checks["new_registrant.page_received"].status == "pending"


def test_staff_reject_fails_a_passing_check_with_its_reason() -> None:
    """GIVEN good pages
    WHEN staff reject the current registrant's signature as not matching the specimen
    THEN that check fails with the reason in its detail, and the case goes to review.
    """
    reject = decision(
        "current_registrant.signature_present",
        "reject",
        T0 + timedelta(hours=1),
        reason="signature differs from the specimen on file",
    )
    checks = run(both_good(), [reject])

    check = checks["current_registrant.signature_present"]
    assert check.status == "failed"
    assert "signature differs from the specimen on file" in check.detail
    assert overall(checks.values()) == "in_review"


def test_a_page_received_after_a_reject_is_judged_again() -> None:
    """GIVEN staff rejected the signature of a page
    WHEN the party sends a new, equally good page after the rejection
    THEN the new page is judged on its own and the check passes again.
    """
    reject_at = T0 + timedelta(hours=1)
    reject = decision("current_registrant.signature_present", "reject", reject_at)
    resent = page(scan="scan-resent", at=reject_at + timedelta(days=1))
    checks = run([*both_good(), resent], [reject])

    check = checks["current_registrant.signature_present"]
    assert check.status == "passed"
    assert "scan-resent" in check.detail
    assert overall(checks.values()) == "transfer_ready"


def test_a_page_received_before_a_reject_does_not_undo_it() -> None:
    """GIVEN two equally good pages, received before and at the moment staff rejected the
    signature
    WHEN the checks are computed
    THEN the rejection stands: staff could have seen both pages.
    """
    reject_at = T0 + timedelta(hours=2)
    reject = decision("current_registrant.signature_present", "reject", reject_at)
    for at in (T0 + timedelta(hours=1), reject_at):
        pages = [*both_good(), page(scan="scan-b", at=at)]
        assert run(pages, [reject])["current_registrant.signature_present"].status == "failed"


def test_a_worse_page_after_a_reject_does_not_undo_it() -> None:
    """GIVEN staff rejected the signature of a good page
    WHEN a later page arrives that fails more checks (so it is not the best page)
    THEN the rejected page is still the one judged, and the rejection stands.
    """
    reject = decision("current_registrant.signature_present", "reject", T0 + timedelta(hours=1))
    worse = page(scan="scan-worse", at=T0 + timedelta(days=1), fields_match=False)
    checks = run([*both_good(), worse], [reject])

    assert checks["current_registrant.signature_present"].status == "failed"
    assert checks["current_registrant.fields_match"].status == "passed"


def test_an_accept_stays_when_a_later_page_fails() -> None:
    """GIVEN staff accepted the stamp check
    WHEN a later page without a stamp becomes the best page (it passes as many checks)
    THEN the acceptance stays.
    """
    accept = decision("current_registrant.stamp_present", "accept", T0 + timedelta(hours=1))
    first = page(stamp=False, at=T0)
    later = page(stamp=False, scan="scan-later", at=T0 + timedelta(days=1))
    checks = run([first, later, page(NEW)], [accept])

    assert checks["current_registrant.stamp_present"].status == "accepted"


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        (["accept", "reject"], "failed"),
        (["reject", "accept"], "accepted"),
        (["accept", "reject", "accept"], "accepted"),
    ],
)
def test_the_latest_decision_wins(sequence: list[str], expected: str) -> None:
    """GIVEN several staff decisions on the same check, given in shuffled order
    WHEN the checks are computed
    THEN the decision made last wins.
    """
    name = "current_registrant.fields_match"
    made = [decision(name, v, T0 + timedelta(minutes=i + 1)) for i, v in enumerate(sequence)]
    checks = run(both_good(), list(reversed(made)))
    assert checks[name].status == expected


def test_decisions_on_checks_the_case_does_not_have_are_ignored() -> None:
    """GIVEN a decision on a stamp check of a person (who has none)
    WHEN the checks are computed
    THEN no such check appears and nothing else changes.
    """
    stray = decision("new_registrant.stamp_present", "reject", T0 + timedelta(hours=1))
    checks = run(both_good(), [stray])
    assert list(checks) == ALL_NAMES
    assert set(statuses(checks).values()) == {"passed"}


@pytest.mark.parametrize(
    ("channel", "require_original", "provisional"),
    [
        ("fax", True, True),
        ("email", True, True),
        ("post", True, False),
        ("upload", True, False),
        ("fax", False, False),
        ("email", False, False),
    ],
)
def test_copies_pass_provisionally_when_originals_are_required(
    channel: str, require_original: bool, provisional: bool
) -> None:
    """GIVEN good pages that came by one channel
    WHEN the checks are computed with or without requiring originals
    THEN a fax or e-mail copy passes provisionally (waiting for the post) only when originals
    are required, and only a case with no provisional check is transfer ready.
    """
    checks = run(both_good(channel=channel), require_original=require_original)

    assert set(statuses(checks).values()) == {"passed"}
    assert {c.provisional for c in checks.values()} == {provisional}
    if provisional:
        assert all("original by post is awaited" in c.detail for c in checks.values())
        assert overall(checks.values()) == "awaiting_documents"
    else:
        assert overall(checks.values()) == "transfer_ready"


def test_a_faxed_copy_after_the_original_does_not_make_it_provisional() -> None:
    """GIVEN originals by post, then the same pages again by fax a day later
    WHEN the checks are computed requiring originals
    THEN the originals are judged: nothing is provisional and the transfer is ready.
    """
    faxed = both_good(channel="fax", scan="scan-fax", at=T0 + timedelta(days=1))
    checks = run([*both_good(), *faxed], require_original=True)

    assert not any(c.provisional for c in checks.values())
    assert overall(checks.values()) == "transfer_ready"


def test_a_failed_check_on_a_fax_is_not_provisional() -> None:
    """GIVEN a faxed page without a signature, originals required
    WHEN the checks are computed
    THEN the signature check fails outright (not provisional) and the case goes to review.
    """
    checks = run([page(channel="fax", signature=False), page(NEW)], require_original=True)
    check = checks["current_registrant.signature_present"]
    assert (check.status, check.provisional) == ("failed", False)
    assert overall(checks.values()) == "in_review"


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], "awaiting_documents"),
        ([("passed", False), ("accepted", False)], "transfer_ready"),
        ([("passed", False), ("pending", False)], "awaiting_documents"),
        ([("passed", True), ("passed", False)], "awaiting_documents"),
        ([("passed", True), ("failed", False)], "in_review"),
        ([("pending", False), ("failed", False)], "in_review"),
        ([("accepted", False), ("failed", False)], "in_review"),
    ],
)
def test_overall_outcome(found: list[tuple[str, bool]], expected: str) -> None:
    """GIVEN a set of check statuses
    WHEN the overall outcome is taken
    THEN a failure means review, all passed and final means transfer ready, else documents
    are awaited (an empty list verifies nothing, so it is not transfer ready).
    """
    checks = [Check(f"c{i}", status, "", provisional=p) for i, (status, p) in enumerate(found)]  # type: ignore[arg-type]
    assert overall(checks) == expected


# --- pages that came in an e-mail -----------------------------------------------------------


def by_email(sender: EmailSender, **kw: Any) -> Evidence:
    return replace(page(CURRENT, channel="email", **kw), sender=sender)


FROM_PARTY = EmailSender(address="biuro@example.pl", authenticated=True, how="dmarc", is_party=True)


def test_a_page_emailed_by_its_party_verified_is_received() -> None:
    received = run([by_email(FROM_PARTY)])[f"{CURRENT}.page_received"]
    assert received.status == "passed"
    assert not received.provisional


def test_a_page_emailed_from_another_address_is_held_naming_it() -> None:
    other = replace(FROM_PARTY, address="biur0@example.pl", is_party=False)
    held = run([by_email(other)])[f"{CURRENT}.page_received"]
    assert held.status == "failed"
    assert "not this party's contact address (biur0@example.pl)" in held.detail
    # Only the page's arrival is in doubt: what was read from it is judged as ever.
    assert run([by_email(other)])[f"{CURRENT}.signature_present"].status == "passed"


def test_a_page_emailed_from_the_partys_address_unauthenticated_is_held_saying_why() -> None:
    forged = replace(FROM_PARTY, authenticated=False, how="no_results")
    held = run([by_email(forged)])[f"{CURRENT}.page_received"]
    assert held.status == "failed"
    assert "was not authenticated (the receiving mail host left no authentication" in held.detail


def test_a_held_emailed_page_loses_to_the_same_partys_posted_page() -> None:
    forged = replace(FROM_PARTY, authenticated=False, how="no_results")
    checks = run([by_email(forged, at=T0 + timedelta(hours=1)), page(CURRENT, scan="scan-b")])
    assert checks[f"{CURRENT}.page_received"].status == "passed"


def test_under_require_original_a_verified_emailed_page_stays_provisional() -> None:
    received = run([by_email(FROM_PARTY)], require_original=True)[f"{CURRENT}.page_received"]
    assert (received.status, received.provisional) == ("passed", True)
