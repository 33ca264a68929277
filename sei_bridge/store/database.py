"""Connections and transactions: the one place that knows SQLite from PostgreSQL set-up, and the
one place where database errors become :class:`~sei_bridge.errors.StoreError`.

SQLite (embedded, one process): WAL so readers never block the writer, ``busy_timeout`` so
writers queue instead of failing, foreign keys on, ``synchronous=FULL`` because a DONE mark lost
to a power cut would make us send an effect to SEI twice. Every write transaction starts with
``BEGIN IMMEDIATE``: it takes the write lock up front, so two threads never deadlock upgrading
read locks (a case ``busy_timeout`` cannot resolve). The threads of one process also queue on a
Python lock before ``BEGIN``: SQLite's busy handler polls with sleeps of up to 100 ms, so eight
dispatcher threads contending for the write lock through it spent most of a run asleep while
the lock was free (measured: half of all samples of a 2,500-action sync); the Python lock hands
the write lock over at once. ``busy_timeout`` still covers another process on the same file.

PostgreSQL (several workers) through psycopg 3: READ COMMITTED, pre-ping to survive restarts,
a pool sized by the caller for the dispatcher's threads.

The store holds whole SIGRC events, CPFs and texts included: a SQLite database file is
created readable and writable by its owner only (0600), before SQLite opens it, and SQLite
gives its ``-wal`` and ``-shm`` files the database file's mode. An existing database readable
by others is tightened to 0600 (with a warning) when it is ours, else warned about (see
README, "Protecting the store").

SQLAlchemy is created with ``hide_parameters=True``: its exceptions and logs never carry bound
values, which may be personal data. StoreError messages keep only the first line of the
driver's message (PostgreSQL's DETAIL line can quote a row).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql import dml as pg_dml
from sqlalchemy.dialects.sqlite import dml as sqlite_dml
from sqlalchemy.engine import URL, Connection, Engine, make_url

from sei_bridge import errors

__all__ = [
    "DEFAULT_POOL_SIZE",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_FILE_MODE",
    "Database",
    "insert_for",
    "translate_errors",
]

log = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 8
#: how long a SQLite writer waits for the write lock before failing
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: PostgreSQL connect timeout, seconds
PG_CONNECT_TIMEOUT = 10

_URL_HELP = "set SEI_BRIDGE_DATABASE_URL to sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


_SCHEMA_PROBLEMS = ("no such table", "no such column", "does not exist")


def _hint(error: exc.DBAPIError, text: str) -> str:
    if any(marker in text for marker in _SCHEMA_PROBLEMS):
        return (
            "the database lacks sei-bridge's schema or has an old one: run the store migration "
            "(Store.migrate(); sei-bridge commands do it at start)"
        )
    if error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError):
        return "check that the database is reachable and SEI_BRIDGE_DATABASE_URL is right"
    return "this is a bug or a database-side change: report it with the log"


@contextlib.contextmanager
def translate_errors(operation: str) -> Iterator[None]:
    """Turn SQLAlchemy/driver errors raised inside into StoreError naming ``operation``."""
    try:
        yield
    except exc.DBAPIError as error:
        cause = error.orig if error.orig is not None else error
        text = _first_line(cause)
        raise errors.StoreError(
            f"store: {operation} failed: {type(cause).__name__}: {text}; {_hint(error, text)}"
        ) from error
    except exc.SQLAlchemyError as error:
        raise errors.StoreError(
            f"store: {operation} failed: {type(error).__name__}: {_first_line(error)}"
        ) from error


def _normalise_url(raw: str) -> URL:
    try:
        url = make_url(raw)
    except exc.ArgumentError:
        raise errors.ConfigurationError(f"database URL is not a valid URL: {_URL_HELP}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.get_driver_name() not in ("pysqlite", ""):
            raise errors.ConfigurationError(
                f"unsupported SQLite driver {url.drivername}: {_URL_HELP}"
            )
        if not url.database or url.database == ":memory:":
            raise errors.ConfigurationError(
                "an in-memory SQLite database cannot be shared by sei-bridge's threads and loses "
                f"everything on exit: {_URL_HELP}"
            )
        return url
    if backend == "postgresql":
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if url.get_driver_name() != "psycopg":
            raise errors.ConfigurationError(
                f"unsupported PostgreSQL driver {url.drivername}: use postgresql+psycopg://"
            )
        return url
    raise errors.ConfigurationError(f"unsupported database {backend!r}: {_URL_HELP}")


#: mode of a SQLite database file sei-bridge creates (its -wal/-shm files get the same)
SQLITE_FILE_MODE = 0o600


def _prepare_sqlite_file(database: str) -> None:
    """Create the database file 0600 if missing. An existing one (and its -wal/-shm files)
    that others may read is tightened to 0600 when this user owns it, with a warning saying
    so; one owned by another user, which we cannot change, is only warned about. A directory
    that does not exist is left for SQLite to report."""
    path = Path(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE)
    except FileExistsError:
        for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            _tighten(each)
        return
    except OSError:
        return
    try:
        os.fchmod(fd, SQLITE_FILE_MODE)  # exact, whatever the umask
    finally:
        os.close(fd)


def _tighten(path: Path) -> None:
    try:
        info = path.stat()
    except OSError:
        return  # no -wal/-shm yet, or a path SQLite will report
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISREG(info.st_mode) or not mode & 0o077:
        return
    if info.st_uid == os.geteuid():
        try:
            os.chmod(path, mode & SQLITE_FILE_MODE)
        except OSError:
            pass
        else:
            log.warning(
                "the SQLite store file %s was readable by other users (mode %03o) and holds "
                "personal data: changed it to %03o (see README, Protecting the store)",
                path,
                mode,
                mode & SQLITE_FILE_MODE,
            )
            return
    log.warning(
        "the SQLite store file %s is readable by other users (mode %03o) and holds personal "
        "data, and is not this user's to change: chmod 600 it and its -wal/-shm files (see "
        "README, Protecting the store)",
        path,
        mode,
    )


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _on_sqlite_begin); the driver must not.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get("sei_bridge_write") else ""
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """An Engine plus read and write transactions suited to its dialect."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        #: SQLite: one write transaction at a time in this process (see the module doc)
        self._writer: threading.Lock | None = None
        if self.dialect == "sqlite":
            self._writer = threading.Lock()
            event.listen(engine, "connect", _on_sqlite_connect)
            event.listen(engine, "begin", _on_sqlite_begin)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
        """Create the engine for ``url`` (SQLite file or PostgreSQL via psycopg 3)."""
        parsed = _normalise_url(url)
        options: dict[str, Any] = {
            "hide_parameters": True,
            "pool_size": pool_size,
            "max_overflow": 2,
            "pool_timeout": 30,
        }
        if parsed.get_backend_name() == "sqlite":
            options["connect_args"] = {
                "check_same_thread": False,  # the pool hands a connection to one thread at a time
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
            options["poolclass"] = sa.pool.QueuePool
            if parsed.database and not parsed.database.startswith("file:"):
                _prepare_sqlite_file(parsed.database)
        else:
            options["pool_pre_ping"] = True
            options["connect_args"] = {
                "connect_timeout": PG_CONNECT_TIMEOUT,
                "application_name": "sei-bridge",
            }
        with translate_errors("opening the database"):
            return cls(sa.create_engine(parsed, **options))

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.contextmanager
    def read(self, operation: str, *, snapshot: bool = False) -> Iterator[Connection]:
        """A connection in a read transaction (rolled back at the end).

        ``snapshot``: every statement sees the same committed state (REPEATABLE READ on
        PostgreSQL; SQLite read transactions in WAL mode always do).
        """
        with translate_errors(operation), self.engine.connect() as conn:
            if snapshot and self.is_postgresql:
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    @contextlib.contextmanager
    def write(self, operation: str) -> Iterator[Connection]:
        """A connection in a write transaction, committed when the block ends without error.

        On SQLite the transaction holds the database's write lock from its first statement,
        and the threads of this process queue for it in order.
        """
        with (
            self._sqlite_writer(operation),
            translate_errors(operation),
            self.engine.connect().execution_options(sei_bridge_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextlib.contextmanager
    def _sqlite_writer(self, operation: str) -> Iterator[None]:
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise errors.StoreError(
                f"store: {operation} failed: another thread of this process held the SQLite "
                f"write lock for {SQLITE_BUSY_TIMEOUT_MS // 1000} s; "
                "this is a bug or a stuck disk: report it with the log"
            )
        try:
            yield
        finally:
            self._writer.release()

    @contextlib.contextmanager
    def autocommit(self, operation: str) -> Iterator[Connection]:
        """A connection outside any transaction (PostgreSQL session-level advisory locks)."""
        assert self.is_postgresql, "SQLite connections stay in SQLAlchemy-managed transactions"
        with (
            translate_errors(operation),
            self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        ):
            yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def insert_for(conn: Connection, table: sa.Table) -> pg_dml.Insert | sqlite_dml.Insert:
    """An INSERT with the dialect's ``ON CONFLICT`` clauses (both spell them the same way)."""
    if conn.dialect.name == "postgresql":
        return pg_dml.insert(table)
    return sqlite_dml.insert(table)
