"""``Store.enqueue_repairs`` (reconciliation's ``--fix``) on SQLite and PostgreSQL: repairs go
after the request's actions, under natural keys (a repeat enqueues nothing), for a request the
ledger never saw too, and each batch is in the audit trail."""

from __future__ import annotations

from sei_bridge.store import ActionKind, ActionState, NewAction, Store
from tests.unit.store import builders as b


def test_repairs_follow_the_requests_actions_once_and_are_audited(store: Store) -> None:
    b.planned_request(store, "P1", sequencia=1)
    before = store.actions_of("P1")
    repairs = [
        NewAction(ActionKind.INTERACAO_DOC, "i-1#redo-0000007", {"descricao": "x"}),
        NewAction(ActionKind.FINALIZADO_DOC, "f-1#after-i-1", {"descricao": "y"}),
    ]
    added = store.enqueue_repairs("P1", servico_codigo="3222", actions=repairs)
    assert [(a.kind, a.source_id, a.state) for a in added] == [
        (r.kind, r.source_id, ActionState.PENDING) for r in repairs
    ]
    assert min(a.seq for a in added) > max(a.seq for a in before)
    assert store.enqueue_repairs("P1", servico_codigo="3222", actions=repairs) == []
    assert len(store.actions_of("P1")) == len(before) + 2
    trail = [e for e in store.audit_trail(subject="P1") if e.event == "reconcile.repair_enqueued"]
    assert len(trail) == 1 and trail[0].actor == "reconcile"
    assert store.audit_verify().ok


def test_a_request_the_ledger_never_saw_gets_its_row(store: Store) -> None:
    added = store.enqueue_repairs(
        "P9", servico_codigo="3222", actions=[NewAction(ActionKind.OPEN, "", {"servico": "3222"})]
    )
    assert [a.kind for a in added] == [ActionKind.OPEN]
    request = store.get_request("P9")
    assert request is not None and request.servico_codigo == "3222"
    claimed = store.claim_due_actions("w", limit=5, lease_seconds=30)
    assert [(a.protocolo, a.kind) for a in claimed] == [("P9", ActionKind.OPEN)]
