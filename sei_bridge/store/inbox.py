"""The inbox: every feed item exactly once, and the feed cursor saved with it.

``record_feed_batch`` inserts the items of one feed pass with ``INSERT ... ON CONFLICT
(id_evento) DO NOTHING`` and saves the cursor in the same transaction (invariant 1: an event is
in the inbox before the cursor passes it; a crash in between re-reads, and re-reads are
ignored). Events are planned only once *settled* (``sequencia <= watermark``, see
docs/internals.md), in sequencia order.

Payloads: an :class:`~sei_bridge.sigrc.models.Evento` is stored in :mod:`.codec`'s encoding (so
:meth:`InboxEvent.evento` rebuilds it); an unknown or malformed item is stored as the feed's raw
JSON (``item.raw``), so that a later version can parse it again after a replay.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sei_bridge import audit, chars, errors
from sei_bridge.sigrc import models
from sei_bridge.store import audit_log, codec, schema
from sei_bridge.store.database import insert_for
from sei_bridge.store.types import InboxEvent, InboxState, PayloadFormat, RequestState

__all__ = [
    "CursorLike",
    "cursor_row",
    "events_of",
    "mark_event",
    "quarantine_event",
    "record_feed_batch",
    "set_aside_interacoes",
    "settled_events",
]

_REASON_MAX = 1000
_TIPO_MAX = 100


class CursorLike(Protocol):
    """What the store needs of a feed cursor: :class:`sei_bridge.sigrc.feed.FeedCursor`."""

    @property
    def watermark(self) -> int: ...

    def to_json(self) -> str: ...


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(item: models.FeedItem, now: dt.datetime) -> dict[str, Any]:
    common = {"received_at": now, "updated_at": now, "id_evento": item.id_evento}
    if isinstance(item, models.Evento):
        return {
            **common,
            "sequencia": item.sequencia,
            "tipo": item.tipo.value,
            "protocolo": item.protocolo,
            "state": InboxState.PENDING,
            "reason": None,
            "payload_format": PayloadFormat.EVENTO,
            "payload": codec.encode_evento(item),
        }
    if isinstance(item, models.UnknownEvent):
        tipo = _clip(item.tipo, _TIPO_MAX)
        return {
            **common,
            "sequencia": item.sequencia,
            "tipo": tipo,
            "protocolo": item.protocolo,
            "state": InboxState.SKIPPED,
            "reason": f"unknown tipo {tipo}",
            "payload_format": PayloadFormat.RAW,
            "payload": dict(item.raw),
        }
    raw_tipo = item.raw.get("tipo") if isinstance(item.raw, dict) else None
    if not isinstance(raw_tipo, str) or chars.first_control(raw_tipo) is not None:
        # the tipo may be why the event is malformed: a NUL would break PostgreSQL's column
        raw_tipo = ""
    return {
        **common,
        "sequencia": item.sequencia,
        "tipo": _clip(raw_tipo, _TIPO_MAX),
        "protocolo": item.protocolo,
        "state": InboxState.QUARANTINED,
        "reason": _clip(item.error, _REASON_MAX),
        "payload_format": PayloadFormat.RAW,
        "payload": dict(item.raw),
    }


def record_feed_batch(
    conn: Connection,
    items: Sequence[models.FeedItem],
    cursor: CursorLike,
    *,
    cursor_name: str,
    now: dt.datetime,
    actor: str,
) -> int:
    """Store the new items and the cursor together; return how many items were new."""
    e = schema.inbox_event
    stored: list[Any] = []
    if items:
        stmt = (
            insert_for(conn, e)
            .on_conflict_do_nothing(index_elements=[e.c.id_evento])
            .returning(e.c.id_evento, e.c.state)
        )
        stored = list(conn.execute(stmt, [_row(item, now) for item in items]))
    c = schema.feed_cursor
    values = {"watermark": int(cursor.watermark), "window": cursor.to_json(), "updated_at": now}
    upsert = insert_for(conn, c).values(name=cursor_name, **values)
    conn.execute(upsert.on_conflict_do_update(index_elements=[c.c.name], set_=values))
    if stored:
        by_state: dict[str, int] = {}
        for row in stored:
            by_state[row.state.value] = by_state.get(row.state.value, 0) + 1
        aside = sorted(r.id_evento for r in stored if r.state is not InboxState.PENDING)
        audit_log.append(
            conn,
            [
                audit.AuditRecord(
                    actor=actor,
                    subject="feed",
                    event="feed.recorded",
                    details={
                        "cursor": cursor_name,
                        "watermark": int(cursor.watermark),
                        "stored": len(stored),
                        "by_state": by_state,
                        "quarantined_or_skipped": aside[:100],
                    },
                )
            ],
            at=now,
        )
    return len(stored)


def cursor_row(conn: Connection, name: str) -> Any:
    """The cursor's (watermark, window) row, or None."""
    c = schema.feed_cursor
    return conn.execute(sa.select(c.c.watermark, c.c.window).where(c.c.name == name)).one_or_none()


def settled_events(conn: Connection, *, limit: int, cursor_name: str) -> list[InboxEvent]:
    """PENDING events with ``sequencia <= watermark``, in sequencia order."""
    e, c = schema.inbox_event, schema.feed_cursor
    watermark = sa.select(c.c.watermark).where(c.c.name == cursor_name).scalar_subquery()
    query = (
        sa.select(e)
        .where(e.c.state == InboxState.PENDING, e.c.sequencia <= watermark)
        .order_by(e.c.sequencia, e.c.id)
        .limit(limit)
    )
    return [InboxEvent.from_row(r) for r in conn.execute(query).mappings()]


def events_of(conn: Connection, protocolo: str) -> list[InboxEvent]:
    e = schema.inbox_event
    query = sa.select(e).where(e.c.protocolo == protocolo).order_by(e.c.sequencia, e.c.id)
    return [InboxEvent.from_row(r) for r in conn.execute(query).mappings()]


def set_aside_interacoes(conn: Connection, protocolo: str, *, before: int) -> list[str | None]:
    e = schema.inbox_event
    query = (
        sa.select(e.c.payload)
        .where(
            e.c.protocolo == protocolo,
            e.c.state == InboxState.QUARANTINED,
            e.c.tipo == models.TipoEvento.INTERACAO.value,
            e.c.sequencia < before,
        )
        .order_by(e.c.sequencia, e.c.id)
    )
    ids: list[str | None] = []
    for (payload,) in conn.execute(query):
        raw = payload.get("interacao") if isinstance(payload, dict) else None
        id_interacao = raw.get("id_interacao") if isinstance(raw, dict) else None
        ids.append(id_interacao if isinstance(id_interacao, str) else None)
    return ids


def _event_key(conn: Connection, event_id: int) -> Any:
    e = schema.inbox_event
    row = conn.execute(
        sa.select(e.c.id_evento, e.c.protocolo, e.c.state).where(e.c.id == event_id)
    ).one_or_none()
    if row is None:
        raise errors.StoreError(f"inbox event {event_id} does not exist: pass an InboxEvent.id")
    return row


def mark_event(
    conn: Connection,
    event_id: int,
    state: InboxState,
    reason: str | None,
    *,
    now: dt.datetime,
    actor: str,
) -> None:
    """Set an event's state (and reason), audited."""
    key = _event_key(conn, event_id)
    reason = _clip(reason, _REASON_MAX) if reason else None
    e = schema.inbox_event
    conn.execute(
        sa.update(e).where(e.c.id == event_id).values(state=state, reason=reason, updated_at=now)
    )
    audit_log.append(
        conn,
        [
            audit.AuditRecord(
                actor=actor,
                subject=key.protocolo or f"event:{key.id_evento}",
                event=f"event.{state.value.lower()}",
                details={
                    "event_id": event_id,
                    "id_evento": key.id_evento,
                    "from": key.state.value,
                    "to": state.value,
                    "reason": reason,
                },
            )
        ],
        at=now,
    )


def ensure_request(
    conn: Connection,
    protocolo: str,
    *,
    servico_codigo: str,
    state: RequestState,
    reason: str | None,
    now: dt.datetime,
) -> None:
    """Create the request row if it does not exist yet (never changes an existing one)."""
    s = schema.solicitacao
    stmt = insert_for(conn, s).values(
        protocolo=protocolo,
        servico_codigo=servico_codigo,
        state=state,
        reason=reason,
        next_seq=0,
        closures=0,
        created_at=now,
        updated_at=now,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[s.c.protocolo]))


def quarantine_event(
    conn: Connection,
    event_id: int,
    reason: str,
    *,
    protocolo: str | None,
    now: dt.datetime,
    actor: str,
) -> None:
    """Quarantine an event and, when ``protocolo`` is given, its request (created if new)."""
    reason = _clip(reason, _REASON_MAX)
    if protocolo is not None:
        ensure_request(
            conn,
            protocolo,
            servico_codigo="",
            state=RequestState.QUARANTINED,
            reason=reason,
            now=now,
        )
        s = schema.solicitacao
        conn.execute(
            sa.update(s)
            .where(s.c.protocolo == protocolo)
            .values(state=RequestState.QUARANTINED, reason=reason, updated_at=now)
        )
    mark_event(conn, event_id, InboxState.QUARANTINED, reason, now=now, actor=actor)
