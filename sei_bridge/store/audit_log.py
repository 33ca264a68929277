"""Persistence of the audit chain (:mod:`sei_bridge.audit` holds the hashing).

Appends are serialised by the one-row ``audit_head`` table: an append locks it (``FOR UPDATE``
on PostgreSQL; SQLite's write lock already serialises), chains the new entries after it, inserts
them and moves the head, all in the caller's transaction, so an entry exists exactly when the
state change it records was committed. Callers append LAST in their transaction, to hold the
head lock for the shortest time.

A database trigger refuses UPDATE and DELETE on ``audit_entry`` (see the initial migration):
tampering then needs DDL rights, and still shows in :func:`verify`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sei_bridge import audit
from sei_bridge.store import schema

__all__ = ["append", "entries", "verify"]

_VERIFY_BATCH = 2000


_HEAD = schema.audit_head
_READ_HEAD_FOR_UPDATE = (
    sa.select(_HEAD.c.last_id, _HEAD.c.hash)
    .where(_HEAD.c.id == schema.AUDIT_HEAD_ID)
    .with_for_update()
)
_INSERT_ENTRY = sa.insert(schema.audit_entry)
_MOVE_HEAD = (
    sa.update(_HEAD)
    .where(_HEAD.c.id == schema.AUDIT_HEAD_ID)
    .values(last_id=sa.bindparam("new_last_id"), hash=sa.bindparam("new_hash"))
)


def append(conn: Connection, records: Sequence[audit.AuditRecord], *, at: dt.datetime) -> None:
    """Chain ``records`` after the head, inside the caller's transaction."""
    if not records:
        return
    head = conn.execute(_READ_HEAD_FOR_UPDATE).one()
    chained = audit.chain(records, head_id=head.last_id, head_hash=head.hash, at=at)
    conn.execute(
        _INSERT_ENTRY,
        [
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "subject": e.subject,
                "event": e.event,
                "details": e.details,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in chained
        ],
    )
    conn.execute(_MOVE_HEAD, {"new_last_id": chained[-1].id, "new_hash": chained[-1].hash})


def _entry(row: sa.RowMapping) -> audit.AuditEntry:
    return audit.AuditEntry(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        subject=row["subject"],
        event=row["event"],
        details=row["details"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _stream(conn: Connection) -> Iterator[audit.AuditEntry]:
    # keyset pages: constant memory however long the chain
    t = schema.audit_entry
    after = 0
    while True:
        rows = (
            conn.execute(sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(_VERIFY_BATCH))
            .mappings()
            .all()
        )
        for row in rows:
            yield _entry(row)
        if len(rows) < _VERIFY_BATCH:
            return
        after = rows[-1]["id"]


def verify(conn: Connection) -> audit.AuditVerification:
    """Recompute the whole chain against the head.

    ``conn`` must be in a snapshot transaction (REPEATABLE READ on PostgreSQL; any SQLite read
    transaction in WAL mode), so that entries appended meanwhile by other workers are neither
    seen nor taken for tampering.
    """
    h = schema.audit_head
    head = conn.execute(
        sa.select(h.c.last_id, h.c.hash).where(h.c.id == schema.AUDIT_HEAD_ID)
    ).one()
    return audit.verify(_stream(conn), head_id=head.last_id, head_hash=head.hash)


def entries(
    conn: Connection, *, subject: str | None = None, after: int = 0, limit: int = 1000
) -> list[audit.AuditEntry]:
    """Entries in chain order, optionally only those about ``subject``."""
    t = schema.audit_entry
    query = sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(limit)
    if subject is not None:
        query = query.where(t.c.subject == subject)
    return [_entry(r) for r in conn.execute(query).mappings()]
