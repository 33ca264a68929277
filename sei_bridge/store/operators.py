"""What operators do to the ledger: replay quarantined items, resolve what needs a person, and
read the status. Every change is audited with the operator's name as the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sei_bridge import audit, errors
from sei_bridge.store import audit_log, ledger, schema
from sei_bridge.store.types import (
    CLAIMABLE_STATES,
    Action,
    ActionKind,
    ActionState,
    AttentionEntry,
    InboxState,
    QuarantineEntry,
    RequestState,
    StatusReport,
    reason_code,
)

__all__ = [
    "cursor_updated_at",
    "next_due_at",
    "quarantine_counts",
    "replay",
    "resolve",
    "status",
]

_A = schema.action
_E = schema.inbox_event
_S = schema.solicitacao

# ids per statement: well under SQLite's limit of bound parameters
_CHUNK = 500

_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _lock_requests(conn: Connection, protocolos: Sequence[str]) -> None:
    # in protocolo order, so two replays lock in the same order
    for chunk in _chunks(sorted(set(protocolos))):
        conn.execute(
            sa.select(_S.c.protocolo)
            .where(_S.c.protocolo.in_(chunk))
            .order_by(_S.c.protocolo)
            .with_for_update()
        )


def replay(
    conn: Connection,
    *,
    protocolo: str | None,
    reason_prefix: str | None,
    action_id: int | None,
    actor: str,
    now: dt.datetime,
) -> int:
    """Move QUARANTINED actions to PENDING (due now) and QUARANTINED inbox events to PENDING (to
    be planned again), matching every filter given; no filter replays everything.

    ``action_id`` selects one action and no events. Events whose sequencia could not be read
    stay quarantined: they cannot be placed in the feed's order. Requests whose events are
    replayed become ACTIVE again (planning re-quarantines them if the cause remains).
    Returns the number of actions plus events replayed.
    """
    if not reason_prefix:
        reason_prefix = None  # "" matches every reason: the same as no filter
    query = sa.select(_A.c.id, _A.c.protocolo, _A.c.kind, _A.c.seq, _A.c.last_error).where(
        _A.c.state == ActionState.QUARANTINED
    )
    if protocolo is not None:
        query = query.where(_A.c.protocolo == protocolo)
    if reason_prefix is not None:
        query = query.where(_A.c.last_error.startswith(reason_prefix, autoescape=True))
    if action_id is not None:
        query = query.where(_A.c.id == action_id)
    actions = list(conn.execute(query.order_by(_A.c.id)))
    events: list[Any] = []
    if action_id is None:
        equery = sa.select(_E.c.id, _E.c.id_evento, _E.c.protocolo, _E.c.reason).where(
            _E.c.state == InboxState.QUARANTINED, _E.c.sequencia.is_not(None)
        )
        if protocolo is not None:
            equery = equery.where(_E.c.protocolo == protocolo)
        if reason_prefix is not None:
            equery = equery.where(_E.c.reason.startswith(reason_prefix, autoescape=True))
        events = list(conn.execute(equery.order_by(_E.c.id)))
    request_protocolos = sorted({e.protocolo for e in events if e.protocolo is not None})
    _lock_requests(conn, [a.protocolo for a in actions] + request_protocolos)
    for chunk in _chunks([a.id for a in actions]):
        conn.execute(
            sa.update(_A)
            .where(_A.c.id.in_(chunk), _A.c.state == ActionState.QUARANTINED)
            .values(
                state=ActionState.PENDING,
                next_attempt_at=now,
                lease_owner=None,
                lease_expires_at=None,
                updated_at=now,
                state_since=now,
            )
        )
    for p in sorted({a.protocolo for a in actions}):
        ledger.refresh_head(conn, p)
    for chunk in _chunks([e.id for e in events]):
        conn.execute(
            sa.update(_E)
            .where(_E.c.id.in_(chunk))
            .values(state=InboxState.PENDING, reason=None, updated_at=now)
        )
    for chunk in _chunks(request_protocolos):
        conn.execute(
            sa.update(_S)
            .where(_S.c.protocolo.in_(chunk), _S.c.state == RequestState.QUARANTINED)
            .values(state=RequestState.ACTIVE, reason=None, updated_at=now)
        )
    records = [
        audit.AuditRecord(
            actor=actor,
            subject=a.protocolo,
            event="operator.replay",
            details={
                "action_id": a.id,
                "kind": a.kind.value,
                "seq": a.seq,
                "reason": a.last_error,
                "to": ActionState.PENDING.value,
            },
        )
        for a in actions
    ] + [
        audit.AuditRecord(
            actor=actor,
            subject=e.protocolo or f"event:{e.id_evento}",
            event="operator.replay",
            details={
                "event_id": e.id,
                "id_evento": e.id_evento,
                "reason": e.reason,
                "to": InboxState.PENDING.value,
            },
        )
        for e in events
    ]
    audit_log.append(conn, records, at=now)
    return len(actions) + len(events)


def resolve(
    conn: Connection,
    action_id: int,
    *,
    outcome: Literal["done", "absent"],
    result: Mapping[str, Any],
    actor: str,
    now: dt.datetime,
) -> Action:
    """Settle an UNCERTAIN or NEEDS_PERSON action from what a person established in SEI.

    ``done``: the effect exists; ``result`` holds its SEI ids (copied to the request for OPEN).
    ``absent``: the effect does not exist; the action is PENDING again, due now, and will be
    sent. Any lease is dropped, so a prober still holding it changes nothing afterwards.
    """
    if outcome not in ("done", "absent"):
        raise ValueError(f"resolve outcome must be 'done' or 'absent', not {outcome!r}")
    current = ledger.get_action(conn, action_id)
    if current is None:
        raise errors.StoreError(f"action {action_id} does not exist: check the id in `status`")
    ledger.lock_request(conn, current.protocolo)
    locked = (
        conn.execute(sa.select(_A).where(_A.c.id == action_id).with_for_update()).mappings().one()
    )
    current = Action.from_row(locked)
    if current.state not in (ActionState.UNCERTAIN, ActionState.NEEDS_PERSON):
        raise errors.StoreError(
            f"action {action_id} is {current.state.value}, not UNCERTAIN or NEEDS_PERSON: "
            "nothing to resolve"
        )
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "state_since": now,
    }
    merged = {**current.result, **result}
    if outcome == "done":
        values.update(state=ActionState.DONE, result=merged)
    else:
        values.update(state=ActionState.PENDING, next_attempt_at=now)
    conn.execute(sa.update(_A).where(_A.c.id == action_id).values(**values))
    if outcome == "done":
        if current.kind is ActionKind.OPEN:
            ledger.copy_process_ids(conn, current.protocolo, merged, now)
        ledger.refresh_head(conn, current.protocolo)
    audit_log.append(
        conn,
        [
            audit.AuditRecord(
                actor=actor,
                subject=current.protocolo,
                event="operator.resolve",
                details={
                    "action_id": current.id,
                    "kind": current.kind.value,
                    "seq": current.seq,
                    "from": current.state.value,
                    "to": values["state"].value,
                    "outcome": outcome,
                    "result": dict(result),
                },
            )
        ],
        at=now,
    )
    updated = ledger.get_action(conn, action_id)
    assert updated is not None
    return updated


def _earliest_free(conn: Connection, now: dt.datetime) -> dt.datetime | None:
    free = sa.or_(_A.c.lease_expires_at.is_(None), _A.c.lease_expires_at <= now)
    return conn.execute(schema.select_due(sa.func.min(_A.c.next_attempt_at)).where(free)).scalar()


def next_due_at(conn: Connection, *, now: dt.datetime) -> dt.datetime | None:
    """When an action can next be claimed: the earliest ``next_attempt_at`` of a free head, or
    the earliest lease expiry of one in flight (its worker may die). None when nothing waits.
    A time at or before ``now`` means: claimable now."""
    earliest_lease = conn.execute(
        schema.select_due(sa.func.min(_A.c.lease_expires_at)).where(_A.c.lease_expires_at > now)
    ).scalar()
    found = [t for t in (_earliest_free(conn, now), earliest_lease) if t is not None]
    return min(found, default=None)


def _counts(conn: Connection, table: sa.Table, *columns: str) -> list[tuple[Any, ...]]:
    cols = [table.c[name] for name in columns]
    return [tuple(r) for r in conn.execute(sa.select(*cols, sa.func.count()).group_by(*cols))]


def status(conn: Connection, *, now: dt.datetime, limit: int) -> StatusReport:
    """Counts by state and the items an operator should look at (each list capped)."""
    inbox_counts = {r[0].value: r[1] for r in _counts(conn, _E, "state")}
    request_counts = {r[0].value: r[1] for r in _counts(conn, _S, "state")}
    action_counts: dict[str, dict[str, int]] = {}
    for kind, state, count in _counts(conn, _A, "kind", "state"):
        action_counts.setdefault(kind.value, {})[state.value] = count
    in_flight = conn.execute(
        sa.select(sa.func.count())
        .select_from(_A)
        .where(_A.c.state.in_(CLAIMABLE_STATES), _A.c.lease_expires_at > now)
    ).scalar_one()
    quarantine: list[QuarantineEntry] = []
    r: Any
    for r in conn.execute(
        sa.select(_A.c.id, _A.c.protocolo, _A.c.kind, _A.c.last_error, _A.c.state_since)
        .where(_A.c.state == ActionState.QUARANTINED)
        .order_by(_A.c.state_since, _A.c.id)
        .limit(limit)
    ):
        quarantine.append(
            QuarantineEntry("action", r.protocolo, r.kind.value, r.last_error, r.state_since, r.id)
        )
    for r in conn.execute(
        sa.select(_E.c.id_evento, _E.c.protocolo, _E.c.tipo, _E.c.reason, _E.c.updated_at)
        .where(_E.c.state == InboxState.QUARANTINED)
        .order_by(_E.c.updated_at, _E.c.id)
        .limit(limit)
    ):
        quarantine.append(
            QuarantineEntry(
                "event", r.protocolo, r.tipo, r.reason, r.updated_at, id_evento=r.id_evento
            )
        )
    for r in conn.execute(
        sa.select(_S.c.protocolo, _S.c.servico_codigo, _S.c.reason, _S.c.updated_at)
        .where(_S.c.state == RequestState.QUARANTINED)
        .order_by(_S.c.updated_at, _S.c.protocolo)
        .limit(limit)
    ):
        quarantine.append(
            QuarantineEntry(
                "request", r.protocolo, r.servico_codigo or None, r.reason, r.updated_at
            )
        )
    attention = [
        AttentionEntry(
            action_id=r.id,
            protocolo=r.protocolo,
            kind=r.kind,
            state=r.state,
            attempts=r.attempts,
            last_error=r.last_error,
            evidence=r.evidence,
            since=r.state_since,
        )
        for r in conn.execute(
            sa.select(_A)
            .where(_A.c.state.in_((ActionState.UNCERTAIN, ActionState.NEEDS_PERSON)))
            .order_by(_A.c.state_since, _A.c.id)
            .limit(limit)
        )
    ]
    c = schema.feed_cursor
    cursors = {r.name: r.watermark for r in conn.execute(sa.select(c.c.name, c.c.watermark))}
    return StatusReport(
        generated_at=now,
        inbox=inbox_counts,
        actions=action_counts,
        requests=request_counts,
        in_flight=in_flight,
        oldest_due_at=_earliest_free(conn, now),
        quarantine=tuple(quarantine),
        attention=tuple(attention),
        cursors=cursors,
        quarantine_counts=quarantine_counts(conn),
    )


def quarantine_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """``{(item, reason code): count}`` over everything quarantined (item: ``action``,
    ``event`` or ``request``); reads only the first characters of each reason."""
    counts: dict[tuple[str, str], int] = {}
    sources: tuple[tuple[str, sa.Table, Any, Any], ...] = (
        ("action", _A, _A.c.last_error, _A.c.state == ActionState.QUARANTINED),
        ("event", _E, _E.c.reason, _E.c.state == InboxState.QUARANTINED),
        ("request", _S, _S.c.reason, _S.c.state == RequestState.QUARANTINED),
    )
    for item, table, column, where in sources:
        head = sa.func.substr(column, 1, 48)
        for text, count in conn.execute(
            sa.select(head, sa.func.count()).select_from(table).where(where).group_by(head)
        ):
            key = (item, reason_code(text))
            counts[key] = counts.get(key, 0) + int(count)
    return counts


def cursor_updated_at(conn: Connection, name: str) -> dt.datetime | None:
    """When the feed cursor ``name`` was last written (None before the first poll)."""
    c = schema.feed_cursor
    value: dt.datetime | None = conn.execute(
        sa.select(c.c.updated_at).where(c.c.name == name)
    ).scalar_one_or_none()
    return value
