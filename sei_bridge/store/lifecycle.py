"""The schema's lifecycle: where a database stands against this sei-bridge's migrations, and the
one explicit way to move it forward (``sei-bridge migrate``).

No command but ``migrate`` (and ``demo``, on the database it creates for itself) ever changes the
schema: a ``status`` of a newer release must not upgrade production under an older daemon, and
a mistyped SQLite path must not become an empty database that reports "nothing to do". Every
other command asks :func:`inspect` first and refuses, with :meth:`SchemaStatus.problem`, a
database that is not :attr:`SchemaState.CURRENT`.

States, as ``sei-bridge db check`` reports them (each with its own exit code):

- ``current``: at this code's head revision;
- ``older``: at a revision this code knows, before its head: run ``sei-bridge migrate``;
- ``newer``: at a revision this code does not know, i.e. migrated by a newer sei-bridge:
  upgrade sei-bridge (or point ``SEI_BRIDGE_DATABASE_URL`` at the right database);
- ``empty``: the database exists and holds no table at all: run ``sei-bridge migrate``;
- ``missing``: no SQLite file at the path, or the PostgreSQL schema of the URL's
  ``search_path`` does not exist;
- ``unversioned``: tables, but no Alembic version: not a sei-bridge database.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

import alembic.command
import alembic.config
import alembic.runtime.migration
import alembic.script
import sqlalchemy as sa

from sei_bridge.store import locking
from sei_bridge.store.database import Database

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaState",
    "SchemaStatus",
    "head_revisions",
    "inspect",
    "migrate",
]

#: where Alembic's env.py and versions live (shipped as package data)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: the fix named in every refusal of a database that migrate can bring up to date
MIGRATE_HINT = "run `sei-bridge migrate`"
_URL_HINT = "check SEI_BRIDGE_DATABASE_URL"


class SchemaState(enum.Enum):
    """Where a database stands against this code's migrations."""

    #: at this code's head revision
    CURRENT = "current"
    #: at an earlier revision this code knows
    OLDER = "older"
    #: at a revision this code does not know (a newer sei-bridge migrated it)
    NEWER = "newer"
    #: exists, holds no table
    EMPTY = "empty"
    #: no SQLite file / no PostgreSQL schema
    MISSING = "missing"
    #: tables but no Alembic version table: not a sei-bridge database
    UNVERSIONED = "unversioned"


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The result of :func:`inspect`."""

    state: SchemaState
    #: the database (password hidden): a SQLite path or a PostgreSQL URL
    database: str
    #: the revision(s) the database is at (empty when it has none)
    revisions: tuple[str, ...]
    #: this code's head revision(s)
    heads: tuple[str, ...]
    #: ``"sqlite"`` or ``"postgresql"``
    dialect: str = "sqlite"

    @property
    def ok(self) -> bool:
        return self.state is SchemaState.CURRENT

    def _at(self) -> str:
        return ", ".join(self.revisions) or "none"

    def _head(self) -> str:
        return ", ".join(self.heads)

    def problem(self) -> str | None:
        """One line naming what is wrong and the fix (None when current)."""
        db = self.database
        match self.state:
            case SchemaState.CURRENT:
                return None
            case SchemaState.OLDER:
                return (
                    f"the database {db} is at schema revision {self._at()}, older than this "
                    f"sei-bridge's {self._head()}: {MIGRATE_HINT}"
                )
            case SchemaState.NEWER:
                return (
                    f"the database {db} is at schema revision {self._at()}, which this "
                    f"sei-bridge (revision {self._head()}) does not know: a newer sei-bridge "
                    f"migrated it; upgrade sei-bridge, or {_URL_HINT}"
                )
            case SchemaState.EMPTY:
                return (
                    f"the database {db} is empty (no sei-bridge schema): {MIGRATE_HINT} to "
                    f"create it, or {_URL_HINT}"
                )
            case SchemaState.MISSING if self.dialect == "postgresql":
                return (
                    f"the schema of {db} (its search_path) does not exist: {_URL_HINT}, or "
                    "create the schema and then run `sei-bridge migrate`"
                )
            case SchemaState.MISSING:
                return (
                    f"the database {db} does not exist: {_URL_HINT} (a mistyped path?), or "
                    f"{MIGRATE_HINT} to create it"
                )
            case SchemaState.UNVERSIONED:
                return (
                    f"the database {db} holds tables but no sei-bridge schema revision: it is "
                    f"not a sei-bridge database; {_URL_HINT}"
                )
        raise AssertionError(self.state)  # pragma: no cover

    def to_text(self) -> str:
        """What ``sei-bridge db check`` prints (ends with a newline)."""
        if self.ok:
            return f"the database {self.database} is current (schema revision {self._head()})\n"
        return f"{self.problem()}\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "database": self.database,
            "revisions": list(self.revisions),
            "heads": list(self.heads),
            "problem": self.problem(),
        }


def _alembic_config() -> alembic.config.Config:
    # no alembic.ini: the store must migrate from an installed package, from any directory
    config = alembic.config.Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _script() -> alembic.script.ScriptDirectory:
    return alembic.script.ScriptDirectory.from_config(_alembic_config())


def head_revisions() -> tuple[str, ...]:
    """This code's head revision(s) (one, unless two branches were merged badly)."""
    return tuple(sorted(_script().get_heads()))


def _classify(revisions: tuple[str, ...], has_tables: bool) -> SchemaState:
    script = _script()
    heads = set(script.get_heads())
    if not revisions:
        return SchemaState.UNVERSIONED if has_tables else SchemaState.EMPTY
    if set(revisions) == heads:
        return SchemaState.CURRENT
    known = {rev.revision for rev in script.walk_revisions()}
    if not set(revisions) <= known:
        return SchemaState.NEWER
    return SchemaState.OLDER


def inspect(db: Database) -> SchemaStatus:
    """Where ``db`` stands; reads only (safe on a read-only database or role)."""
    heads = head_revisions()

    def status(state: SchemaState, revisions: tuple[str, ...] = ()) -> SchemaStatus:
        return SchemaStatus(state, db.display_name, revisions, heads, db.dialect)

    if db.sqlite_path is not None and not db.sqlite_path.exists():
        return status(SchemaState.MISSING)
    with db.read("reading the schema revision") as conn:
        if db.is_postgresql:
            schema_name = conn.execute(sa.select(sa.func.current_schema())).scalar_one_or_none()
            if schema_name is None:
                return status(SchemaState.MISSING)
        tables = set(sa.inspect(conn).get_table_names())
        revisions: tuple[str, ...] = ()
        if "alembic_version" in tables:
            context = alembic.runtime.migration.MigrationContext.configure(conn)
            revisions = tuple(sorted(context.get_current_heads()))
    return status(_classify(revisions, bool(tables - {"alembic_version"})), revisions)


def migrate(db: Database, *, to: str = "head") -> tuple[SchemaStatus, SchemaStatus]:
    """Upgrade ``db`` to this code's head (or to revision ``to``: for tests and rehearsing an
    upgrade step by step); returns where it stood before and after.

    Idempotent, and safe when several processes run it at once: on PostgreSQL they queue on a
    transaction-scoped advisory lock taken before Alembic reads the version, on SQLite on the
    database's write lock (``BEGIN IMMEDIATE``). The whole upgrade is one transaction. A
    database at a revision this code does not know (:attr:`SchemaState.NEWER`), one that is not
    a sei-bridge database (:attr:`SchemaState.UNVERSIONED`) and a missing PostgreSQL schema are
    left alone: the caller gets the status to report. (A missing SQLite file is created 0600 by
    a :class:`Database` opened with :attr:`Access.CREATE`, and so is never missing here.)
    """
    before = inspect(db)
    if before.state in (SchemaState.NEWER, SchemaState.UNVERSIONED, SchemaState.MISSING):
        return before, before
    config = _alembic_config()
    with db.write("migrating the schema") as conn:
        if db.is_postgresql:
            locking.advisory_xact_lock(conn, locking.MIGRATION_LOCK)
        config.attributes["connection"] = conn
        alembic.command.upgrade(config, to)
    return before, inspect(db)
