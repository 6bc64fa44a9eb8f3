"""Pages the parties send back for a real case of the service: its form printed by the scan
simulator, signed (and stamped), and sent as the files a scanner or fax gateway produces.

Captures here are clean (little noise, blur and skew; faxes without streaks or lost lines):
these tests prove intake and the flow, not how far the reader can be pushed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from cesja.casework.forms import issued_form
from cesja.db.models import CaseRow
from cesja.runtime import Runtime
from documents import FormData
from documents.layout import Party
from documents.page_code import Keys
from documents.simulate import Capture, Paper, fax, scan, sign, stamp, to_pdf
from documents.simulate.scenarios import printed
from tests.conftest import INTAKE


def form_of(runtime: Runtime, case_id: str) -> FormData:
    """The case's current form, exactly as the service prints and reads it."""
    with Session(runtime.engine) as session:
        return issued_form(session, session.get_one(CaseRow, case_id), runtime.settings)


def blank_form(form: FormData, party: Party, key: Keys) -> Paper:
    """`party`'s page of `form` as printed, before anyone writes on it."""
    return printed(form, party, key)


def signed_form(form: FormData, party: Party, key: Keys, rng: np.random.Generator) -> Paper:
    """`party`'s page of `form`, signed, and for a company stamped clear of the signature."""
    paper = printed(form, party, key)
    sign(paper, rng)
    signer = form.party(party)
    if signer.kind == "company":
        address = f"{signer.address.street}, {signer.address.postal_code} {signer.address.city}"
        stamp(paper, rng, signer.name, signer.nip or "", shape="round", address=address)
    return paper


def clean_scan(paper: Paper, rng: np.random.Generator, *, dpi: float = 300) -> Capture:
    """A careful office scan: grey, little noise and blur, half a degree of skew."""
    return scan(paper, rng, dpi=dpi, noise=3, blur=0.5, skew=0.5)


def clean_fax(paper: Paper, rng: np.random.Generator, *, fine: bool = True) -> Capture:
    """A fax on a good line: no streaks from dirty glass, no lines lost in transmission."""
    return fax(paper, rng, fine=fine, streaks=0, dropped_lines=0)


def signed_batch(runtime: Runtime, case_id: str, pages: int, seed: int) -> bytes:
    """A scanned PDF of `pages` signed pages of the case, both parties in turn, at 200 dpi."""
    form, key, rng = (
        form_of(runtime, case_id),
        runtime.settings.keys.keys,
        np.random.default_rng(seed),
    )
    parties: tuple[Party, Party] = ("current_registrant", "new_registrant")
    both = [clean_scan(signed_form(form, party, key, rng), rng, dpi=200) for party in parties]
    return to_pdf([both[i % 2] for i in range(pages)])


def upload(
    client: TestClient,
    data: bytes,
    *,
    name: str = "scan.pdf",
    channel: str = "post",
    headers: dict[str, str] = INTAKE,
    **form: Any,
) -> Response:
    """POST /api/v1/scans as a scanner station or fax gateway does."""
    return client.post(
        "/api/v1/scans",
        files={"file": (name, data)},
        data={"channel": channel, **form},
        headers=headers,
    )
