"""Benchmark: forms rendered per second on one core, and the case-create endpoint's latency.

Each figure is printed next to a baseline measured in the same run on the same machine:
- forms: the same two pages of text in the same embedded fonts, without layout fitting,
  QR code or form fields (what any reportlab document costs), so the ratio is the price of
  everything the form adds;
- case create: `GET /healthz` through the same in-process app (the framework's own cost).

Targets (issue 2): at least 30 forms/s; case create under 20 ms median.
Run: `make bench` or `.venv/bin/python bench/forms.py [--seconds 5]`.
"""

from __future__ import annotations

import argparse
import copy
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reportlab.pdfgen.canvas import Canvas

from cesja.example import EXAMPLE_CASE
from documents import FormData, printed_values, render_form
from documents.fonts import register_fonts
from documents.render import PAGE_SIZE
from tests.documents.conftest import make_sample_form

FORMS_TARGET_PER_SECOND = 30.0
CREATE_TARGET_MS = 20.0


def _rate(work: Callable[[], object], seconds: float) -> float:
    work()  # warm up: fonts parsed, caches filled
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        work()
        done += 1
    return done / (time.perf_counter() - start)


def _plain_two_pages(form: FormData) -> bytes:
    """The baseline: the form's values as plain lines, same fonts, no layout work."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=PAGE_SIZE, invariant=True, pageCompression=1)
    lines = list(printed_values(form).values())
    for _ in range(2):
        canvas.setFont("DejaVuSans", 11)
        for i, line in enumerate(lines * 3):
            canvas.drawString(60, 800 - i * 12, line)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def bench_forms(seconds: float) -> bool:
    register_fonts()
    form = make_sample_form()
    key = b"benchmark-secret"
    ours = _rate(lambda: render_form(form, key), seconds)
    baseline = _rate(lambda: _plain_two_pages(form), seconds)
    ok = ours >= FORMS_TARGET_PER_SECOND
    target = FORMS_TARGET_PER_SECOND
    print(f"forms rendered (two pages, one core): {ours:7.1f} /s   target ≥ {target:.0f}")
    print(f"  baseline, plain two-page PDF:        {baseline:7.1f} /s   ({baseline / ours:.2f}×)")
    print(f"  {'OK' if ok else 'BELOW TARGET'}")
    return ok


def _latencies(call: Callable[[], object], n: int) -> list[float]:
    call()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def bench_case_create(n: int) -> bool:
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ["CESJA_DATA_DIR"] = data_dir
        os.environ["CESJA_WORKERS"] = "0"
        from fastapi.testclient import TestClient

        from cesja.app import create_app

        with TestClient(create_app()) as client:
            headers = {"Authorization": "Bearer dev-registrar"}
            body = copy.deepcopy(EXAMPLE_CASE)

            def create() -> None:
                response = client.post("/api/v1/cases", json=body, headers=headers)
                assert response.status_code == 201, response.text

            create_ms = _latencies(create, n)
            health_ms = _latencies(lambda: client.get("/healthz"), n)
    median, p95 = statistics.median(create_ms), statistics.quantiles(create_ms, n=20)[18]
    base = statistics.median(health_ms)
    ok = median < CREATE_TARGET_MS
    print(
        f"case create, in-process (SQLite):     median {median:5.1f} ms, p95 {p95:5.1f} ms"
        f"   target < {CREATE_TARGET_MS:.0f} ms"
    )
    print(f"  baseline, GET /healthz:              median {base:5.1f} ms   ({median / base:.1f}×)")
    print(f"  {'OK' if ok else 'ABOVE TARGET'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per rendering figure")
    parser.add_argument("--requests", type=int, default=200, help="case-create requests")
    args = parser.parse_args()
    ok = bench_forms(args.seconds)
    ok = bench_case_create(args.requests) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
