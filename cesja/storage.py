"""The scan store: received bytes by their sha256, written durably before any answer."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cesja.errors import BadInput

_SHA256 = re.compile(r"[0-9a-f]{64}")


class TooLarge(BadInput):
    code = "too_large"
    http_status = 413


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    path: Path


class ScanStore:
    """A directory of files named by their sha256 (one local disk, or a mount shared by workers).

    No part of a path ever comes from user input: only from the hash we computed.
    """

    def __init__(self, root: Path):
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_chunks(self, chunks: Iterable[bytes], *, max_bytes: int) -> Stored:
        """Stream chunks to disk: temp file, fsync, rename, fsync the directory.

        Over `max_bytes` stops reading at once and keeps nothing.
        """
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(
                            f"the file is larger than the limit of {max_bytes // (1024 * 1024)} MB"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_of(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            return Stored(sha256=sha, size=size, path=final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put(self, data: bytes, *, max_bytes: int) -> Stored:
        return self.put_chunks([data], max_bytes=max_bytes)

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()

    def healthy(self) -> bool:
        probe = self._tmp / ".health"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
            return True
        except OSError:
            return False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
