"""Coordination between workers: the poller's advisory lock and the SKIP LOCKED claim.

PostgreSQL: several sei-bridge processes may share one database (invariant 5). Only one of them
polls the feed at a time (a session-level advisory lock held on a dedicated connection for as
long as the poller runs), and any number dispatch: a claim picks due rows with
``FOR UPDATE SKIP LOCKED``, so two claimers never wait on each other or take the same row.

SQLite: one process. The write lock (``BEGIN IMMEDIATE``) makes every claim atomic, and the
poller lock is always granted.

Advisory lock keys are two int4s: a namespace derived from ``sei-bridge`` and the current schema
(so two deployments in two schemas of one database do not exclude each other), and the lock's
purpose.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import zlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sei_bridge.store import schema
from sei_bridge.store.database import Database
from sei_bridge.store.types import Action

__all__ = ["MIGRATION_LOCK", "POLLER_LOCK", "advisory_xact_lock", "claim", "poller_lock"]

log = logging.getLogger(__name__)

#: the feed poller (one at a time)
POLLER_LOCK = 1
#: schema migrations (serialised so two workers starting together do not race)
MIGRATION_LOCK = 2


def _namespace(conn: Connection) -> int:
    schema_name = conn.execute(sa.select(sa.func.current_schema())).scalar_one()
    value = zlib.crc32(f"sei-bridge:{schema_name}".encode())
    return value - (1 << 32) if value >= (1 << 31) else value  # as a signed int4


def advisory_xact_lock(conn: Connection, purpose: int) -> None:
    """Wait for a transaction-scoped advisory lock (PostgreSQL only; released at commit)."""
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_namespace(conn), purpose)))


@contextlib.contextmanager
def poller_lock(db: Database) -> Iterator[bool]:
    """Yield True when this process may poll the feed, False when another one holds the lock.

    On PostgreSQL the lock belongs to a connection kept out of the pool for the whole block, in
    autocommit mode so it holds no transaction open. If that connection dies the server drops
    the lock; another poller may then start, which is safe: inbox inserts are deduplicated by
    id_evento, so a second reader at worst re-reads.
    """
    if not db.is_postgresql:
        yield True
        return
    with db.autocommit("taking the poller lock") as conn:
        namespace = _namespace(conn)
        got = bool(
            conn.execute(
                sa.select(sa.func.pg_try_advisory_lock(namespace, POLLER_LOCK))
            ).scalar_one()
        )
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            try:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(namespace, POLLER_LOCK)))
            except sa.exc.DBAPIError:
                # the session is gone, and the lock with it; make sure the pool drops it too
                conn.invalidate()
                log.warning("poller lock: connection lost before unlock; lock released by server")


def claim(
    conn: Connection, *, worker: str, limit: int, now: dt.datetime, lease_until: dt.datetime
) -> list[Action]:
    """Lease up to ``limit`` due head-of-request actions to ``worker`` in one statement.

    Due: PENDING or UNCERTAIN, ``next_attempt_at <= now``, no lease or an expired one, and the
    head of its request (``is_head``: every lower-seq action of the request is DONE or a
    non-blocking QUARANTINED). Oldest due first. The inner SELECT walks the partial index
    ``ix_action_due``, which holds only heads in a claimable state, so a claim reads about
    ``limit`` rows plus those currently leased, however large the backlog or the history.
    """
    a = schema.action
    due = (
        schema.select_due(a.c.id)
        .where(
            a.c.next_attempt_at <= now,
            sa.or_(a.c.lease_expires_at.is_(None), a.c.lease_expires_at <= now),
        )
        .order_by(a.c.next_attempt_at, a.c.id)
        .limit(limit)
        # not rendered on SQLite, where the write lock serialises claims
        .with_for_update(skip_locked=True)
    )
    stmt = (
        sa.update(a)
        .where(a.c.id.in_(due))
        .values(
            lease_owner=worker,
            lease_expires_at=lease_until,
            attempts=a.c.attempts + 1,
            updated_at=now,
        )
        .returning(*a.c)
    )
    rows = [Action.from_row(r) for r in conn.execute(stmt).mappings()]
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    return rows
