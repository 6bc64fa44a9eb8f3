"""The `cesja` command: serve, doctor, and the operator's tools."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cesja.config import Settings
from cesja.errors import CesjaError
from cesja.observe import logs

if TYPE_CHECKING:
    from sqlmodel import Session

    from cesja.keyring import KeyRing
    from cesja.runtime import Runtime

# How often `cesja worker` looks whether it was told to stop.
STOP_POLL_SECONDS = 0.2

app = typer.Typer(help="Cesja: the domain transfer paper process, verified.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings()
    except (CesjaError, ValueError) as err:
        typer.echo(f"configuration error: {err}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Run the HTTP service (CESJA_API_PROCESSES processes) and its background workers on the
    configured database."""
    import signal

    from cesja import serving
    from cesja.observe import metrics

    settings = _settings()
    _logging(settings)
    # Before anything is spawned: every process of this service counts into one directory.
    metrics.start_service(settings.data_dir)
    # uvicorn stops on SIGTERM or SIGINT, then raises the signal again, to these: a stop the
    # operator asked for is an ordinary exit (0), whichever signal asked for it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    serving.serve(settings, host, port)


@app.command()
def migrate() -> None:
    """Bring the database's schema to this version's (a deploy step; `serve` and `worker` do it
    too at start, one process at a time, so nodes starting together never race)."""
    from cesja.db import migrate as upgrade
    from cesja.db import schema_version

    settings = _settings()
    upgrade(settings.sqlalchemy_url)
    typer.echo(f"the database is at schema version {schema_version(settings.sqlalchemy_url)}")


@app.command()
def doctor() -> None:
    """Check every external dependency and say how to install what is missing."""
    from cesja.doctor import run_checks

    ok = True
    for result in run_checks(_settings()):
        mark = "ok " if result.ok else "MISSING"
        typer.echo(f"[{mark}] {result.name}: {result.detail}")
        ok = ok and result.ok
    raise typer.Exit(0 if ok else 1)


Channel = Annotated[str, typer.Option(help="post, fax, email or upload")]


@app.command()
def worker() -> None:
    """Run only the background workers (scale-out: several machines, one database)."""
    import signal
    import time

    from cesja import workers
    from cesja.observe import metrics
    from cesja.runtime import open_runtime

    settings = _settings()
    _logging(settings)
    metrics.start_service(settings.data_dir)
    # Migrated here, once: the worker processes open the database as it is. The parent keeps
    # its own connection to record the jobs it gives up for a worker over its budget.
    runtime = open_runtime(settings)
    processes = workers.start_processes(runtime, max(settings.workers, 1))
    told: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        # Only a note and a signal to the workers: the handler runs in this thread, which must
        # not be holding a lock it would need (an Event's, while waiting on it).
        processes.begin_stop()
        told.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not told:
        time.sleep(STOP_POLL_SECONDS)
    processes.stop()
    runtime.engine.dispose()


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    channel: Channel = "upload",
    wait: Annotated[bool, typer.Option(help="read the pages here before returning")] = True,
) -> None:
    """Take scan files as if uploaded, and (by default) read them at once."""
    from cesja import intake, workers
    from cesja.intake.hot_folder import file_chunks
    from cesja.runtime import open_runtime

    settings = _settings()
    _logging(settings)
    runtime = open_runtime(settings)
    failed = False
    scan_ids = []
    for path in files:
        try:
            received = intake.receive(runtime, file_chunks(path), channel=channel, sender=None)
        except CesjaError as err:
            typer.echo(f"{path}: refused: {err.message}", err=True)
            failed = True
            continue
        note = "" if received.new else " (already received)"
        typer.echo(f"{path}: scan {received.scan.id}{note}")
        scan_ids.append(received.scan.id)
    if wait:
        workers.drain(runtime)
        _print_pages(runtime, scan_ids)
    raise typer.Exit(1 if failed else 0)


def _print_pages(runtime: Runtime, scan_ids: list[str]) -> None:
    from sqlmodel import Session, col, select

    from cesja.db.models import PageRow

    with Session(runtime.engine) as session:
        pages = session.exec(
            select(PageRow)
            .where(col(PageRow.scan_id).in_(scan_ids))
            .order_by(col(PageRow.scan_id), col(PageRow.index))
        )
        for page in pages:
            routed = f" → {page.case_id} {page.party} v{page.form_version}" if page.case_id else ""
            typer.echo(f"  {page.scan_id} page {page.index + 1}: {page.outcome}{routed}")


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(file_okay=False)],
    channel: Channel = "post",
    interval: Annotated[float, typer.Option(help="seconds between looks")] = 1.0,
) -> None:
    """Watch a hot folder: take files once they stop growing, move them to done/ or failed/."""
    from cesja.intake.hot_folder import HotFolder
    from cesja.runtime import open_runtime

    settings = _settings()
    _logging(settings)
    folder.mkdir(parents=True, exist_ok=True)
    HotFolder(open_runtime(settings), folder, channel=channel).run(interval=interval)


@app.command()
def mail(
    once: Annotated[bool, typer.Option(help="take what is there now, then stop")] = False,
) -> None:
    """Take e-mail from the mailbox CESJA_IMAP_URL names: each message through the same intake
    as POST /api/v1/messages, then moved to Processed (or Refused)."""
    import signal
    import threading

    from cesja.intake import mailbox
    from cesja.runtime import open_runtime

    settings = _settings()
    _logging(settings)
    if not settings.imap_url:
        typer.echo("CESJA_IMAP_URL is not set: there is no mailbox to take e-mail from", err=True)
        raise typer.Exit(2)
    try:
        address = mailbox.ImapAddress.parse(settings.imap_url)
        tokens = mailbox.AccessTokens.from_settings(settings)
    except CesjaError as err:
        typer.echo(f"configuration error: {err.message}", err=True)
        raise typer.Exit(2) from None
    runtime = open_runtime(settings)
    try:
        if once:
            box = mailbox.Mailbox(address, tokens=tokens)
            try:
                took = mailbox.take_new(runtime, box)
            finally:
                box.close()
            typer.echo(
                f"{len(took.processed)} message(s) taken, {took.refused} refused, "
                f"{took.left} left for later"
            )
            raise typer.Exit(1 if took.left else 0)
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        mailbox.run(
            runtime,
            address,
            poll_seconds=settings.imap_poll_seconds,
            tokens=tokens,
            stop=stopping.is_set,
        )
    except CesjaError as err:
        typer.echo(f"cesja mail: {err.message}", err=True)
        raise typer.Exit(1) from None


@app.command()
def demo(
    fresh: Annotated[
        bool, typer.Option(help="use a new temporary data dir instead of the configured one")
    ] = False,
    out: Annotated[
        Path, typer.Option(file_okay=False, help="where the form and the simulated scans go")
    ] = Path("."),
    seed: Annotated[int, typer.Option(help="fixes every choice the scan simulator makes")] = 7,
    fraud: Annotated[bool, typer.Option(help="also send a forged variant")] = False,
) -> None:
    """The example case end to end: form out, pages signed and sent back, read, checked."""
    import tempfile

    from cesja import demo as run_demo
    from cesja.runtime import open_runtime

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings()
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if fresh:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cesja-demo-")))
            settings = Settings(data_dir=data_dir, database_url=None, scan_dir=None)
        runtime = open_runtime(settings)
        stack.callback(runtime.engine.dispose)
        typer.echo(f"Cesja demo, seed {seed}")
        typer.echo(run_demo.data_dir_line(settings, fresh=fresh))
        typer.echo(f"form: {out / run_demo.FORM_FILE}")
        runs = run_demo.run(runtime, seed=seed, out_dir=out, fraud=fraud)
        for case_run in runs:
            typer.echo("")
            for line in run_demo.report(case_run):
                typer.echo(line)


audit_app = typer.Typer(help="The audit trail.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(case: Annotated[str | None, typer.Option(help="only this case")] = None) -> None:
    """Recompute every case's chain under the audit key and hold it against the checkpoint
    file: name each case whose events were edited, reordered, deleted or that is missing."""
    from cesja.casework import audit_log
    from cesja.runtime import open_runtime

    runtime = open_runtime(_settings())
    try:
        found = audit_log.verify(runtime, case)
    finally:
        runtime.engine.dispose()
    for problem in found.file_problems:
        typer.echo(f"checkpoints: {problem}")
    for one in found.broken:
        for problem in one.problems:
            typer.echo(f"{one.case_id}: {problem}")
    waiting = [one.case_id for one in found.cases if not one.anchored and not one.problems]
    if waiting:
        typer.echo(
            f"{len(waiting)} case(s) not anchored yet (the hourly job anchors them, or "
            f"`cesja audit anchor`): {', '.join(waiting[:20])}"
        )
    summary = f"{len(found.cases)} case(s) checked, {len(found.broken)} broken"
    if found.file_problems:
        summary += f"; {len(found.file_problems)} problem(s) with the checkpoint file"
    typer.echo(summary)
    raise typer.Exit(1 if found.broken or found.file_problems else 0)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Write a checkpoint for every case whose head is not anchored yet (what the hourly job
    does; once after upgrading, for the trails written before checkpoints)."""
    from cesja.casework import audit_log
    from cesja.runtime import open_runtime

    runtime = open_runtime(_settings())
    try:
        anchored = audit_log.anchor_all(runtime)
    finally:
        runtime.engine.dispose()
    typer.echo(f"{anchored} case(s) anchored in {runtime.audit.path}")


@app.command()
def erase(
    case: Annotated[str, typer.Option(help="the case number, e.g. CS-XFYH-1X0X")],
    reason: Annotated[str, typer.Option(help="why: the request it answers, for the audit trail")],
) -> None:
    """Destroy what was received for an ended case now (a data subject's erasure request):
    its scan files, evidence images and the text read from its pages. Refused while the case
    is open; the case keeps its decisions and audit trail, which records the erasure."""
    from cesja.casework import retention
    from cesja.runtime import open_runtime

    reason = reason.strip()
    if not reason or len(reason) > 2000:
        typer.echo("give the reason (up to 2000 characters): the audit trail records it", err=True)
        raise typer.Exit(2)
    runtime = open_runtime(_settings())
    try:
        done = retention.destroy(runtime, case, actor="operator:cli", reason=f"erasure: {reason}")
    except CesjaError as refused:
        typer.echo(f"refused: {refused.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    if done is None:
        typer.echo(f"{case}: already destroyed before; nothing more to do")
        return
    typer.echo(
        f"{case}: destroyed {len(done.files)} scan file(s), {done.images} image(s) and the "
        f"text read from {done.pages} page(s); the audit trail records it"
    )


@app.command()
def export(
    case: Annotated[str, typer.Option(help="the case number, e.g. CS-XFYH-1X0X")],
    out: Annotated[
        Path | None, typer.Option(help="the archive to write (never over an existing file)")
    ] = None,
) -> None:
    """Write everything held about a case (data, audit trail, pages, files, images) as one ZIP
    archive, for a data subject's access request; the export is recorded in its trail."""
    from cesja.casework.export import export_case
    from cesja.runtime import open_runtime

    runtime = open_runtime(_settings())
    target = out or Path(f"cesja-export-{case}.zip")
    try:
        done = export_case(runtime, case, target, actor="operator:cli")
    except FileExistsError:
        typer.echo(f"refused: {target} exists already; name another file with --out", err=True)
        raise typer.Exit(1) from None
    except CesjaError as refused:
        typer.echo(f"refused: {refused.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        runtime.engine.dispose()
    typer.echo(
        f"{case}: written to {done.path} ({done.scans} scan file(s), {done.images} image(s))"
    )


keys_app = typer.Typer(help="The keys that sign the page codes printed on forms.")
app.add_typer(keys_app, name="keys")


@keys_app.command("list")
def keys_list() -> None:
    """Each key's id, whether it is current, and how many open cases' forms it signs."""
    from cesja.casework import cases

    settings = _settings()
    ring = _ring(settings)
    with _session() as session:
        using = cases.open_cases_by_key(session)
    typer.echo(f"keys from: {ring.source}")
    for key_id in ring.keys:
        current = "current" if key_id == ring.current_id else "kept"
        typer.echo(f"{key_id}\t{current}\t{using.get(key_id, 0)} open case(s)")
    for key_id in sorted(set(using) - set(ring.keys)):
        typer.echo(f"{key_id}\tREMOVED\t{using[key_id]} open case(s): reissue their forms")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """A new key becomes current: forms issued from now on are signed with it; the keys
    before it stay to read the forms already printed. Restart the service to use it."""
    from cesja import keyring

    settings = _settings()
    ring = _ring(settings)
    key_id, key = keyring.rotated(ring)
    keys = {key_id: key, **ring.keys}
    if ring.source in ("CESJA_SECRET_KEYS", "CESJA_SECRET_KEY"):
        typer.echo(
            "the keys come from the environment: set CESJA_SECRET_KEYS, on every node, to\n"
            f"{keyring.as_text(keys, ',')}\nand restart the service"
        )
        return
    path = keyring.write_key_file(settings.data_dir, keys)
    typer.echo(f"key {key_id} is now current ({path}); restart the service to use it")


@keys_app.command("retire")
def keys_retire(key_id: str) -> None:
    """Remove a key once no open case's form is signed with it: a page signed with it is
    then refused. The current key cannot be retired (rotate first)."""
    from cesja import keyring
    from cesja.casework import cases

    settings = _settings()
    ring = _ring(settings)
    if key_id not in ring.keys:
        typer.echo(f"refused: there is no key {key_id}", err=True)
        raise typer.Exit(1)
    if key_id == ring.current_id:
        typer.echo(f"refused: key {key_id} is current; rotate first", err=True)
        raise typer.Exit(1)
    with _session() as session:
        using = cases.open_cases_by_key(session).get(key_id, 0)
    if using:
        typer.echo(
            f"refused: {using} open case(s) still print their form under key {key_id}; it "
            "can go once they end (or their forms are reissued)",
            err=True,
        )
        raise typer.Exit(1)
    keys = {k: v for k, v in ring.keys.items() if k != key_id}
    if ring.source in ("CESJA_SECRET_KEYS", "CESJA_SECRET_KEY"):
        typer.echo(
            "the keys come from the environment: set CESJA_SECRET_KEYS, on every node, to\n"
            f"{keyring.as_text(keys, ',')}\nand restart the service"
        )
        return
    path = keyring.write_key_file(settings.data_dir, keys)
    typer.echo(f"key {key_id} removed ({path}); restart the service")


def _ring(settings: Settings) -> KeyRing:
    try:
        return settings.keys
    except CesjaError as err:
        typer.echo(f"configuration error: {err}", err=True)
        raise typer.Exit(2) from None


staff_app = typer.Typer(help="Staff accounts: people sign in to the back office as themselves.")
app.add_typer(staff_app, name="staff")


def _password(username: str, stdin: bool) -> str:
    """The new password: one line from standard input (`--password-stdin`, for a script), or
    typed twice at a prompt that does not show it; never an argument, which `ps` would show."""
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt(f"password for {username}", hide_input=True, confirmation_prompt=True))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


@staff_app.command("add")
def staff_add(
    username: Annotated[str, typer.Argument(help="lower-case letters, digits, . _ -")],
    name: Annotated[str, typer.Option(help="the person's name, as the audit trail shows it")],
    password_stdin: PasswordStdin = False,
) -> None:
    """A new account; the password is asked for (at least 12 characters)."""
    from cesja.casework import staff

    password = _password(username, password_stdin)
    with _session() as session:
        staff.add_staff(session, username, name, password)
        session.commit()
    typer.echo(f"account {username} ({name}) added: they sign in at /sign-in")


@staff_app.command("reset")
def staff_reset(username: str, password_stdin: PasswordStdin = False) -> None:
    """A new password for an account (and it is active again)."""
    from cesja.casework import staff

    password = _password(username, password_stdin)
    with _session() as session:
        staff.reset_password(session, username, password)
        session.commit()
    typer.echo(f"account {username}: new password set")


@staff_app.command("disable")
def staff_disable(username: str) -> None:
    """The account can no longer sign in; its open sessions end at their next request."""
    from cesja.casework import staff

    with _session() as session:
        staff.disable(session, username)
        session.commit()
    typer.echo(f"account {username} disabled")


@staff_app.command("list")
def staff_list() -> None:
    """Every account: username, name, active or not."""
    from cesja.casework import staff

    with _session() as session:
        for row in staff.accounts(session):
            typer.echo(f"{row.username}\t{row.name}\t{'active' if row.active else 'disabled'}")


@contextlib.contextmanager
def _session() -> Iterator[Session]:
    from sqlmodel import Session

    from cesja.runtime import open_runtime

    runtime = open_runtime(_settings())
    try:
        with Session(runtime.engine) as session:
            yield session
    finally:
        runtime.engine.dispose()


def _logging(settings: Settings) -> None:
    logs.setup(settings.log_format, level=logging.INFO)


def main() -> None:
    try:
        app()
    except CesjaError as err:
        typer.echo(f"error: {err.message}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
