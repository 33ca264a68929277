"""The action ledger: planning, per-request order, and the lease-checked marks.

Per-request order is kept by the ``is_head`` flag (see :func:`refresh_head`): the lowest-seq
action of a request that is not settled (DONE, or QUARANTINED and not blocking). Every change
that can move the head (planning, a mark that settles, replay, resolve) first locks the request
row, then refreshes the head: on PostgreSQL this serialises the changes of one request so two
of them never compute the head from different snapshots, and always in the order request row,
then action rows, so they cannot deadlock.

Marks check the lease: only the worker that holds the action (``lease_owner``) may change it,
and only while it is PENDING or UNCERTAIN. A worker whose lease expired and was taken over, or
whose action an operator resolved meanwhile, changes nothing and gets False. A lease that
expired but was not taken over still counts: the work was done, recording it is right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sei_bridge import audit, errors
from sei_bridge.store import audit_log, inbox, schema
from sei_bridge.store.database import insert_for
from sei_bridge.store.types import (
    CLAIMABLE_STATES,
    RESULT_ID_PROCEDIMENTO,
    RESULT_LINK_ACESSO,
    RESULT_PROCEDIMENTO_FORMATADO,
    Action,
    ActionKind,
    ActionState,
    InboxState,
    LedgerEntry,
    NewAction,
    RequestRow,
    RequestState,
    RequestUpdate,
)

__all__ = [
    "actions_of",
    "copy_process_ids",
    "finish",
    "get_action",
    "get_request",
    "ledger_of",
    "ledgers_of",
    "lock_request",
    "plan_event",
    "record_progress",
    "refresh_head",
    "renew_lease",
    "unsettled",
]

_A = schema.action
_S = schema.solicitacao

_ERROR_MAX = 2000


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= _ERROR_MAX:
        return text
    return text[: _ERROR_MAX - 1] + "…"


def unsettled(t: sa.FromClause) -> sa.ColumnElement[bool]:
    """True for actions that hold back the later actions of their request."""
    return sa.not_(
        sa.or_(
            t.c.state == ActionState.DONE,
            sa.and_(t.c.state == ActionState.QUARANTINED, t.c.blocking == sa.false()),
        )
    )


def _build_refresh_head() -> sa.Update:
    h = _A.alias("h")
    protocolo = sa.bindparam("of_request", type_=sa.String())
    head_id = (
        sa.select(h.c.id)
        .where(h.c.protocolo == protocolo, unsettled(h))
        .order_by(h.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    should_be_head = _A.c.id == sa.func.coalesce(head_id, -1)
    return (
        sa.update(_A)
        .where(_A.c.protocolo == protocolo, _A.c.is_head != should_be_head)
        .values(is_head=should_be_head)
    )


# Hot-path statements are built once: building SQLAlchemy expressions costs more Python time
# than SQLite takes to run them.
_REFRESH_HEAD = _build_refresh_head()
_LOCK_REQUEST_OF_ACTION = (
    sa.select(_S.c.protocolo)
    .where(
        _S.c.protocolo
        == sa.select(_A.c.protocolo).where(_A.c.id == sa.bindparam("action_id")).scalar_subquery()
    )
    .with_for_update()
)
_LEASED = (
    sa.select(_A)
    .where(
        _A.c.id == sa.bindparam("action_id"),
        _A.c.lease_owner == sa.bindparam("worker"),
        _A.c.state.in_(CLAIMABLE_STATES),
    )
    .with_for_update()
)


def refresh_head(conn: Connection, protocolo: str) -> None:
    """Set ``is_head`` on the request's lowest unsettled action and clear it elsewhere.

    One statement touching only the rows whose flag changes. The caller holds the request lock.
    """
    conn.execute(_REFRESH_HEAD, {"of_request": protocolo})


def lock_request(conn: Connection, protocolo: str) -> RequestRow | None:
    """The request row, locked until the end of the transaction (PostgreSQL)."""
    row = (
        conn.execute(sa.select(_S).where(_S.c.protocolo == protocolo).with_for_update())
        .mappings()
        .one_or_none()
    )
    return None if row is None else RequestRow.from_row(row)


def get_request(conn: Connection, protocolo: str) -> RequestRow | None:
    row = conn.execute(sa.select(_S).where(_S.c.protocolo == protocolo)).mappings().one_or_none()
    return None if row is None else RequestRow.from_row(row)


def get_action(conn: Connection, action_id: int) -> Action | None:
    row = conn.execute(sa.select(_A).where(_A.c.id == action_id)).mappings().one_or_none()
    return None if row is None else Action.from_row(row)


def actions_of(conn: Connection, protocolo: str) -> list[Action]:
    query = sa.select(_A).where(_A.c.protocolo == protocolo).order_by(_A.c.seq)
    return [Action.from_row(r) for r in conn.execute(query).mappings()]


_LEDGER_COLUMNS = (
    _A.c.kind,
    _A.c.source_id,
    _A.c.seq,
    _A.c.state,
    _A.c.result,
    _A.c.last_error,
    sa.case((_A.c.kind == ActionKind.ANEXO, _A.c.payload), else_=sa.null()).label("payload"),
)


def ledger_of(conn: Connection, protocolo: str) -> list[LedgerEntry]:
    """A request's actions as :class:`LedgerEntry` rows, by seq."""
    query = sa.select(*_LEDGER_COLUMNS).where(_A.c.protocolo == protocolo).order_by(_A.c.seq)
    return [LedgerEntry.from_row(r) for r in conn.execute(query).mappings()]


def ledgers_of(conn: Connection, protocolos: Sequence[str]) -> dict[str, list[LedgerEntry]]:
    """:func:`ledger_of` for several requests in one query (every one asked is a key)."""
    ledgers: dict[str, list[LedgerEntry]] = {p: [] for p in protocolos}
    if not ledgers:
        return ledgers
    query = (
        sa.select(_A.c.protocolo, *_LEDGER_COLUMNS)
        .where(_A.c.protocolo.in_(sorted(ledgers)))
        .order_by(_A.c.protocolo, _A.c.seq)
    )
    for row in conn.execute(query).mappings():
        ledgers[row["protocolo"]].append(LedgerEntry.from_row(row))
    return ledgers


def _action_summary(a: Action) -> dict[str, Any]:
    return {"action_id": a.id, "kind": a.kind.value, "seq": a.seq, "source_id": a.source_id}


def plan_event(
    conn: Connection,
    event_id: int,
    *,
    request: RequestUpdate,
    actions: Sequence[NewAction],
    now: dt.datetime,
    actor: str,
) -> list[Action]:
    """Insert the event's actions (ignoring natural-key duplicates) after the request's last,
    update the request, mark the event PLANNED; return the actions inserted, by seq."""
    e = schema.inbox_event
    event = conn.execute(
        sa.select(e.c.id_evento, e.c.state).where(e.c.id == event_id)
    ).one_or_none()
    if event is None:
        raise errors.StoreError(f"inbox event {event_id} does not exist: pass an InboxEvent.id")
    protocolo = request.protocolo
    inbox.ensure_request(
        conn,
        protocolo,
        servico_codigo=request.servico_codigo or "",
        state=request.state,
        reason=None,
        now=now,
    )
    current = lock_request(conn, protocolo)
    assert current is not None  # just ensured, and rows are never deleted
    values: dict[str, Any] = {"state": request.state, "updated_at": now}
    if request.state is RequestState.ACTIVE:
        values["reason"] = None
    if request.servico_codigo is not None:
        values["servico_codigo"] = request.servico_codigo
    if request.closures is not None:
        values["closures"] = request.closures
    planned = _insert_actions(conn, protocolo, current.next_seq, actions, event_id, now)
    if actions:
        values["next_seq"] = current.next_seq + len(actions)
    conn.execute(sa.update(_S).where(_S.c.protocolo == protocolo).values(**values))
    conn.execute(
        sa.update(e)
        .where(e.c.id == event_id)
        .values(state=InboxState.PLANNED, reason=None, updated_at=now)
    )
    refresh_head(conn, protocolo)
    audit_log.append(
        conn,
        [
            audit.AuditRecord(
                actor=actor,
                subject=protocolo,
                event="event.planned",
                details={
                    "event_id": event_id,
                    "id_evento": event.id_evento,
                    "from": event.state.value,
                    "request_state": request.state.value,
                    "actions": [_action_summary(a) for a in planned],
                    "duplicates_ignored": len(actions) - len(planned),
                },
            )
        ],
        at=now,
    )
    return planned


def _insert_actions(
    conn: Connection,
    protocolo: str,
    next_seq: int,
    actions: Sequence[NewAction],
    event_id: int | None,
    now: dt.datetime,
) -> list[Action]:
    """Insert ``actions`` from seq ``next_seq`` on (the request locked by the caller), ignoring
    natural keys already present; the actions inserted, by seq."""
    if not actions:
        return []
    # seqs are taken under the request lock; a duplicate leaves a gap, which is harmless
    # (only the order matters)
    rows = [
        {
            "protocolo": protocolo,
            "kind": new.kind,
            "source_id": new.source_id,
            "seq": next_seq + i,
            "state": ActionState.PENDING,
            "is_head": False,
            "blocking": new.blocking,
            "attempts": 0,
            "next_attempt_at": now,
            "payload": dict(new.payload),
            "result": {},
            "evidence": None,
            "event_id": event_id,
            "created_at": now,
            "updated_at": now,
            "state_since": now,
        }
        for i, new in enumerate(actions)
    ]
    stmt = (
        insert_for(conn, _A)
        .on_conflict_do_nothing(index_elements=[_A.c.protocolo, _A.c.kind, _A.c.source_id])
        .returning(*_A.c)
    )
    return sorted(
        (Action.from_row(r) for r in conn.execute(stmt, rows).mappings()),
        key=lambda a: a.seq,
    )


def enqueue_repairs(
    conn: Connection,
    protocolo: str,
    *,
    servico_codigo: str,
    actions: Sequence[NewAction],
    now: dt.datetime,
    actor: str,
) -> list[Action]:
    """Add repair actions (reconciliation's ``--fix``) after the request's last, creating the
    request row if the ledger never saw it; natural keys already present are ignored, so a
    repeated repair is enqueued once. Returns the actions inserted."""
    inbox.ensure_request(
        conn,
        protocolo,
        servico_codigo=servico_codigo,
        state=RequestState.ACTIVE,
        reason=None,
        now=now,
    )
    current = lock_request(conn, protocolo)
    assert current is not None  # just ensured, and rows are never deleted
    added = _insert_actions(conn, protocolo, current.next_seq, actions, None, now)
    values: dict[str, Any] = {"next_seq": current.next_seq + len(actions), "updated_at": now}
    if not current.servico_codigo:
        values["servico_codigo"] = servico_codigo
    conn.execute(sa.update(_S).where(_S.c.protocolo == protocolo).values(**values))
    refresh_head(conn, protocolo)
    if added:
        audit_log.append(
            conn,
            [
                audit.AuditRecord(
                    actor=actor,
                    subject=protocolo,
                    event="reconcile.repair_enqueued",
                    details={
                        "actions": [_action_summary(a) for a in added],
                        "duplicates_ignored": len(actions) - len(added),
                    },
                )
            ],
            at=now,
        )
    return added


def _leased(
    conn: Connection, action_id: int, worker: str, *, lock_request_first: bool
) -> Action | None:
    """The action if ``worker`` holds its lease and it is in flight, locked; else None."""
    if lock_request_first and conn.dialect.name == "postgresql":
        # SQLite needs no row lock: a write transaction holds the whole database (BEGIN
        # IMMEDIATE), and the statement would cost a round of SQLAlchemy per mark
        conn.execute(_LOCK_REQUEST_OF_ACTION, {"action_id": action_id})
    params = {"action_id": action_id, "worker": worker}
    row = conn.execute(_LEASED, params).mappings().one_or_none()
    return None if row is None else Action.from_row(row)


def renew_lease(
    conn: Connection, action_id: int, worker: str, *, until: dt.datetime, now: dt.datetime
) -> bool:
    """Extend ``worker``'s lease; False when it no longer holds the action."""
    result = conn.execute(
        sa.update(_A)
        .where(
            _A.c.id == action_id,
            _A.c.lease_owner == worker,
            _A.c.state.in_(CLAIMABLE_STATES),
        )
        .values(lease_expires_at=until, updated_at=now)
    )
    return result.rowcount == 1


def record_progress(
    conn: Connection,
    action_id: int,
    worker: str,
    result: Mapping[str, Any],
    *,
    now: dt.datetime,
) -> bool:
    """Merge partial SEI ids into the action's result at once (still in flight)."""
    current = _leased(conn, action_id, worker, lock_request_first=False)
    if current is None:
        return False
    merged = {**current.result, **result}
    conn.execute(sa.update(_A).where(_A.c.id == action_id).values(result=merged, updated_at=now))
    audit_log.append(
        conn,
        [
            audit.AuditRecord(
                actor=worker,
                subject=current.protocolo,
                event="action.progress",
                details={**_action_summary(current), "result": dict(result)},
            )
        ],
        at=now,
    )
    return True


def copy_process_ids(
    conn: Connection, protocolo: str, result: Mapping[str, Any], now: dt.datetime
) -> None:
    """Copy an OPEN action's process ids from its result to the request row."""
    keys = (RESULT_ID_PROCEDIMENTO, RESULT_PROCEDIMENTO_FORMATADO, RESULT_LINK_ACESSO)
    values: dict[str, Any] = {k: str(result[k]) for k in keys if result.get(k) is not None}
    if values:
        conn.execute(
            sa.update(_S).where(_S.c.protocolo == protocolo).values(**values, updated_at=now)
        )


def finish(
    conn: Connection,
    action_id: int,
    worker: str,
    *,
    state: ActionState,
    now: dt.datetime,
    error: str | None = None,
    next_attempt_at: dt.datetime | None = None,
    result: Mapping[str, Any] | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> bool:
    """End ``worker``'s attempt on an action: the common body of every ``mark_*``.

    Releases the lease and moves the action to ``state`` with what that state records. Marks
    that may settle the action (DONE, QUARANTINED) lock the request and refresh its head.
    """
    moves_head = state in (ActionState.DONE, ActionState.QUARANTINED)
    current = _leased(conn, action_id, worker, lock_request_first=moves_head)
    if current is None:
        return False
    values: dict[str, Any] = {
        "state": state,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    if state is not current.state:
        values["state_since"] = now
    details: dict[str, Any] = {
        **_action_summary(current),
        "from": current.state.value,
        "to": state.value,
        "attempts": current.attempts,
    }
    if error is not None:
        values["last_error"] = _clip(error)
        details["error"] = _clip(error)
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
        details["next_attempt_at"] = next_attempt_at.isoformat()
    merged: dict[str, Any] = dict(current.result)
    if result is not None:
        merged.update(result)
        values["result"] = merged
        details["result"] = dict(result)
    if evidence is not None:
        values["evidence"] = dict(evidence)
        details["evidence"] = dict(evidence)
    conn.execute(sa.update(_A).where(_A.c.id == action_id).values(**values))
    if state is ActionState.DONE and current.kind is ActionKind.OPEN:
        copy_process_ids(conn, current.protocolo, merged, now)
    if moves_head:
        refresh_head(conn, current.protocolo)
    audit_log.append(
        conn,
        [
            audit.AuditRecord(
                actor=worker,
                subject=current.protocolo,
                event=f"action.{state.value.lower()}",
                details=details,
            )
        ],
        at=now,
    )
    return True
