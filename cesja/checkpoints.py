"""The audit trail's anchor outside the database: signed checkpoint lines in the scan store.

Each line says that at a time a case's trail ended at event `seq` with hash `head`, and carries
an HMAC, under the audit key, of its content and of the line before: a line changed, removed
or inserted shows, and whoever can write the database but holds no key cannot make the
trail agree with the file again. Lines are appended by every process that writes events (after
each commit that added one, by a writer thread of the process, so that a request never waits
for the disk and heads committed at once share one fsync) and by the hourly `anchor_audit`
job; O_APPEND and an exclusive flock keep each line whole and each chained to the one truly
before it.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

log = logging.getLogger("cesja.audit")

# In the scan store, beside the scans (whose folders are two hex digits, so never `audit`).
CHECKPOINT_FILE = Path("audit") / "checkpoints.jsonl"
FIRST_LINE = "0" * 64
"""What the first line's MAC is chained to."""
# A line is about 250 bytes; the last whole one is found within this much of the file's end.
TAIL_BYTES = 8192
# A process's checkpoint writer with nothing to write ends after this long.
WRITER_IDLE_SECONDS = 30.0

_HEX64 = re.compile(r"[0-9a-f]{64}")
_CASE_ID = re.compile(r"[A-Z0-9-]{1,16}")


@dataclass(frozen=True)
class Checkpoint:
    """One line of the file: the head of one case's trail at a moment."""

    at: str
    case_id: str
    seq: int
    head: str
    mac: str
    line: int = 0  # its line number in the file, from 1

    def content(self) -> dict[str, Any]:
        return {"at": self.at, "case_id": self.case_id, "seq": self.seq, "head": self.head}

    def to_json(self) -> bytes:
        return json.dumps({**self.content(), "mac": self.mac}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, text: bytes, line: int) -> Checkpoint:
        value = json.loads(text)
        checkpoint = cls(
            at=str(value["at"]),
            case_id=str(value["case_id"]),
            seq=int(value["seq"]),
            head=str(value["head"]),
            mac=str(value["mac"]),
            line=line,
        )
        if not (
            _HEX64.fullmatch(checkpoint.head)
            and _HEX64.fullmatch(checkpoint.mac)
            and _CASE_ID.fullmatch(checkpoint.case_id)
            and checkpoint.seq >= 1
        ):
            raise ValueError("a field is not of its form")
        return checkpoint


@dataclass(frozen=True)
class CheckpointFile:
    """What the file holds: the lines whose MAC holds, and what is wrong with the others."""

    exists: bool
    checkpoints: list[Checkpoint]
    problems: list[str]

    def by_case(self) -> dict[str, list[Checkpoint]]:
        found: dict[str, list[Checkpoint]] = {}
        for checkpoint in self.checkpoints:
            found.setdefault(checkpoint.case_id, []).append(checkpoint)
        return found


class AuditSeal:
    """The audit key and the checkpoint file: what a process needs to chain events and to
    anchor their heads outside the database."""

    def __init__(self, key: bytes, store_root: Path):
        # One key, two uses kept apart: a MAC made for an event is never a valid line's.
        self.event_key = _subkey(key, b"cesja audit events")
        self._line_key = _subkey(key, b"cesja audit checkpoints")
        self.path = store_root / CHECKPOINT_FILE

    def anchor(self, heads: Iterable[tuple[str, int, str]], *, at: datetime) -> int:
        """Append a line for each (case id, seq, head hash) and fsync; the number appended."""
        heads = list(heads)
        if not heads:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # Held until the file is closed: nobody else's line comes between reading the last
            # line's MAC and appending the ones chained to it.
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            tail = os.pread(fd, min(size, TAIL_BYTES), max(size - TAIL_BYTES, 0))
            prev = _last_mac(tail)
            # A line left torn by a crash is closed first, so that ours stands on its own.
            out = b"\n" if tail and not tail.endswith(b"\n") else b""
            stamp = at.isoformat()
            for case_id, seq, head in heads:
                checkpoint = Checkpoint(stamp, case_id, seq, head, mac="")
                mac = self._line_mac(prev, checkpoint)
                out += Checkpoint(stamp, case_id, seq, head, mac).to_json() + b"\n"
                prev = mac
            view = memoryview(out)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if size == 0:
            _fsync_dir(self.path.parent)
        return len(heads)

    def anchor_soon(self, heads: Iterable[tuple[str, int, str]]) -> None:
        """Hand the heads to this process's writer of the file, which appends them at once
        (together with any others waiting) without the caller waiting for the disk."""
        _writer(self).put(list(heads))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until the heads handed to this process's writer are in the file."""
        writer = _WRITERS.get(self.path)
        if writer is not None:
            writer.flush(timeout)

    def read(self) -> CheckpointFile:
        """Every line, each MAC checked against the line before it."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return CheckpointFile(exists=False, checkpoints=[], problems=[])
        checkpoints: list[Checkpoint] = []
        problems: list[str] = []
        prev = FIRST_LINE
        for number, text in enumerate(raw.splitlines(), start=1):
            try:
                checkpoint = Checkpoint.from_json(text, number)
            except (ValueError, KeyError, TypeError):
                problems.append(f"checkpoint line {number} is not a checkpoint: it was damaged")
                continue
            if hmac.compare_digest(self._line_mac(prev, checkpoint), checkpoint.mac):
                checkpoints.append(checkpoint)
            else:
                problems.append(
                    f"checkpoint line {number} ({checkpoint.case_id}) does not verify: it was "
                    "changed, a line before it removed or inserted, or the audit key differs"
                )
            prev = checkpoint.mac
        return CheckpointFile(exists=True, checkpoints=checkpoints, problems=problems)

    def _line_mac(self, prev: str, checkpoint: Checkpoint) -> str:
        content = json.dumps(checkpoint.content(), sort_keys=True, separators=(",", ":"))
        message = prev.encode("ascii") + content.encode()
        return hmac.new(self._line_key, message, hashlib.sha256).hexdigest()


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose, hashlib.sha256).digest()


def _last_mac(tail: bytes) -> str:
    """The MAC of the last whole line in `tail`, or FIRST_LINE for an empty file."""
    for text in reversed(tail.splitlines()):
        try:
            mac = json.loads(text)["mac"]
        except (ValueError, KeyError, TypeError):
            continue  # a torn line: the one before it is the last whole one
        if isinstance(mac, str) and _HEX64.fullmatch(mac):
            return mac
    return FIRST_LINE


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# The seal each database engine's events are written under, set when a runtime opens it:
# events are appended deep inside transactions that hold only a session.
_SEALS: weakref.WeakKeyDictionary[Engine, AuditSeal] = weakref.WeakKeyDictionary()


def seal_engine(engine: Engine, seal: AuditSeal) -> None:
    _SEALS[engine] = seal


def seal_of(bind: Engine | Connection) -> AuditSeal:
    """The seal of the engine a session writes through."""
    engine = bind.engine if isinstance(bind, Connection) else bind
    seal = _SEALS.get(engine)
    if seal is None:
        raise RuntimeError(
            "no audit key for this database engine: open it through a Runtime, which sets one"
        )
    return seal


class _Writer:
    """The thread of one process that appends the heads handed to it to one checkpoint file.

    Heads waiting when it wakes are written with one fsync. Heads still waiting when the
    process dies are lost like those of a process that died just after its commit: the
    hourly `anchor_audit` job writes them.
    """

    def __init__(self, seal: AuditSeal):
        self._seal = seal
        self._changed = threading.Condition()
        self._waiting: list[tuple[str, int, str]] = []
        self._writing = False
        self._thread: threading.Thread | None = None

    def put(self, heads: list[tuple[str, int, str]]) -> None:
        with self._changed:
            self._waiting.extend(heads)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="cesja-audit-checkpoints", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._waiting and not self._writing, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: bool(self._waiting), WRITER_IDLE_SECONDS):
                    self._thread = None  # the next head starts another
                    return
                heads, self._waiting = self._waiting, []
                self._writing = True
            try:
                self._seal.anchor(heads, at=datetime.now(UTC))
            except OSError:
                # The transactions stand; the hourly job anchors these heads.
                log.exception("could not write the audit checkpoint of %d case(s)", len(heads))
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()


_WRITERS: dict[Path, _Writer] = {}
_WRITERS_LOCK = threading.Lock()


def _writer(seal: AuditSeal) -> _Writer:
    with _WRITERS_LOCK:
        writer = _WRITERS.get(seal.path)
        if writer is None:
            if not _WRITERS:
                # A process that ends normally writes what it was handed first.
                atexit.register(_flush_all)
            writer = _WRITERS[seal.path] = _Writer(seal)
        return writer


def _flush_all() -> None:
    for writer in list(_WRITERS.values()):
        writer.flush(timeout=5.0)
