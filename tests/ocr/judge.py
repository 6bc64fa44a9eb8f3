"""Reading simulated pages as the service does, and judging the reading against the scenario.

A capture is written as the file a sender would send (fax as TIFF without resolution tags,
scans as JPEG/PNG or a scanned PDF), decoded by `ocr.iter_pages` and read by
`ocr.read_page`: every test and benchmark of the reader goes through the real file path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np

from documents import FormData
from documents.simulate import Capture, Scenario, make, to_jpeg, to_pdf, to_png, to_tiff
from ocr import PageReading, iter_pages, read_page
from workflow import Evidence
from workflow import failed_checks as workflow_failed_checks
from workflow.checks import PartyKind


def as_file(capture: Capture, folder: Path, name: str, rng: np.random.Generator) -> Path:
    """The capture as a sender would send it."""
    if capture.mode == "bilevel":
        data = to_tiff(
            [capture],
            compression="group4" if rng.random() < 0.5 else "group3",
            dpi=bool(rng.random() < 0.5),
        )
        path = folder / f"{name}.tiff"
    elif capture.x_dpi < 100:  # a phone photo
        data, path = to_jpeg(capture, 88), folder / f"{name}.jpg"
    else:
        kind = int(rng.integers(3))
        if kind == 0:
            data, path = to_pdf([capture], image_format="jpeg"), folder / f"{name}.pdf"
        elif kind == 1:
            data, path = to_png(capture), folder / f"{name}.png"
        else:
            data, path = to_jpeg(capture, 90), folder / f"{name}.jpg"
    path.write_bytes(data)
    return path


def read_file(path: Path, forms: list[FormData], key: bytes) -> list[PageReading]:
    by_id = {f.case_id: f for f in forms}
    return [read_page(page, key=key, lookup=by_id.get) for page in iter_pages(path, max_pages=10)]


def failed_checks(reading: PageReading, *forms: FormData) -> set[str]:
    """The checks of CONTRACT.md section 3 this one page fails for its party, as the service
    judges them (`workflow`); `forms` holds the form of the case it was routed to."""
    (form,) = [f for f in forms if f.case_id == reading.case_id]
    assert reading.party is not None
    page = Evidence.from_reading(reading, channel="post", received_at=datetime.now(UTC), scan_id="")
    # The form's kind is the case's, which the service's schema holds to one of the two.
    return workflow_failed_checks(page, cast(PartyKind, form.party(reading.party).kind))


@dataclass(frozen=True)
class Judged:
    scenario: str
    seed: int
    reading: PageReading
    problems: tuple[str, ...]  # how the reading differs from what the scenario expects
    review: bool  # a genuine page that would go to a person
    path: Path  # the file that was read

    @property
    def ok(self) -> bool:
        return not self.problems


def judge(scenario: Scenario, reading: PageReading, form: FormData, other: FormData) -> list[str]:
    """What is wrong with `reading` for `scenario`: a fraud let through, a page misrouted."""
    expect = scenario.expect
    problems = []
    if reading.outcome != expect["outcome"]:
        return [f"outcome {reading.outcome} ({reading.detail}), expected {expect['outcome']}"]
    if reading.outcome != "matched":
        return []
    want_case = other.case_id if expect.get("case") == "other" else form.case_id
    if reading.case_id != want_case or reading.party != scenario.party:
        problems.append(f"routed to {reading.case_id} {reading.party}")
    failed = failed_checks(reading, form, other)
    must = set(expect.get("failed_checks", ()))
    may = set(expect.get("may_fail", ()))
    for check in sorted(must - failed):
        problems.append(f"FRAUD PASSED: {check} should fail")
    if scenario.name.startswith("genuine"):
        # A forged page failing one more check than it must is still caught; a genuine
        # page failing any check goes to a person.
        for check in sorted(failed - must - may):
            problems.append(f"{check} failed: {describe(reading, check)}")
    return problems


def describe(reading: PageReading, check: str) -> str:
    if check == "fields_match":
        return "; ".join(
            f"{n}: {f.read!r} for {f.expected!r}"
            for n, f in reading.fields.items()
            if f.verdict == "mismatch"
        )
    if check == "signature_present" and reading.signature:
        return reading.signature.detail
    if check == "stamp_present" and reading.stamp:
        return reading.stamp.detail
    if check == "unaltered":
        return (
            ", ".join(f"{n} ({a.detail})" for n, a in reading.alterations.items() if a.present)
            or reading.detail
        )
    return reading.detail


def run(
    scenario: Scenario,
    seed: int,
    form: FormData,
    other: FormData,
    key: bytes,
    folder: Path,
) -> Judged:
    rng = np.random.default_rng(seed)
    capture = make(scenario, form, key, rng, other_form=other)
    path = as_file(capture, folder, f"{scenario.name}-{seed}", rng)
    readings = read_file(path, [form, other], key)
    assert len(readings) == 1
    reading = readings[0]
    problems = judge(scenario, reading, form, other)
    genuine = scenario.name.startswith("genuine")
    review = (
        genuine and bool(failed_checks(reading, form, other))
        if reading.outcome == "matched"
        else genuine
    )
    return Judged(scenario.name, seed, reading, tuple(problems), review, path)
