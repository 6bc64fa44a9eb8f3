"""The scan store: bytes kept by their sha256, durably, never by a name from the sender."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cesja.storage import ScanStore, TooLarge


def test_same_bytes_are_stored_once_under_their_hash(tmp_path: Path) -> None:
    store = ScanStore(tmp_path)
    data = b"%PDF-1.7 a scan"
    first = store.put_chunks([data[:5], data[5:]], max_bytes=1024)
    second = store.put(data, max_bytes=1024)
    assert first.sha256 == second.sha256 == hashlib.sha256(data).hexdigest()
    assert store.read(first.sha256) == data
    assert first.path.is_relative_to(tmp_path)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    assert not list((tmp_path / "tmp").iterdir())


def test_over_the_limit_keeps_nothing(tmp_path: Path) -> None:
    store = ScanStore(tmp_path)
    with pytest.raises(TooLarge, match="larger than the limit"):
        store.put_chunks([b"x" * 600, b"x" * 600], max_bytes=1000)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_paths_come_only_from_hashes(tmp_path: Path) -> None:
    store = ScanStore(tmp_path)
    with pytest.raises(ValueError):
        store.path_of("../../etc/passwd")


def test_many_health_checks_at_once_all_find_the_store_writable(tmp_path: Path) -> None:
    """Load balancers ask /healthz from several places at once; none may see a false alarm."""
    store = ScanStore(tmp_path)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: store.healthy(), range(2000)))
    assert all(answers)
    assert not list((tmp_path / "tmp").iterdir())
