"""The service's own processes (`cesja serve`, `cesja worker`) in tests: starting them as an
operator does, finding their worker processes, waiting on them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

READY = re.compile(r"worker process \d+ ready")


def wait_until(what: Callable[[], Any], log: Path | None = None, timeout: float = 60.0) -> Any:
    """`what()` once it is true; on timeout, an AssertionError that shows the end of `log`
    (what the processes said)."""
    deadline = time.monotonic() + timeout
    while not (value := what()):
        if time.monotonic() > deadline:
            said = log.read_text()[-4000:] if log is not None and log.exists() else ""
            raise AssertionError(f"timed out; the processes' log:\n{said}")
        time.sleep(0.01)
    return value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready_workers(log: Path) -> int:
    """How many worker processes have said they are ready, in `log`, so far."""
    return len(READY.findall(log.read_text()))


def start(
    command: list[str],
    log: Path,
    workers: int = 2,
    env: dict[str, str] | None = None,
    api_processes: int = 1,
) -> subprocess.Popen[bytes]:
    """`cesja COMMAND` with `workers` worker processes, in a process group of its own (as a
    terminal or a service manager starts it), on the environment's data dir or `env`'s.
    `cesja serve` answers from one API process unless told more: its other API processes are
    spawned children too, which `worker_processes` would count."""
    environment = {
        **os.environ,
        **(env or {}),
        "CESJA_WORKERS": str(workers),
        "CESJA_API_PROCESSES": str(api_processes),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "cesja.cli", *command],
            env=environment,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def worker_processes(parent: int) -> set[int]:
    """The running worker processes `parent` started (multiprocessing's spawned children)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # ended while we looked
        if int(fields[1]) == parent and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.add(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def peak_memory_mb(pid: int) -> float:
    """The most memory process `pid` has held so far (its resident set's high-water mark)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")
