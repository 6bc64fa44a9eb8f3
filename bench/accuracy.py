"""Accuracy of the reader over the simulator's whole catalogue, genuine pages and frauds.

Every scenario is made for many seeds, written as the file a sender would send, read by
the service's reader, and judged against what the scenario expects (tests/ocr/judge.py).
Prints the table the README shows: per scenario, how many pages came out right; for genuine
pages, how many would go to a person; for frauds, how many were caught.

Targets (issue 3): every genuine page routed to its case; no fraud passing; at most 5 % of
genuine pages sent to review.
Run: `.venv/bin/python bench/accuracy.py [--seeds 20]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents.simulate import CATALOGUE, other_case
from tests.documents.conftest import SECRET_KEY, make_sample_form
from tests.ocr.judge import Judged, run

REVIEW_TARGET = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="pages per scenario")
    args = parser.parse_args()
    form = make_sample_form()
    other = other_case(form, np.random.default_rng(999))
    folder = Path(tempfile.mkdtemp(prefix="cesja-accuracy-"))
    started = time.perf_counter()
    results: dict[str, list[Judged]] = {}
    for scenario in CATALOGUE:
        results[scenario.name] = [
            run(scenario, seed, form, other, SECRET_KEY, folder) for seed in range(args.seeds)
        ]
    print(f"{'scenario':34s} {'as expected':>12s}  {'notes'}")
    genuine = misrouted = review = frauds = passed_frauds = 0
    for name, judged in results.items():
        ok = sum(j.ok for j in judged)
        note = ""
        if name.startswith("genuine"):
            genuine += len(judged)
            to_review = sum(j.review for j in judged)
            review += to_review
            wrong_route = sum(
                j.reading.outcome != "matched" or j.reading.case_id is None for j in judged
            )
            misrouted += wrong_route
            note = f"{to_review} to review" + (f", {wrong_route} NOT ROUTED" if wrong_route else "")
        elif name.startswith("fraud"):
            frauds += len(judged)
            slipped = sum(any("FRAUD PASSED" in p for p in j.problems) for j in judged)
            passed_frauds += slipped
            note = "all caught" if not slipped else f"{slipped} PASSED"
        print(f"{name:34s} {ok:>5d} / {len(judged):<4d}  {note}")
    rate = review / genuine
    print()
    print(f"genuine pages routed to their case: {genuine - misrouted}/{genuine}")
    print(f"frauds caught:                      {frauds - passed_frauds}/{frauds}")
    print(
        f"genuine pages sent to review:       {review}/{genuine} = {rate:.1%}"
        f"   target ≤ {REVIEW_TARGET:.0%}   {'OK' if rate <= REVIEW_TARGET else 'ABOVE TARGET'}"
    )
    print(f"({time.perf_counter() - started:.0f} s for {sum(map(len, results.values()))} pages)")
    ok = not misrouted and not passed_frauds and rate <= REVIEW_TARGET
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
