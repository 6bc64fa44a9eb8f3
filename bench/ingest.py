"""Benchmark: scans read end to end through the service, against full-page OCR of the same pages.

A batch of simulated cases (both pages each, signed, the company's page stamped) comes back
as real files: half scanned at 300 dpi grey (scanned PDFs and grey multi-page TIFFs), half
faxed (G4 fine with resolution tags, G3 standard without). They go through the service's
own path on a temporary embedded data dir: intake (stored, scan and job in one transaction),
then the two worker processes `cesja serve` starts (`workers.start_processes(runtime, 2)`,
started and warm before the clock starts) until every scan is done.

Each figure is printed next to a baseline measured in the same run on the same files: what a
general pipeline does (OCRmyPDF-style) — decode the same pages, run tesseract on the whole
page at its resolution (tesserocr, automatic page segmentation, the same Polish model, one
handle per thread, two threads), then look for each expected value in the page's text. The
baseline is told which case each file belongs to, and a value counts as found when its
canonical form (`ocr.fields.canonical`, the same tolerance the reader compares with) appears
anywhere in the canonical form of the page's text.

Peak memory for a 100-page 300 dpi TIFF is measured in a fresh subprocess that streams it
through `iter_pages` + `read_page`, next to the same subprocess on a one-page file.

The same pages, all scanned at 300 dpi, then come once more as one 50-page scanned PDF (a post
room's stack): the pages of one file are jobs of their own, read by both worker processes.

Targets: at least 4 pages/s end to end; at least 5× the baseline's pages/s; field accuracy no
worse than the baseline's; peak memory under 500 MB for the 100-page TIFF; the 50-page PDF at
least 10 pages/s and 5× the baseline on the same file.
Run: `make bench` or `.venv/bin/python bench/ingest.py [--cases 25] [--seed 1] [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image
from sqlmodel import Session, col, func, select

from cesja import intake, workers
from cesja.casework import cases
from cesja.casework.forms import issued_form, issued_pdf
from cesja.casework.schemas import CaseCreate
from cesja.config import Settings
from cesja.db.models import CaseRow, PageRow, ScanRow
from cesja.example import EXAMPLE_CASE
from cesja.intake.hot_folder import file_chunks
from cesja.runtime import Runtime, open_runtime
from documents import FormData, printed_values
from documents.form_data import EMPTY
from documents.render import case_number_text
from documents.simulate import Capture, fax, print_page, scan, to_pdf, to_tiff
from documents.simulate.scenarios import fill_in
from ocr import iter_pages, limit_threads, read_page, read_page_image
from ocr._exec.tesseract import DEFAULT_TESSDATA, LANGUAGE
from ocr.fields import canonical, field_kind

PAGES_PER_SECOND_TARGET = 4.0
STACK_UPLOAD_MB = 200
ONE_FILE_PAGES_PER_SECOND_TARGET = 10.0
RATIO_TARGET = 5.0
MEMORY_TARGET_MB = 500.0
MEMORY_PAGES = 100
# On two cores: the service's worker processes, the baseline's threads (tesseract releases the
# interpreter's lock, so its threads use both cores as well).
WORKERS = 2
MAX_PAGES = 200


# --- the batch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFile:
    """One received file: both pages of one case, and what each page should say."""

    path: Path
    kind: str  # how it came: "scan-pdf", "scan-tiff", "fax-fine", "fax-standard"
    channel: str
    expected: tuple[dict[str, str], ...]  # per page: field name → printed value


def expected_fields(form: FormData, page: int) -> dict[str, str]:
    """Every value printed on `page` (1 or 2) that can be read: the empty ones ("—") left out,
    the case number in."""
    values = {name: text for name, text in printed_values(form).items() if text != EMPTY}
    values["case_number"] = case_number_text(form.case_id, form.form_version, page)
    return values


def make_batch(
    runtime: Runtime, count: int, seed: int, folder: Path
) -> tuple[list[BatchFile], list[Capture], BatchFile]:
    """`count` cases, each one file of its two signed pages; also the 300 dpi grey captures,
    for the memory run, and every page scanned at 300 dpi into one scanned PDF."""
    rng = np.random.default_rng(seed)
    settings = runtime.settings
    kinds = ("scan-pdf", "fax-fine", "scan-tiff", "fax-standard")
    files: list[BatchFile] = []
    grey: list[Capture] = []
    stack: list[Capture] = []
    stack_expected: list[dict[str, str]] = []
    for i in range(count):
        with Session(runtime.engine, expire_on_commit=False) as session:
            case = cases.create_case(
                session,
                CaseCreate.model_validate(EXAMPLE_CASE),
                actor="system:bench",
                settings=settings,
            )
            session.commit()
            form, pdf = issued_form(session, case, settings), issued_pdf(session, case, settings)
        papers = []
        for page, party in ((1, form.current_registrant), (2, form.new_registrant)):
            paper = print_page(pdf, page)
            fill_in(paper, rng, party)
            papers.append(paper)
        kind = kinds[i % len(kinds)]
        stack.extend(scan(p, rng, dpi=300) for p in papers)
        stack_expected.extend((expected_fields(form, 1), expected_fields(form, 2)))
        if kind.startswith("scan"):
            captures = [scan(p, rng, dpi=300) for p in papers]
            grey.extend(captures[: max(0, 4 - len(grey))])
            data = to_pdf(captures) if kind == "scan-pdf" else to_tiff(captures, "jpeg")
            channel = "post"
        else:
            fine = kind == "fax-fine"
            captures = [fax(p, rng, fine=fine) for p in papers]
            data = to_tiff(captures, "group4" if fine else "group3", dpi=fine)
            channel = "fax"
        path = folder / f"case{i:03d}-{kind}.{'pdf' if kind == 'scan-pdf' else 'tif'}"
        path.write_bytes(data)
        files.append(
            BatchFile(path, kind, channel, (expected_fields(form, 1), expected_fields(form, 2)))
        )
    one = folder / f"post-room-stack-{len(stack)}-pages.pdf"
    one.write_bytes(to_pdf(stack))
    return files, grey, BatchFile(one, "one-file-pdf", "post", tuple(stack_expected))


# --- ours: through the service ------------------------------------------------------------------


@dataclass
class Run:
    """What one pipeline did with the batch."""

    seconds: float = 0.0
    # Every thread of this process and of its worker processes: not slowed by other processes.
    cpu_seconds: float = 0.0
    pages: int = 0
    latency_ms: list[float] = field(default_factory=list)
    fields_total: int = 0
    fields_found: int = 0
    pages_all_found: int = 0
    unread: int = 0
    steps_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return self.cpu_seconds * 1000 / self.pages if self.pages else 0.0

    @property
    def field_accuracy(self) -> float:
        return self.fields_found / self.fields_total if self.fields_total else 0.0

    @property
    def page_accuracy(self) -> float:
        return self.pages_all_found / self.pages if self.pages else 0.0

    def count(self, expected: dict[str, str], found: Callable[[str], bool]) -> None:
        hits = sum(1 for name in expected if found(name))
        self.fields_total += len(expected)
        self.fields_found += hits
        self.pages_all_found += hits == len(expected)


def run_service(runtime: Runtime, files: list[BatchFile]) -> Run:
    """Intake every file as the API does, the two worker processes of `cesja serve` reading
    them, until all are done."""
    processes = workers.start_processes(runtime, WORKERS, periodic=False)
    try:
        if not processes.wait_ready(timeout=300):
            raise SystemExit("the worker processes did not start; see the log above")
        readers = processes.pids
        start = time.perf_counter()
        cpu_start = time.process_time() + processes_cpu_seconds(readers)
        scan_ids = {}
        for f in files:
            received = intake.receive(runtime, file_chunks(f.path), channel=f.channel, sender=None)
            scan_ids[received.scan.id] = f
        while _unfinished(runtime, list(scan_ids)):
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() + processes_cpu_seconds(readers) - cpu_start
        if processes.pids != readers:
            print("NOTE: a worker process was restarted; its CPU time is not counted")
    finally:
        processes.stop()
    run = Run(seconds=seconds, cpu_seconds=cpu_seconds)
    with Session(runtime.engine) as session:
        rows = session.exec(select(PageRow).where(col(PageRow.scan_id).in_(list(scan_ids)))).all()
        by_page = {(r.scan_id, r.index): r for r in rows}
        for scan_id, f in scan_ids.items():
            for index, expected in enumerate(f.expected):
                run.pages += 1
                row = by_page.get((scan_id, index))
                reading: dict[str, Any] = row.reading if row else {}
                # A page that was not read at all counts as every one of its fields missed.
                run.count(expected, partial(_matched, reading.get("fields") or {}))
                if row is None:
                    run.unread += 1
                    continue
                timings = reading.get("timings_ms") or {}
                total = sum(timings.values())
                run.latency_ms.append(total)
                run.by_kind[f.kind].append(total)
                for step, ms in timings.items():
                    run.steps_ms[step].append(ms)
    return run


def processes_cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) so far of these running processes, from /proc/<pid>/stat
    (`RUSAGE_CHILDREN` counts only children that have ended)."""
    total = 0
    for pid in pids:
        # The fields after the command name, which is in parentheses and may hold spaces:
        # utime and stime are the 14th and 15th of the line, counted in clock ticks.
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(after_name[11]) + int(after_name[12])
    return total / os.sysconf("SC_CLK_TCK")


def _matched(fields: dict[str, Any], name: str) -> bool:
    return bool(fields.get(name, {}).get("verdict") == "match")


def _unfinished(runtime: Runtime, scan_ids: list[str]) -> int:
    with Session(runtime.engine) as session:
        return session.exec(
            select(func.count())
            .select_from(ScanRow)
            .where(col(ScanRow.id).in_(scan_ids))
            .where(col(ScanRow.status).not_in(["done", "failed"]))
        ).one()


# --- the baseline: full-page OCR, then find each value in the text -----------------------------


def run_baseline(files: list[BatchFile], tessdata: Path) -> Run:
    """Two threads, each with its own tesseract handle, each taking the next page (so the
    pages of one file are read on both cores, as ours are)."""
    run = Run()
    lock = threading.Lock()
    todo: queue.Queue[tuple[BatchFile, int]] = queue.Queue()
    for f in files:
        for index in range(len(f.expected)):
            todo.put((f, index))

    def work() -> None:
        import tesserocr

        with tesserocr.PyTessBaseAPI(
            path=str(tessdata), lang=LANGUAGE, psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
        ) as api:
            while True:
                try:
                    f, index = todo.get_nowait()
                except queue.Empty:
                    return
                page, expected = (
                    read_page_image(f.path, index, max_pages=MAX_PAGES),
                    f.expected[index],
                )
                started = time.perf_counter()
                api.SetImage(Image.fromarray(page.gray))
                api.SetSourceResolution(round(page.dpi))
                text = api.GetUTF8Text()
                found = {name: found_in_text(name, value, text) for name, value in expected.items()}
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    run.pages += 1
                    run.count(expected, found.__getitem__)
                    run.latency_ms.append(ms)
                    run.by_kind[f.kind].append(ms)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    start, cpu_start = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - start
    run.cpu_seconds = time.process_time() - cpu_start
    return run


def found_in_text(name: str, value: str, text: str) -> bool:
    """A fair matcher: the value's canonical form anywhere in the page text's canonical form
    (an e-mail address also with its `@` read as one to three other characters, as the reader
    allows)."""
    kind = field_kind(name)
    if kind == "case_number":
        return canonical(kind, value) in {canonical(kind, line) for line in text.splitlines()}
    want, page = canonical(kind, value), canonical(kind, text)
    if not want:
        return False
    if want in page:
        return True
    if kind == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        head, tail = canonical(kind, local), canonical(kind, domain)
        return re.search(re.escape(head) + ".{1,3}" + re.escape(tail), page) is not None
    return False


# --- decoding alone, for the breakdown ----------------------------------------------------------


def decode_ms(files: list[BatchFile]) -> list[float]:
    times = []
    for f in files:
        pages = iter_pages(f.path, max_pages=MAX_PAGES)
        while True:
            started = time.perf_counter()
            page = next(pages, None)
            if page is None:
                break
            times.append((time.perf_counter() - started) * 1000)
    return times


# --- memory: a 100-page TIFF streamed in a process of its own ------------------------------------


def memory_probe(path: Path, data_dir: Path) -> None:
    """Run in a subprocess: read every page of `path` as a worker would; print figures as JSON."""
    settings = Settings(data_dir=data_dir, database_url=None, scan_dir=None)
    runtime = open_runtime(settings, run_migrations=False)

    def lookup(case_id: str) -> FormData | None:
        with Session(runtime.engine) as session:
            case = session.get(CaseRow, case_id)
            return issued_form(session, case, settings) if case else None

    limit_threads()
    started = time.perf_counter()
    pages = matched = 0
    for page in iter_pages(path, max_pages=MAX_PAGES):
        reading = read_page(page, key=settings.keys.keys, lookup=lookup, tessdata=settings.tessdata)
        pages += 1
        matched += reading.outcome == "matched"
    rss_mb = own_peak_rss_mb()
    seconds = time.perf_counter() - started
    print(json.dumps({"pages": pages, "matched": matched, "rss_mb": rss_mb, "seconds": seconds}))


def own_peak_rss_mb() -> float:
    """This process's peak resident memory, MB.

    Linux keeps `ru_maxrss` across fork and exec, so a subprocess started by this (large)
    benchmark would report the benchmark's own peak; the kernel's high-water mark of the
    process's own memory (`VmHWM`) starts afresh at exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
        if found:
            return int(found.group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_memory(grey: list[Capture], pages: int, data_dir: Path, folder: Path) -> dict[str, Any]:
    many, one = folder / f"batch-{pages}-pages.tif", folder / "batch-1-page.tif"
    many.write_bytes(to_tiff([grey[i % len(grey)] for i in range(pages)], "jpeg"))
    one.write_bytes(to_tiff(grey[:1], "jpeg"))
    figures = {}
    for label, path in (("many", many), ("one", one)):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-probe", str(path), "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        figures[label] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["file_mb"] = many.stat().st_size / 1e6
    return figures


# --- report -------------------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20)[18]


def _mark(ok: bool) -> str:
    return "OK" if ok else "BELOW TARGET"


def report_one_file(ours: Run, baseline: Run) -> bool:
    """The 50-page scanned PDF: one file, its pages read on both cores."""
    ratio = ours.pages_per_second / baseline.pages_per_second if baseline.pages else 0.0
    rate_ok = ours.pages_per_second >= ONE_FILE_PAGES_PER_SECOND_TARGET
    ratio_ok = ratio >= RATIO_TARGET
    print(
        f"one {ours.pages}-page scanned PDF, end to end: {ours.pages_per_second:5.2f} pages/s "
        f"({ours.seconds:.1f} s)   target ≥ {ONE_FILE_PAGES_PER_SECOND_TARGET:.0f}"
        f"   {_mark(rate_ok)}"
    )
    print(
        f"  baseline, full-page OCR + search:    {baseline.pages_per_second:5.2f} pages/s "
        f"({baseline.seconds:.1f} s); ratio {ratio:4.1f}×   target ≥ {RATIO_TARGET:.0f}×"
        f"   {_mark(ratio_ok)}"
    )
    print(
        f"  CPU per page (every process and thread): ours {ours.cpu_ms_per_page:4.0f} ms, "
        f"baseline {baseline.cpu_ms_per_page:4.0f} ms"
    )
    print(
        f"  field accuracy: ours {ours.field_accuracy:6.1%}, "
        f"baseline {baseline.field_accuracy:6.1%}"
    )
    if ours.unread:
        print(f"NOTE: {ours.unread} page(s) of the one file were not read; see the log")
    return rate_ok and ratio_ok


def report(
    ours: Run,
    baseline: Run,
    decoding: list[float],
    memory: dict[str, Any],
    files: list[BatchFile],
) -> bool:
    kinds = sorted({f.kind for f in files})
    count_by_kind = {k: 2 * sum(1 for f in files if f.kind == k) for k in kinds}
    print(
        f"batch: {len(files)} files, {ours.pages} pages "
        f"({', '.join(f'{count_by_kind[k]} {k}' for k in kinds)}); {WORKERS} workers each"
    )
    ratio = ours.pages_per_second / baseline.pages_per_second if baseline.pages else 0.0
    rate_ok = ours.pages_per_second >= PAGES_PER_SECOND_TARGET
    ratio_ok = ratio >= RATIO_TARGET
    accuracy_ok = ours.field_accuracy >= baseline.field_accuracy
    if ours.unread:
        print(f"NOTE: {ours.unread} page(s) were not read (their scan's job failed); see the log")
    print(
        f"end to end (intake → jobs → {WORKERS} worker processes): "
        f"{ours.pages_per_second:5.2f} pages/s "
        f"({ours.pages} pages in {ours.seconds:.1f} s)   target ≥ {PAGES_PER_SECOND_TARGET:.0f}"
        f"   {_mark(rate_ok)}"
    )
    print(
        f"  baseline, full-page OCR + search:    {baseline.pages_per_second:5.2f} pages/s "
        f"({baseline.pages} pages in {baseline.seconds:.1f} s)"
    )
    print(
        f"  ratio ours / baseline:               {ratio:5.1f}×   target ≥ {RATIO_TARGET:.0f}×"
        f"   {_mark(ratio_ok)}"
    )
    cpu_ratio = baseline.cpu_ms_per_page / ours.cpu_ms_per_page if ours.cpu_seconds else 0.0
    print(
        f"  CPU per page (every process and thread): ours {ours.cpu_ms_per_page:4.0f} ms, "
        f"baseline {baseline.cpu_ms_per_page:4.0f} ms ({cpu_ratio:.1f}×; load from other "
        "processes on the machine slows wall-clock figures, not these)"
    )
    median, p95 = statistics.median(ours.latency_ms), _p95(ours.latency_ms)
    print(f"latency per page (read_page, timings_ms): median {median:4.0f} ms, p95 {p95:4.0f} ms")
    median, p95 = statistics.median(baseline.latency_ms), _p95(baseline.latency_ms)
    print(f"  baseline (OCR + search per page):        median {median:4.0f} ms, p95 {p95:4.0f} ms")
    for kind in kinds:
        mine, theirs = ours.by_kind[kind], baseline.by_kind[kind]
        print(
            f"  {kind:<13} median ours {statistics.median(mine):4.0f} ms, "
            f"baseline {statistics.median(theirs):4.0f} ms"
        )
    print(
        f"field accuracy (genuine fields read as match): {ours.field_accuracy:6.1%} "
        f"of {ours.fields_total}; pages with every field: {ours.page_accuracy:6.1%}"
    )
    print(
        f"  baseline (value found in page text):         {baseline.field_accuracy:6.1%} "
        f"of {baseline.fields_total}; pages with every field: {baseline.page_accuracy:6.1%}"
        f"   {_mark(accuracy_ok)} (ours no worse)"
    )
    print("where a page's time goes (ours, median / mean ms):")
    for step, values in ours.steps_ms.items():
        print(f"  {step:<9} {statistics.median(values):6.1f} / {statistics.fmean(values):6.1f}")
    print(
        f"  decode    {statistics.median(decoding):6.1f} / {statistics.fmean(decoding):6.1f}"
        "   (iter_pages, measured apart, one thread)"
    )
    read_mean = statistics.fmean(ours.latency_ms) + statistics.fmean(decoding)
    rest = WORKERS * ours.seconds / ours.pages * 1000 - read_mean
    print(
        f"  the rest  {rest:6.1f} per page   (intake, storing readings and evidence, job claims,"
        " waiting on the disk)"
    )
    many, one = memory["many"], memory["one"]
    memory_ok = many["rss_mb"] < MEMORY_TARGET_MB
    print(
        f"peak RSS, {many['pages']}-page 300 dpi TIFF ({memory['file_mb']:.0f} MB) streamed "
        f"through iter_pages + read_page: {many['rss_mb']:5.0f} MB"
        f"   target < {MEMORY_TARGET_MB:.0f} MB   {_mark(memory_ok)}"
    )
    rate = many["pages"] / many["seconds"]
    print(
        f"  baseline, the same process on a 1-page file: {one['rss_mb']:5.0f} MB "
        f"({many['matched']}/{many['pages']} pages matched, {rate:.1f} pages/s on one thread)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  this process (simulator, service, baseline together): {rss:.0f} MB")
    return rate_ok and ratio_ok and accuracy_ok and memory_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=25, help="cases in the batch (2 pages each)")
    parser.add_argument("--seed", type=int, default=1, help="the simulator's seed")
    parser.add_argument("--quick", action="store_true", help="a small batch, for a smoke run")
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe, args.data_dir)
        return
    count = 4 if args.quick else args.cases
    memory_pages = 10 if args.quick else MEMORY_PAGES
    with tempfile.TemporaryDirectory(prefix="cesja-bench-") as tmp:
        data_dir, folder = Path(tmp) / "var", Path(tmp) / "files"
        folder.mkdir()
        # A post room's 50 pages scanned at 300 dpi grey are a file of about 75 MB: a service
        # that takes such stacks is configured for them (CESJA_MAX_UPLOAD_MB).
        settings = Settings(
            data_dir=data_dir, database_url=None, scan_dir=None, max_upload_mb=STACK_UPLOAD_MB
        )
        runtime = open_runtime(settings)
        print(f"simulating {count} cases (seed {args.seed})…", flush=True)
        files, grey, one_file = make_batch(runtime, count, args.seed, folder)
        tessdata = settings.tessdata or DEFAULT_TESSDATA
        print("reading them through the service…", flush=True)
        ours = run_service(runtime, files)
        print("reading them with full-page OCR…", flush=True)
        baseline = run_baseline(files, tessdata)
        print(
            f"reading {one_file.path.name} ({one_file.path.stat().st_size / 2**20:.0f} MB), "
            "through the service and by full-page OCR…",
            flush=True,
        )
        ours_one = run_service(runtime, [one_file])
        baseline_one = run_baseline([one_file], tessdata)
        decoding = decode_ms(files)
        print(f"streaming a {memory_pages}-page TIFF in a subprocess…", flush=True)
        memory = measure_memory(grey, memory_pages, data_dir, folder)
        runtime.engine.dispose()
        print()
        ok = report(ours, baseline, decoding, memory, files)
        ok = report_one_file(ours_one, baseline_one) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
