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

from sei_bridge import audit, audit_excerpt, errors
from sei_bridge.store import schema

__all__ = ["append", "entries", "excerpt", "verify"]

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


def _stream(
    conn: Connection, *, after: int = 0, last: int | None = None
) -> Iterator[audit.AuditEntry]:
    # keyset pages: constant memory however long the chain
    t = schema.audit_entry
    while True:
        query = sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(_VERIFY_BATCH)
        if last is not None:
            query = query.where(t.c.id <= last)
        rows = conn.execute(query).mappings().all()
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
    head_id, head_hash = _head(conn)
    return audit.verify(_stream(conn), head_id=head_id, head_hash=head_hash)


def _head(conn: Connection) -> tuple[int, str]:
    h = schema.audit_head
    row = conn.execute(sa.select(h.c.last_id, h.c.hash).where(h.c.id == schema.AUDIT_HEAD_ID)).one()
    return int(row.last_id), str(row.hash)


def _hash_at(conn: Connection, entry_id: int) -> str | None:
    if entry_id < 1:
        return audit.GENESIS_HASH
    t = schema.audit_entry
    value = conn.execute(sa.select(t.c.hash).where(t.c.id == entry_id)).scalar_one_or_none()
    return None if value is None else str(value)


def excerpt(
    conn: Connection,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> tuple[audit_excerpt.ExcerptHeader, Iterator[audit.AuditEntry]]:
    """The header and the entries of the excerpt for the period [``start``, ``end``): the
    contiguous positions from the first entry at or after ``start`` to the last one before
    ``end`` (see :mod:`sei_bridge.audit_excerpt`). ``conn`` must be in a snapshot transaction
    and stay open while the entries are read."""
    t = schema.audit_entry
    first_query = sa.select(sa.func.min(t.c.id))
    last_query = sa.select(sa.func.max(t.c.id))
    if start is not None:
        first_query = first_query.where(t.c.at >= start)
    if end is not None:
        last_query = last_query.where(t.c.at < end)
    first = conn.execute(first_query).scalar_one_or_none()
    last = conn.execute(last_query).scalar_one_or_none()
    head_id, head_hash = _head(conn)
    if first is None or last is None or first > last:
        # nothing in the period: anchor the empty excerpt where the period would be
        anchor = (head_hash if first is None else _hash_at(conn, int(first) - 1)) or head_hash
        header = audit_excerpt.ExcerptHeader(
            start, end, None, None, anchor, anchor, head_id, head_hash, now
        )
        return header, iter(())
    first, last = int(first), int(last)
    prev_hash = _hash_at(conn, first - 1)
    if prev_hash is None:
        raise errors.StoreError(
            f"store: exporting the audit trail failed: entry {first - 1}, which the excerpt must "
            "link to, is missing from the trail; run `sei-bridge audit verify`"
        )
    last_hash = _hash_at(conn, last)
    assert last_hash is not None  # max(id) exists
    header = audit_excerpt.ExcerptHeader(
        start, end, first, last, prev_hash, last_hash, head_id, head_hash, now
    )
    return header, _stream(conn, after=first - 1, last=last)


def entries(
    conn: Connection, *, subject: str | None = None, after: int = 0, limit: int = 1000
) -> list[audit.AuditEntry]:
    """Entries in chain order, optionally only those about ``subject``."""
    t = schema.audit_entry
    query = sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(limit)
    if subject is not None:
        query = query.where(t.c.subject == subject)
    return [_entry(r) for r in conn.execute(query).mappings()]
