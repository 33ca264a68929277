"""The one way tests prepare a database for sei-bridge's commands.

No command but ``sei-bridge migrate`` (and ``demo``) creates or upgrades the schema: ``sync``,
``run``, ``status``, ``replay`` and the rest refuse a missing, empty or older database. A test
that runs them on a fresh database migrates it first::

    from tests.support.db import migrated

    bridge = bridge_factory(sigrc, sei, migrated(sqlite_url))

:func:`migrated` runs the same code as ``sei-bridge migrate`` (in this process, which is
faster than a subprocess) and returns the URL it was given. The fixtures ``sqlite_store``,
``postgres_store`` and ``store`` are migrated already; ``sqlite_url`` and
``postgres_schema_url`` are not.
"""

from __future__ import annotations

from sei_bridge.store import Store

__all__ = ["migrated"]


def migrated(database_url: str) -> str:
    """Create or upgrade the schema at ``database_url`` (as ``sei-bridge migrate`` does) and
    return ``database_url``; fails the test if the database cannot be brought up to date."""
    store = Store.from_url(database_url, pool_size=1)
    try:
        _, after = store.migrate()
    finally:
        store.close()
    assert after.ok, after.problem()
    return database_url
