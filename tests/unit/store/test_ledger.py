"""Planning, per-request order, claims and leases, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from sei_bridge.store import (
    Action,
    ActionKind,
    ActionState,
    InboxState,
    NewAction,
    RequestState,
    RequestUpdate,
    Store,
)
from tests.unit.store import builders as b

LEASE = 60.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def claim(
    store: Store, worker: str = "w1", *, limit: int = 10, at: dt.datetime | None = None
) -> list[Action]:
    return store.claim_due_actions(worker, limit=limit, lease_seconds=LEASE, now=at or _now())


def kinds(actions: list[Action]) -> list[tuple[str, ActionKind, str]]:
    return [(a.protocolo, a.kind, a.source_id) for a in actions]


def test_planning_assigns_seq_in_order_and_marks_the_event_planned(store: Store) -> None:
    (event,) = b.recorded(store, b.registrada(1))
    planned = store.plan_event(
        event.id,
        request=RequestUpdate("P1", servico_codigo="3222"),
        actions=b.open_actions(),
    )
    assert [(a.kind, a.source_id, a.seq) for a in planned] == [
        (ActionKind.OPEN, "", 0),
        (ActionKind.ANEXO, "an-1", 1),
        (ActionKind.ANEXO, "an-2", 2),
        (ActionKind.SIGRC_PROCESSO, "", 3),
    ]
    assert all(a.state is ActionState.PENDING and a.event_id == event.id for a in planned)
    assert planned[0].payload == {"tipo_procedimento": "100000345"}
    assert [a.blocking for a in planned] == [True, False, False, True]
    (stored,) = store.events_of("P1")
    assert stored.state is InboxState.PLANNED
    request = store.get_request("P1")
    assert request is not None
    assert (request.servico_codigo, request.state, request.next_seq) == (
        "3222",
        RequestState.ACTIVE,
        4,
    )


def test_planning_again_ignores_natural_keys_already_planned(store: Store) -> None:
    b.planned_request(store)
    store.record_feed_batch([b.interacao(2)], b.cursor(2))
    event = store.settled_events(10)[0]
    again = store.plan_event(
        event.id,
        request=RequestUpdate("P1", closures=1),
        actions=[
            NewAction(ActionKind.OPEN),  # already there: ignored
            NewAction(ActionKind.ANEXO, "an-2", blocking=False),  # already there: ignored
            NewAction(ActionKind.INTERACAO_DOC, "int-2"),
            NewAction(ActionKind.INTERACAO_DOC, "int-2"),  # twice in one plan: once
        ],
    )
    assert [(a.kind, a.source_id) for a in again] == [(ActionKind.INTERACAO_DOC, "int-2")]
    seqs = [a.seq for a in store.actions_of("P1")]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert store.actions_of("P1")[-1].kind is ActionKind.INTERACAO_DOC
    request = store.get_request("P1")
    assert request is not None
    assert (request.servico_codigo, request.closures) == ("3222", 1)  # kept / updated


def test_the_narrow_ledger_read_has_states_results_and_only_anexo_payloads(store: Store) -> None:
    b.planned_request(store)
    (opening,) = claim(store)
    assert store.mark_done(opening.id, "w1", {"id_procedimento": "7"})
    entries = store.ledger_of("P1")
    full = store.actions_of("P1")
    assert [(e.kind, e.source_id, e.seq, e.state) for e in entries] == [
        (a.kind, a.source_id, a.seq, a.state) for a in full
    ]
    assert entries[0].result == {"id_procedimento": "7"}
    assert [e.payload for e in entries] == [
        a.payload if a.kind is ActionKind.ANEXO else {} for a in full
    ]
    assert entries[0].payload == {} != full[0].payload
    assert store.ledger_of("nobody") == []
    b.planned_request(store, "P2", sequencia=2)
    many = store.ledgers_of(["P2", "P1", "nobody"])
    assert many == {"P1": entries, "P2": store.ledger_of("P2"), "nobody": []}
    assert [e.seq for e in many["P2"]] == [0, 1, 2, 3]


def test_only_the_head_of_each_request_is_claimed(store: Store) -> None:
    b.planned_request(store, "P1", sequencia=1)
    b.planned_request(store, "P2", sequencia=2)
    first = claim(store)
    assert kinds(first) == [("P1", ActionKind.OPEN, ""), ("P2", ActionKind.OPEN, "")]
    assert all(a.attempts == 1 and a.lease_owner == "w1" for a in first)
    # in flight: nothing else of those requests may start
    assert claim(store, "w2") == []
    assert store.mark_done(first[0].id, "w1", {"id_procedimento": "1"})
    assert kinds(claim(store, "w2")) == [("P1", ActionKind.ANEXO, "an-1")]


def test_a_refused_attachment_does_not_hold_back_the_request(store: Store) -> None:
    b.planned_request(store)
    (opened,) = claim(store)
    store.mark_done(opened.id, "w1", {})
    (anexo1,) = claim(store)
    assert store.mark_quarantined(anexo1.id, "w1", 'Tipo do arquivo ".png" não autorizado')
    (anexo2,) = claim(store)
    assert anexo2.source_id == "an-2"


def test_a_blocking_quarantine_holds_back_the_rest_of_the_request(store: Store) -> None:
    b.planned_request(store)
    (opened,) = claim(store)
    assert store.mark_quarantined(opened.id, "w1", "Tipo de processo [1] não encontrado.")
    assert claim(store) == []
    assert store.next_due_at() is None


@pytest.mark.parametrize("state", [ActionState.UNCERTAIN, ActionState.NEEDS_PERSON])
def test_an_unsettled_effect_holds_back_the_rest_of_the_request(
    store: Store, state: ActionState
) -> None:
    b.planned_request(store)
    (opened,) = claim(store)
    later = _now() + dt.timedelta(hours=1)
    if state is ActionState.UNCERTAIN:
        assert store.mark_uncertain(opened.id, "w1", "read timeout", later)
    else:
        assert store.mark_needs_person(opened.id, "w1", {"consultado": "SP156-P1", "achado": 0})
    assert claim(store) == []
    if state is ActionState.UNCERTAIN:  # the probe is due later, and it is the same action
        (probe,) = claim(store, at=later)
        assert (probe.id, probe.state, probe.attempts) == (opened.id, ActionState.UNCERTAIN, 2)


def test_retry_waits_until_its_time(store: Store) -> None:
    b.planned_request(store)
    t0 = _now()
    (opened,) = claim(store, at=t0)
    retry_at = t0 + dt.timedelta(seconds=30)
    assert store.mark_retry(opened.id, "w1", "SEI unavailable", retry_at.timestamp())
    assert claim(store, at=t0 + dt.timedelta(seconds=29)) == []
    assert store.next_due_at(now=t0) == retry_at
    (again,) = claim(store, at=retry_at)
    assert (again.id, again.attempts, again.last_error) == (opened.id, 2, "SEI unavailable")


def test_an_expired_lease_is_taken_over_and_the_old_worker_changes_nothing(store: Store) -> None:
    b.planned_request(store)
    t0 = _now()
    (mine,) = claim(store, "w1", at=t0)
    assert claim(store, "w2", at=t0 + dt.timedelta(seconds=LEASE - 1)) == []
    (theirs,) = claim(store, "w2", at=t0 + dt.timedelta(seconds=LEASE + 1))
    assert (theirs.id, theirs.lease_owner, theirs.attempts) == (mine.id, "w2", 2)
    assert not store.mark_done(mine.id, "w1", {"id_procedimento": "stale"})
    assert not store.mark_retry(mine.id, "w1", "x", t0)
    assert not store.record_progress(mine.id, "w1", {"id_procedimento": "stale"})
    assert not store.renew_lease(mine.id, "w1", LEASE)
    assert store.mark_done(theirs.id, "w2", {"id_procedimento": "42"})
    done = store.get_action(mine.id)
    assert done is not None
    assert (done.state, done.result) == (ActionState.DONE, {"id_procedimento": "42"})


def test_an_expired_lease_nobody_took_still_records_the_effect(store: Store) -> None:
    b.planned_request(store)
    (mine,) = store.claim_due_actions("w1", limit=1, lease_seconds=0)  # expired at once
    assert store.mark_done(mine.id, "w1", {"id_procedimento": "7"})


def test_renewing_a_lease_keeps_others_away(store: Store) -> None:
    b.planned_request(store)
    t0 = _now()
    (mine,) = claim(store, "w1", at=t0)
    assert store.renew_lease(mine.id, "w1", LEASE, now=t0 + dt.timedelta(seconds=50))
    assert claim(store, "w2", at=t0 + dt.timedelta(seconds=LEASE + 1)) == []
    action = store.get_action(mine.id)
    assert action is not None and action.lease_expires_at == t0 + dt.timedelta(seconds=50 + LEASE)


def test_done_open_gives_the_request_its_process_and_progress_is_kept(store: Store) -> None:
    b.planned_request(store)
    (opened,) = claim(store)
    assert store.record_progress(opened.id, "w1", {"id_procedimento": "900"})
    partial = store.get_action(opened.id)
    assert partial is not None and partial.result == {"id_procedimento": "900"}
    assert partial.state is ActionState.PENDING and partial.lease_owner == "w1"
    assert store.mark_done(
        opened.id,
        "w1",
        {"procedimento_formatado": "99990.000001/2026-53", "link_acesso": "https://sei/x"},
    )
    done = store.get_action(opened.id)
    assert done is not None
    assert done.result == {
        "id_procedimento": "900",
        "procedimento_formatado": "99990.000001/2026-53",
        "link_acesso": "https://sei/x",
    }
    assert (done.lease_owner, done.lease_expires_at) == (None, None)
    request = store.get_request("P1")
    assert request is not None
    assert (request.id_procedimento, request.procedimento_formatado, request.link_acesso) == (
        "900",
        "99990.000001/2026-53",
        "https://sei/x",
    )


def test_claims_respect_the_limit_and_take_the_oldest_first(store: Store) -> None:
    for n in range(1, 6):
        b.planned_request(store, f"P{n}", sequencia=n)
    t0 = _now()
    first = claim(store, limit=2, at=t0)
    assert [a.protocolo for a in first] == ["P1", "P2"]
    # a retry due now queues behind the work that was due before it
    assert store.mark_retry(first[0].id, "w1", "busy", t0)
    assert [a.protocolo for a in claim(store, limit=2, at=t0)] == ["P3", "P4"]
    assert [a.protocolo for a in claim(store, limit=2, at=t0)] == ["P5", "P1"]


def test_new_actions_behind_a_finished_request_become_claimable(store: Store) -> None:
    b.planned_request(store, actions=[NewAction(ActionKind.OPEN)])
    (opened,) = claim(store)
    store.mark_done(opened.id, "w1", {})
    assert claim(store) == []
    store.record_feed_batch([b.interacao(2)], b.cursor(2))
    event = store.settled_events(1)[0]
    store.plan_event(
        event.id,
        request=RequestUpdate("P1"),
        actions=[NewAction(ActionKind.INTERACAO_DOC, "int-2")],
    )
    assert kinds(claim(store)) == [("P1", ActionKind.INTERACAO_DOC, "int-2")]


def test_the_claim_statement_reads_the_partial_due_index_on_sqlite(sqlite_store: Store) -> None:
    # a guard on O(limit) claims: SQLite uses a partial index only when the query repeats its
    # predicate literally, so check the statement the store really sends
    for n in range(1, 4):
        b.planned_request(sqlite_store, f"P{n}", sequencia=n)
    sent: list[tuple[str, Any]] = []

    def capture(conn: object, cursor: object, statement: str, params: Any, *_: object) -> None:
        if statement.lstrip().startswith("UPDATE action") and "lease_owner" in statement:
            sent.append((statement, params))

    sa.event.listen(sqlite_store.engine, "before_cursor_execute", capture)
    try:
        assert len(claim(sqlite_store)) == 3
    finally:
        sa.event.remove(sqlite_store.engine, "before_cursor_execute", capture)
    ((statement, params),) = sent
    with sqlite_store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
    assert any("ix_action_due" in str(row) for row in plan), plan
