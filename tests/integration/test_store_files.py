"""What the store and the work directory leave on disk is readable by their owner only: the
SQLite database and its -wal/-shm files (whole events, CPFs included) are 0600, the folders
attachments are downloaded to 0700, whatever the umask."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sei_bridge.engine.executors import private_folder
from sei_bridge.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The usual 022, under which files would be created 0644 and folders 0755."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_a_new_sqlite_store_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    store = Store.from_url(f"sqlite:///{database}")
    try:
        store.migrate()
        store.load_cursor()  # a connection holds the WAL open
        files = {p.name: _mode(p) for p in tmp_path.iterdir()}
        assert {"store.db", "store.db-wal", "store.db-shm"} <= set(files), files
        assert set(files.values()) == {0o600}, files
    finally:
        store.close()


def test_an_existing_store_readable_by_others_is_tightened_to_0600_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "old.db"
    database.touch()
    os.chmod(database, 0o644)
    # left behind by an older version, which created them under the umask
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"old.db{suffix}").touch()
        os.chmod(tmp_path / f"old.db{suffix}", 0o666)
    with caplog.at_level(logging.WARNING, logger="sei_bridge.store.database"):
        store = Store.from_url(f"sqlite:///{database}")
        try:
            store.migrate()
        finally:
            store.close()
    assert _mode(database) == 0o600
    # (SQLite removes the -wal/-shm files when the last connection closes)
    assert {_mode(p) for p in tmp_path.glob("old.db*")} == {0o600}
    messages = [r.getMessage() for r in caplog.records]
    assert any("old.db was readable by other users (mode 644)" in m for m in messages)
    assert any("changed it to 600" in m for m in messages)
    for suffix in ("-wal", "-shm"):
        assert any(f"old.db{suffix} was readable by other users (mode 666)" in m for m in messages)


def test_an_owner_only_store_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "own.db"
    database.touch()
    os.chmod(database, 0o400)
    with caplog.at_level(logging.WARNING, logger="sei_bridge.store.database"):
        Store.from_url(f"sqlite:///{database}").close()
    assert _mode(database) == 0o400 and not caplog.records


def test_the_work_directory_and_its_attachment_folder_are_0700(tmp_path: Path) -> None:
    work = tmp_path / "srv" / "work"
    anexos = private_folder(work / "anexos")
    assert anexos.is_dir()
    assert [_mode(d) for d in (tmp_path / "srv", work, anexos)] == [0o700] * 3


@pytest.mark.usefixtures("permissive_umask")
def test_an_existing_attachment_folder_is_tightened_and_its_parent_left_alone(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    (shared / "anexos").mkdir(parents=True)
    os.chmod(shared, 0o755)
    os.chmod(shared / "anexos", 0o755)
    private_folder(shared / "anexos")
    assert _mode(shared / "anexos") == 0o700
    assert _mode(shared) == 0o755
