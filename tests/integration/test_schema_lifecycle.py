"""The schema's lifecycle on real SQLite and PostgreSQL: each state told apart, nothing but
``migrate`` changing the schema, a mistyped SQLite path never created, read-only stores that
cannot write (refused in Python, and by SQLite / the PostgreSQL server underneath), and
migrations serialised on PostgreSQL's advisory lock."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from sei_bridge import app, config, errors
from sei_bridge.store import Store, locking
from sei_bridge.store.database import Access
from sei_bridge.store.lifecycle import SchemaState, head_revisions
from tests.unit.store import builders as b


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    url = request.getfixturevalue(name)
    assert isinstance(url, str)
    return url


def _settings(url: str) -> config.Settings:
    return config.load_settings(environ={}, overrides={"database_url": url})


def _state(url: str) -> SchemaState:
    return app.schema_status(_settings(url)).state


def _execute(url: str, *statements: str) -> None:
    store = Store.from_url(url, pool_size=1)
    try:
        with store.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        store.close()


def _refusal(url: str, *, read_only: bool) -> errors.SchemaError:
    with pytest.raises(errors.SchemaError) as caught:
        app.open_store(_settings(url), read_only=read_only)
    assert "\n" not in str(caught.value)
    return caught.value


def test_each_schema_state_is_told_apart_and_refused_by_the_other_commands(
    empty_url: str,
) -> None:
    if empty_url.startswith("sqlite:///"):
        Path(empty_url.removeprefix("sqlite:///")).touch(0o600)  # an empty file
    assert _state(empty_url) is SchemaState.EMPTY
    assert "run `sei-bridge migrate`" in str(_refusal(empty_url, read_only=False))

    store = Store.from_url(empty_url, pool_size=1)
    try:
        before, after = store.migrate(to="0001")
    finally:
        store.close()
    assert (before.state, after.state) == (SchemaState.EMPTY, SchemaState.OLDER)
    assert _state(empty_url) is SchemaState.OLDER
    older = str(_refusal(empty_url, read_only=True))
    assert "revision 0001, older than" in older and "run `sei-bridge migrate`" in older
    assert _state(empty_url) is SchemaState.OLDER  # refusing did not migrate

    store = Store.from_url(empty_url, pool_size=1)
    try:
        before, after = store.migrate()
        assert (before.state, after.state) == (SchemaState.OLDER, SchemaState.CURRENT)
        assert store.migrate()[0].state is SchemaState.CURRENT  # idempotent
    finally:
        store.close()
    app.open_store(_settings(empty_url), read_only=True).close()
    app.open_store(_settings(empty_url)).close()

    _execute(empty_url, "UPDATE alembic_version SET version_num = '9999'")
    assert _state(empty_url) is SchemaState.NEWER
    newer = str(_refusal(empty_url, read_only=False))
    assert "revision 9999" in newer and "upgrade sei-bridge" in newer
    store = Store.from_url(empty_url, pool_size=1)
    try:
        _, after = store.migrate()  # a newer schema is never touched
    finally:
        store.close()
    assert after.state is SchemaState.NEWER

    _execute(empty_url, "DROP TABLE alembic_version")
    assert _state(empty_url) is SchemaState.UNVERSIONED
    assert "not a sei-bridge database" in str(_refusal(empty_url, read_only=True))


@pytest.mark.parametrize("access", [Access.READ_WRITE, Access.READ_ONLY])
def test_a_mistyped_sqlite_path_is_missing_and_never_created(
    tmp_path: Path, access: Access
) -> None:
    path = tmp_path / "stroe.db"  # store.db mistyped
    url = f"sqlite:///{path}"
    assert _state(url) is SchemaState.MISSING
    refusal = str(_refusal(url, read_only=access is Access.READ_ONLY))
    assert "does not exist" in refusal and "SEI_BRIDGE_DATABASE_URL" in refusal
    store = Store.from_url(url, access=access)
    try:
        with pytest.raises(errors.StoreError, match="unable to open database file"):
            store.status()  # even a query that reaches SQLite does not create it
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_postgresql_schema_is_missing(postgres_url: str) -> None:
    url = make_url(postgres_url).update_query_dict(
        {"options": f"-csearch_path=sb_absent_{uuid.uuid4().hex[:8]}"}
    )
    text = url.render_as_string(hide_password=False)
    assert _state(text) is SchemaState.MISSING
    assert "create the schema" in str(_refusal(text, read_only=False))
    store = Store.from_url(text, pool_size=1)
    try:
        assert store.migrate()[1].state is SchemaState.MISSING  # nothing created elsewhere
    finally:
        store.close()


def _populated(url: str) -> None:
    store = Store.from_url(url, pool_size=1)
    try:
        store.migrate()
        b.planned_request(store, "P1")
        b.planned_request(store, "P2", sequencia=2)
    finally:
        store.close()


def test_a_read_only_store_cannot_write_even_past_the_store_api(empty_url: str) -> None:
    _populated(empty_url)
    store = Store.from_url(empty_url, pool_size=1, access=Access.READ_ONLY)
    try:
        assert store.read_only and store.status().actions
        assert store.audit_verify().ok
        with pytest.raises(errors.StoreError, match="opened read-only"):
            store.replay()
        # below the store: SQLite (mode=ro, query_only) or the server (READ ONLY sessions)
        with (
            pytest.raises(sa.exc.DBAPIError, match=r"read-?only"),
            store.engine.begin() as conn,
        ):
            conn.execute(sa.text("UPDATE audit_head SET last_id = last_id + 1"))
    finally:
        store.close()


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_reading_leaves_a_read_only_sqlite_file_byte_identical(sqlite_url: str) -> None:
    _populated(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    os.chmod(path, 0o400)
    before = _digest(path)
    store = app.open_store(_settings(sqlite_url), read_only=True)
    try:
        assert store.status().actions
        assert store.audit_verify().ok
        assert store.audit_trail()
        assert store.schema_status().ok
    finally:
        store.close()
    assert _digest(path) == before


def test_refusing_an_older_sqlite_database_leaves_it_byte_identical(sqlite_url: str) -> None:
    store = Store.from_url(sqlite_url, pool_size=1)
    try:
        store.migrate(to="0001")
    finally:
        store.close()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = _digest(path)
    _refusal(sqlite_url, read_only=False)
    _refusal(sqlite_url, read_only=True)
    assert _digest(path) == before


@pytest.fixture
def read_only_role(postgres_schema_url: str) -> Iterator[str]:
    """A URL for a role that may only read (SELECT) the migrated, populated schema."""
    _populated(postgres_schema_url)
    url = make_url(postgres_schema_url)
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    role = f"sb_reader_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    try:
        yield url.set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.postgres
def test_read_only_commands_work_with_a_postgresql_role_that_may_only_select(
    read_only_role: str,
) -> None:
    assert _state(read_only_role) is SchemaState.CURRENT
    store = app.open_store(_settings(read_only_role), read_only=True)
    try:
        assert store.status().actions
        result = store.audit_verify()
        assert result.ok and result.entries > 0
    finally:
        store.close()


def _namespace(url: str) -> int:
    schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
    value = zlib.crc32(f"sei-bridge:{schema}".encode())
    return value - (1 << 32) if value >= (1 << 31) else value


@pytest.mark.postgres
def test_migrate_waits_for_the_postgresql_migration_lock(postgres_schema_url: str) -> None:
    admin = make_url(postgres_schema_url).set(drivername="postgresql")
    namespace = _namespace(postgres_schema_url)
    store = Store.from_url(postgres_schema_url, pool_size=1)
    outcome: list[object] = []

    def migrate() -> None:
        try:
            outcome.append(store.migrate()[1].state)
        except BaseException as exc:  # reported below
            outcome.append(exc)

    worker = threading.Thread(target=migrate)
    try:
        with psycopg.connect(admin.render_as_string(hide_password=False)) as holder:
            holder.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (namespace, locking.MIGRATION_LOCK)
            )
            worker.start()
            with psycopg.connect(
                admin.render_as_string(hide_password=False), autocommit=True
            ) as watcher:
                waiting = 0
                for _ in range(2000):
                    waiting = watcher.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND NOT granted AND classid::bigint = %s AND objid::bigint = %s",
                        (namespace & 0xFFFFFFFF, locking.MIGRATION_LOCK),
                    ).fetchone()[0]  # type: ignore[index]
                    if waiting or not worker.is_alive():
                        break
                    threading.Event().wait(0.01)
            assert waiting == 1, outcome  # migrate queued on the lock, created nothing yet
            assert _state(postgres_schema_url) is SchemaState.EMPTY
            holder.commit()
        worker.join(30)
        assert outcome == [SchemaState.CURRENT]
        assert head_revisions() == store.schema_status().revisions
    finally:
        worker.join(30)
        store.close()
