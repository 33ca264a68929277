"""Alembic environment of the store.

:meth:`sei_bridge.store.Store.migrate` runs Alembic programmatically (no alembic.ini) and hands
over its own connection, already inside the transaction that holds the migration lock, in
``config.attributes["connection"]``; the whole upgrade then commits or rolls back as one.

For development, a new revision can be generated against a scratch database with::

    from alembic import command, config
    cfg = config.Config()
    cfg.set_main_option("script_location", "sei_bridge/store/migrations")
    cfg.set_main_option("sqlalchemy.url", "sqlite:///scratch.db")
    command.revision(cfg, "what changes", autogenerate=True, rev_id="0002")

Write migrations by hand from there: they are frozen snapshots and must not import the
current ``schema`` module's tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from sei_bridge.store import schema


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=schema.metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set in the Alembic config")
    engine = sa.create_engine(url, hide_parameters=True)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_main()
