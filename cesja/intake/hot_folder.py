"""A hot folder for a scanner or fax gateway: files are taken once they stop growing.

Taken files move to `done/` or to `failed/` with the reason beside them; nothing is deleted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cesja.errors import CesjaError
from cesja.intake import Received, receive
from cesja.runtime import Runtime
from cesja.storage import StoreFull

log = logging.getLogger("cesja.hot_folder")

CHUNK = 1024 * 1024


@dataclass
class _Seen:
    size: int
    mtime: float
    stable_polls: int = 0


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    return target


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


class HotFolder:
    """Watches one directory; `poll()` takes every file that has stopped growing."""

    def __init__(self, runtime: Runtime, folder: Path, *, channel: str, settle_polls: int = 2):
        self.runtime = runtime
        self.folder = folder
        self.channel = channel
        self.settle_polls = settle_polls
        self.done = folder / "done"
        self.failed = folder / "failed"
        self.done.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)
        self._seen: dict[Path, _Seen] = {}

    def poll(self) -> list[tuple[Path, Received | str]]:
        taken: list[tuple[Path, Received | str]] = []
        present = set()
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            present.add(path)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # renamed or removed by its writer since the folder was listed
            seen = self._seen.get(path)
            if seen is None or (seen.size, seen.mtime) != (stat.st_size, stat.st_mtime):
                self._seen[path] = _Seen(stat.st_size, stat.st_mtime)
                continue
            seen.stable_polls += 1
            if seen.stable_polls >= self.settle_polls:
                del self._seen[path]
                outcome = self._take(path)
                if outcome is not None:
                    taken.append((path, outcome))
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return taken

    def _take(self, path: Path) -> Received | str | None:
        """The scan, the reason it was refused, or None when it could not be taken now."""
        try:
            result = receive(self.runtime, file_chunks(path), channel=self.channel, sender=None)
        except StoreFull:
            # Not the file's fault: it stays, and is tried again once there is room.
            log.warning("%s could not be taken now: the scan store is full", path.name)
            return None
        except CesjaError as err:
            target = _free_name(self.failed, path.name)
            path.rename(target)
            target.with_name(target.name + ".reason.txt").write_text(
                f"{err.code}: {err.message}\n", encoding="utf-8"
            )
            log.warning("%s refused: %s", path.name, err.message)
            return err.message
        except Exception:
            # The store or the database failed, not the file: it stays, and is tried again
            # once it has been seen to stand still anew; watching goes on.
            log.exception("%s could not be taken now; it stays for the next try", path.name)
            return None
        path.rename(_free_name(self.done, path.name))
        log.info("%s taken as scan %s", path.name, result.scan.id)
        return result

    def run(self, *, interval: float = 1.0, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            self.poll()
            time.sleep(interval)
