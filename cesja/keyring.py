"""The keys that sign page codes, each with the id its codes print (`documents.page_code`).

The first key is current: a new form version is signed with it. The others are kept so that
forms printed before a rotation still verify while their cases are open; once no open case
uses one, `cesja keys retire` removes it, and a page signed with it is refused.

Where they come from, the first that is set:
- `CESJA_SECRET_KEYS`: `id:key,id:key,…`, the current first (every node of a deployment
  shares it); `cesja keys rotate` then prints the value to set instead of writing it;
- the key file `<data dir>/secret_keys`, one `id:key` a line, the current first, which
  `cesja keys rotate` and `retire` write;
- `CESJA_SECRET_KEY` alone: key 1, as before keys had ids;
- a key made once into `<data dir>/secret_key` for development: key 1.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cesja.errors import ConfigurationError
from documents.page_code import FIRST_KEY_ID, KEY_IDS

KEY_FILE = "secret_keys"
DEV_KEY_FILE = "secret_key"
MIN_KEY_CHARS = 32

Source = Literal["CESJA_SECRET_KEYS", "the key file", "CESJA_SECRET_KEY", "a development key file"]


@dataclass(frozen=True)
class KeyRing:
    """Page-code keys by id, the current one first."""

    keys: dict[str, bytes]
    source: Source

    @property
    def current_id(self) -> str:
        return next(iter(self.keys))


def parse(text: str, where: str) -> dict[str, bytes]:
    """`id:key` (or `id key`) items, separated by commas or lines, the current first."""
    keys: dict[str, bytes] = {}
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, key = item.replace(" ", ":", 1).partition(":")
        if not sep or len(key_id) != 1 or key_id not in KEY_IDS:
            raise ConfigurationError(
                f"{where}: each key is `id:key`, its id one character of {KEY_IDS}"
            )
        if key_id in keys:
            raise ConfigurationError(f"{where}: key {key_id} is given twice")
        if len(key.strip()) < MIN_KEY_CHARS:
            raise ConfigurationError(
                f"{where}: key {key_id} is shorter than {MIN_KEY_CHARS} characters"
            )
        keys[key_id] = key.strip().encode()
    if not keys:
        raise ConfigurationError(f"{where} holds no key")
    return keys


def load(data_dir: Path, secret_keys: str | None, secret_key: str | None) -> KeyRing:
    if secret_keys:
        return KeyRing(parse(secret_keys, "CESJA_SECRET_KEYS"), "CESJA_SECRET_KEYS")
    path = data_dir / KEY_FILE
    if path.exists():
        return KeyRing(parse(path.read_text(), str(path)), "the key file")
    if secret_key:
        return KeyRing({FIRST_KEY_ID: secret_key.encode()}, "CESJA_SECRET_KEY")
    return KeyRing({FIRST_KEY_ID: _dev_key(data_dir)}, "a development key file")


def _dev_key(data_dir: Path) -> bytes:
    """A key generated once into the data dir, for a service run without configuration."""
    return generated_key(data_dir / DEV_KEY_FILE)


def generated_key(path: Path) -> bytes:
    """The key in `path`, made there (readable by the owner only) the first time it is asked."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different secrets.
        try:
            with path.open("x") as f:
                path.chmod(0o600)
                f.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
    # Another process may have made the file a moment ago and be writing it still.
    for _ in range(100):
        if key := path.read_text().strip():
            return key.encode()
        time.sleep(0.01)
    raise ConfigurationError(f"{path} is empty: remove it, and a new key is made")


def rotated(ring: KeyRing) -> tuple[str, bytes]:
    """A new key and its id (the first id no key holds): what becomes current."""
    key_id = next((k for k in KEY_IDS if k not in ring.keys), None)
    if key_id is None:
        raise ConfigurationError(f"all {len(KEY_IDS)} key ids are held: retire one first")
    return key_id, secrets.token_urlsafe(48).encode()


def as_text(keys: dict[str, bytes], separator: str) -> str:
    return separator.join(f"{key_id}:{key.decode()}" for key_id, key in keys.items())


def write_key_file(data_dir: Path, keys: dict[str, bytes]) -> Path:
    """The key file, replaced whole (written beside it, flushed, then renamed over it)."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(as_text(keys, "\n") + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(staged, path)
    return path
