"""Waiting on the service's own processes (`cesja serve`, `cesja worker`) in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


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
