"""Schema migrations and store set-up, on SQLite and PostgreSQL."""

from __future__ import annotations

import alembic.autogenerate
import alembic.runtime.migration
import pytest
import sqlalchemy as sa

from sei_bridge import errors
from sei_bridge.store import Store, schema

TABLES = {"inbox_event", "feed_cursor", "solicitacao", "action", "audit_entry", "audit_head"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_schema_url"
    url = request.getfixturevalue(name)
    assert isinstance(url, str)
    return url


def test_migrate_builds_an_empty_database_and_is_idempotent(empty_url: str) -> None:
    store = Store.from_url(empty_url)
    try:
        assert not store.schema_is_current()
        store.migrate()
        assert store.schema_is_current()
        store.migrate()
        with store.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) >= TABLES
        assert store.status().inbox == {}
        assert store.audit_verify().ok
    finally:
        store.close()


def test_the_migrated_schema_is_the_one_the_queries_are_written_for(store: Store) -> None:
    with store.engine.connect() as conn:
        context = alembic.runtime.migration.MigrationContext.configure(
            conn, opts={"compare_type": True}
        )
        differences = alembic.autogenerate.compare_metadata(context, schema.metadata)
    assert differences == []


def test_in_memory_and_foreign_databases_are_refused_with_a_hint() -> None:
    with pytest.raises(errors.ConfigurationError, match="sqlite:///PATH"):
        Store.from_url("sqlite://")
    with pytest.raises(errors.ConfigurationError, match="unsupported database 'mysql'"):
        Store.from_url("mysql://u@127.0.0.1/x")
    with pytest.raises(errors.ConfigurationError, match="postgresql\\+psycopg"):
        Store.from_url("postgresql+psycopg2://u@127.0.0.1/x")


def test_a_plain_postgresql_url_uses_psycopg_3() -> None:
    store = Store.from_url("postgresql://u@127.0.0.1/x")
    try:
        assert store.engine.url.drivername == "postgresql+psycopg"
    finally:
        store.close()


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    store = Store.from_url("postgresql+psycopg://sei:s3cr3t-pw@127.0.0.1:1/x")
    try:
        with pytest.raises(errors.StoreError) as caught:
            store.status()
    finally:
        store.close()
    message = str(caught.value)
    assert "reading the status failed" in message and "SEI_BRIDGE_DATABASE_URL" in message
    assert "s3cr3t-pw" not in message
    assert "\n" not in message


def test_a_missing_schema_is_a_store_error_that_says_what_to_do(sqlite_url: str) -> None:
    store = Store.from_url(sqlite_url)
    try:
        with pytest.raises(errors.StoreError, match="run `sei-bridge migrate`"):
            store.settled_events(1)
    finally:
        store.close()
