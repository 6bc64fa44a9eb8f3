"""The scan store: received bytes by their sha256, written durably before any answer."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cesja.errors import BadInput, CesjaError

log = logging.getLogger("cesja.storage")

_SHA256 = re.compile(r"[0-9a-f]{64}")
# What a full disk says: no space left, or the store's user is over its quota.
_FULL = (errno.ENOSPC, errno.EDQUOT)


class TooLarge(BadInput):
    code = "too_large"
    http_status = 413


class StoreFull(CesjaError):
    code = "store_full"
    http_status = 507


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    path: Path


class Pending:
    """A received file not yet in the store: whole and synced at `path`, a temporary name, to
    be checked there and then kept (moved under its hash) or discarded (nothing left)."""

    def __init__(self, store: ScanStore, path: Path, sha256: str, size: int):
        self.path = path
        self.sha256 = sha256
        self.size = size
        self._store = store
        self._kept: Stored | None = None

    def keep(self) -> Stored:
        """Into the store under its hash: rename, then sync the directories that changed, so
        that it is on disk before anyone is told it was received. Bytes the store already
        holds are not written twice."""
        if self._kept is None:
            self._kept = self._store._keep(self)
        return self._kept

    def discard(self) -> None:
        if self._kept is None:
            self.path.unlink(missing_ok=True)


class ScanStore:
    """A directory of files named by their sha256 (one local disk, or a mount shared by workers).

    No part of a path ever comes from user input: only from the hash we computed. A file being
    received lives in `tmp/` until it is kept; a refused one leaves nothing behind.
    """

    def __init__(self, root: Path):
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    @contextlib.contextmanager
    def receiving(self, chunks: Iterable[bytes], *, max_bytes: int) -> Iterator[Pending]:
        """The chunks as a pending file, discarded on leaving unless `keep()` was called.

        Over `max_bytes` stops reading at once (TooLarge); a full disk is StoreFull. Either
        way, and whatever the caller raises, nothing of the file stays.
        """
        pending = self._write_pending(chunks, max_bytes)
        try:
            yield pending
        finally:
            pending.discard()

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int) -> Stored:
        """Store the chunks as they are, unchecked."""
        with self.receiving(chunks, max_bytes=max_bytes) as pending:
            return pending.keep()

    def put(self, data: bytes, *, max_bytes: int) -> Stored:
        return self.put_chunks([data], max_bytes=max_bytes)

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def destroy(self, sha256: str) -> bool:
        """Delete a stored file for good, the removal flushed to disk (retention, erasure);
        whether there was one to delete."""
        path = self.path_of(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def healthy(self) -> bool:
        # A probe file of its own per call: with one shared name, two health checks at once
        # could each remove the other's and one would report the store broken.
        try:
            with tempfile.NamedTemporaryFile(dir=self._tmp, prefix=".health-") as probe:
                probe.write(b"ok")
                probe.flush()
            return True
        except OSError:
            return False

    def _write_pending(self, chunks: Iterable[bytes], max_bytes: int) -> Pending:
        digest = hashlib.sha256()
        size = 0
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        tmp = Path(name)
        try:
            try:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"the file is larger than the limit of {max_bytes // (1024 * 1024)} MB"
                        )
                    digest.update(chunk)
                    _write_all(fd, chunk)
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException as err:
            tmp.unlink(missing_ok=True)
            _raise_if_full(err, self.root)
            raise
        return Pending(self, tmp, digest.hexdigest(), size)

    def _keep(self, pending: Pending) -> Stored:
        final = self.path_of(pending.sha256)
        made: list[Path] = []
        try:
            for folder in (final.parent.parent, final.parent):
                if not folder.is_dir():
                    folder.mkdir(exist_ok=True)
                    made.append(folder)
                    _fsync_dir(folder.parent)
            if final.exists():
                pending.path.unlink()
            else:
                os.replace(pending.path, final)
                _fsync_dir(final.parent)
        except BaseException as err:
            pending.path.unlink(missing_ok=True)
            for folder in reversed(made):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only while still empty: another upload may use it
            _raise_if_full(err, self.root)
            raise
        return Stored(sha256=pending.sha256, size=pending.size, path=final)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _raise_if_full(err: BaseException, root: Path) -> None:
    if isinstance(err, OSError) and err.errno in _FULL:
        log.error("scan store %s full (%s): scans are refused until there is room", root, err)
        raise StoreFull(
            "the scan store is full, so nothing of this file was kept; send it again later"
        ) from err


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
