"""How a read-only SQLite store is opened: ``mode=ro``, and ``immutable=1`` only for a database
nobody writes whose directory this user cannot write (there ``mode=ro`` cannot create the
``-shm`` file a WAL database needs, and fails with "attempt to write a readonly database").

The tests run as root, for whom every directory is writable, so the directory's permission is
what ``os.access`` (not ours) is made to answer.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sei_bridge.store import Store
from sei_bridge.store.database import Access, sqlite_read_only_query
from tests.unit.store import builders as b


def _unwritable(directory: Path) -> Callable[..., bool]:
    real = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path).resolve() == directory.resolve():
            return False
        return real(path, mode, **kwargs)

    return access


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "copy.db"
    store = Store.from_url(f"sqlite:///{path}")
    try:
        store.migrate()
        b.planned_request(store)
    finally:
        store.close()  # the last connection checkpoints and removes -wal and -shm
    assert not list(tmp_path.glob("copy.db-*"))
    return path


def test_a_writable_directory_gets_plain_read_only_mode(database: Path) -> None:
    assert sqlite_read_only_query(database) == {"mode": "ro", "uri": "true"}


def test_a_copy_in_a_read_only_directory_is_read_as_immutable(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", _unwritable(database.parent))
    assert sqlite_read_only_query(database)["immutable"] == "1"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    store = Store.from_url(f"sqlite:///{database}", access=Access.READ_ONLY)
    try:
        assert store.schema_status().ok
        assert store.audit_verify().ok and store.status().actions
    finally:
        store.close()
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    assert not list(database.parent.glob("copy.db-*"))  # nothing created beside it


def test_a_database_with_a_live_writer_is_never_read_as_immutable(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Store.from_url(f"sqlite:///{database}", access=Access.READ_WRITE)
    try:
        writer.load_cursor()  # a connected writer keeps its -wal and -shm
        monkeypatch.setattr(os, "access", _unwritable(database.parent))
        assert "immutable" not in sqlite_read_only_query(database)
    finally:
        writer.close()
