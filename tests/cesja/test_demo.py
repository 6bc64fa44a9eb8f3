"""`cesja demo`: the example case end to end, genuine and forged, as the operator sees it."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from cesja.cli import app as cli

CHECK_LINE = re.compile(r"^ {4}(pending|passed|failed|accepted) +(\S+) {2,}(.*)$")
STATE_LINE = re.compile(r"^ {2}state: (\S+) +transfer_allowed: (yes|no)$")

GENUINE_CHECKS = [
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
# What the forgery does: page 1 is stamped but not signed, page 2 has a value crossed out
# and another written by hand. Crossing out may also spoil the reading of that value.
FORGED = {"current_registrant.signature_present", "new_registrant.unaltered"}
MAY_ALSO_FAIL = {"new_registrant.fields_match"}


def _sections(output: str) -> dict[str, list[str]]:
    """The printed report by case, keyed by the first word of its title."""
    sections: dict[str, list[str]] = {}
    for block in output.split("\n\n")[1:]:
        lines = block.splitlines()
        sections[lines[0].split(":")[0]] = lines
    return sections


def _checks(lines: list[str]) -> dict[str, tuple[str, str]]:
    found = {}
    for line in lines:
        match = CHECK_LINE.match(line)
        if match:
            status, name, detail = match.groups()
            found[name] = (status, detail)
    return found


def _state(lines: list[str]) -> tuple[str, str]:
    states = [(m[1], m[2]) for m in map(STATE_LINE.match, lines) if m]
    assert len(states) == 1, lines
    return states[0]


def test_demo_passes_the_genuine_case_and_catches_the_forgery(
    data_dir: Path, tmp_path: Path
) -> None:
    """GIVEN no data dir of its own (--fresh) and a folder for the files
    WHEN the operator runs `cesja demo --fresh --fraud --seed 7 --out <folder>`
    THEN the form and the four scans are written there; the genuine case (page 1 signed,
    stamped and faxed, page 2 signed and posted) passes all nine checks and is
    transfer_ready with the transfer allowed; the forged case fails exactly the checks its
    forgery touches (the missing signature, the crossed-out value, perhaps that value's
    reading), is in_review, and the transfer is not allowed.
    """
    out = tmp_path / "out"

    result = CliRunner().invoke(
        cli, ["demo", "--fresh", "--fraud", "--seed", "7", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert len(PdfReader(out / "cesja-demo-form.pdf").pages) == 2
    for name in (
        "cesja-demo-page1-fax.tif",
        "cesja-demo-page2-post.pdf",
        "cesja-demo-forged-page1-fax.tif",
        "cesja-demo-forged-page2-post.pdf",
    ):
        assert (out / name).stat().st_size > 0, name
    assert not data_dir.exists(), "--fresh must leave the configured data dir alone"
    sections = _sections(result.stdout)

    genuine = _checks(sections["Genuine"])
    assert list(genuine) == GENUINE_CHECKS
    not_passed = {name: check for name, check in genuine.items() if check[0] != "passed"}
    assert not not_passed, f"the genuine case must pass every check: {not_passed}"
    assert "by fax" in genuine["current_registrant.page_received"][1]
    assert "by post" in genuine["new_registrant.page_received"][1]
    assert _state(sections["Genuine"]) == ("transfer_ready", "yes")

    forged = _checks(sections["Forged"])
    assert list(forged) == GENUINE_CHECKS
    failed = {name for name, (status, _) in forged.items() if status == "failed"}
    missed = sorted(FORGED - failed)
    assert not missed, f"the forgery must be caught: {missed} did not fail"
    unexpected = sorted(failed - FORGED - MAY_ALSO_FAIL)
    assert not unexpected, f"not forged, yet failed: {unexpected}"
    assert {status for status, _ in forged.values()} <= {"passed", "failed"}
    assert _state(sections["Forged"]) == ("in_review", "no")
