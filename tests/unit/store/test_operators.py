"""Replay, resolve and status, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from sei_bridge import errors
from sei_bridge.store import (
    Action,
    ActionKind,
    ActionState,
    InboxState,
    RequestState,
    Store,
)
from tests.unit.store import builders as b


def claim_one(store: Store, worker: str = "w1") -> Action:
    (action,) = store.claim_due_actions(worker, limit=1, lease_seconds=60)
    return action


def action(store: Store, action_id: int) -> Action:
    found = store.get_action(action_id)
    assert found is not None
    return found


def quarantined_open(store: Store, protocolo: str, sequencia: int, reason: str) -> Action:
    b.planned_request(store, protocolo, sequencia=sequencia)
    action = claim_one(store)
    assert store.mark_quarantined(action.id, "w1", reason)
    return action


def test_replay_by_protocolo_puts_quarantined_actions_back_to_work(store: Store) -> None:
    q1 = quarantined_open(store, "P1", 1, "Tipo de processo [1] não encontrado.")
    quarantined_open(store, "P2", 2, "Tipo de processo [1] não encontrado.")
    assert store.replay(protocolo="P1", actor="ana") == 1
    again = claim_one(store)
    assert (again.id, again.state, again.attempts) == (q1.id, ActionState.PENDING, 2)
    assert action(store, q1.id).last_error == "Tipo de processo [1] não encontrado."
    (entry,) = [e for e in store.audit_trail(subject="P1") if e.event == "operator.replay"]
    assert entry.actor == "ana"
    assert entry.details["action_id"] == q1.id


def test_replay_by_reason_prefix_and_by_action(store: Store) -> None:
    a = quarantined_open(store, "P1", 1, "Série [15] não encontrada.")
    c = quarantined_open(store, "P2", 2, "Tipo de processo [1] não encontrado.")
    assert store.replay(reason_prefix="Tipo de processo") == 1
    assert action(store, c.id).state is ActionState.PENDING
    assert action(store, a.id).state is ActionState.QUARANTINED
    assert store.replay(reason_prefix="100%_not_a_pattern") == 0  # LIKE wildcards are literal
    assert store.replay(action_id=a.id) == 1
    assert store.replay(action_id=a.id) == 0


def test_replay_of_a_refused_attachment_puts_it_back_in_order(store: Store) -> None:
    b.planned_request(store)
    store.mark_done(claim_one(store).id, "w1", {})
    anexo = claim_one(store)
    store.mark_quarantined(anexo.id, "w1", "png")
    second = claim_one(store)
    assert second.source_id == "an-2"
    store.replay(action_id=anexo.id)
    assert store.mark_done(second.id, "w1", {})
    # the replayed attachment (lower seq) comes before the rest of the request
    assert claim_one(store).id == anexo.id


def test_replay_of_events_replans_the_request(store: Store) -> None:
    (event,) = b.recorded(store, b.registrada(1, servico="9999"))
    store.quarantine_event(event.id, "unmapped servico 9999", protocolo="P1")
    store.record_feed_batch([b.malformed(None, protocolo=None)], b.cursor(1))
    assert store.replay(reason_prefix="unmapped") == 1
    (back,) = store.settled_events(10)
    assert (back.id, back.state, back.reason) == (event.id, InboxState.PENDING, None)
    request = store.get_request("P1")
    assert request is not None and request.state is RequestState.ACTIVE
    # an item with no sequencia cannot be put in feed order: it stays in quarantine
    assert store.replay() == 0
    assert store.status().inbox["QUARANTINED"] == 1


@pytest.mark.parametrize("state", [ActionState.UNCERTAIN, ActionState.NEEDS_PERSON])
def test_resolve_done_records_what_the_person_found(store: Store, state: ActionState) -> None:
    b.planned_request(store)
    opened = claim_one(store)
    if state is ActionState.UNCERTAIN:
        store.mark_uncertain(opened.id, "w1", "read timeout", 0)
    else:
        store.mark_needs_person(opened.id, "w1", {"consultado": "SP156-P1"})
    resolved = store.resolve(
        opened.id,
        outcome="done",
        result={"procedimento_formatado": "99990.000007/2026-10", "id_procedimento": "7"},
        actor="joana",
    )
    assert (resolved.state, resolved.result["id_procedimento"]) == (ActionState.DONE, "7")
    request = store.get_request("P1")
    assert request is not None and request.procedimento_formatado == "99990.000007/2026-10"
    assert claim_one(store).kind is ActionKind.ANEXO  # the request goes on
    entry = next(e for e in store.audit_trail(subject="P1") if e.event == "operator.resolve")
    assert (entry.actor, entry.details["from"], entry.details["to"]) == (
        "joana",
        state.value,
        "DONE",
    )


def test_resolve_absent_sends_it_again_and_the_prober_loses_its_lease(store: Store) -> None:
    b.planned_request(store)
    opened = claim_one(store)
    store.mark_uncertain(opened.id, "w1", "read timeout", 0)
    probing = claim_one(store, "prober")
    resolved = store.resolve(opened.id, outcome="absent", result={}, actor="joana")
    assert (resolved.state, resolved.lease_owner) == (ActionState.PENDING, None)
    assert not store.mark_done(probing.id, "prober", {"id_procedimento": "late"})
    assert claim_one(store).id == opened.id


def test_resolve_refuses_what_is_not_waiting_for_a_person(store: Store) -> None:
    b.planned_request(store)
    opened = claim_one(store)
    with pytest.raises(errors.StoreError, match=f"action {opened.id} is PENDING"):
        store.resolve(opened.id, outcome="done", result={}, actor="joana")
    with pytest.raises(errors.StoreError, match="action 999999 does not exist"):
        store.resolve(999999, outcome="absent", result={}, actor="joana")
    with pytest.raises(ValueError, match="outcome"):
        store.resolve(opened.id, outcome="maybe", result={}, actor="joana")  # type: ignore[arg-type]


def test_status_counts_and_lists_what_needs_an_operator(store: Store) -> None:
    b.planned_request(store, "P1", sequencia=1)
    b.planned_request(store, "P2", sequencia=2)
    store.record_feed_batch([b.unknown(3), b.malformed(4)], b.cursor(4))
    p1, p2 = store.claim_due_actions("w1", limit=5, lease_seconds=60)
    store.mark_quarantined(p1.id, "w1", "Tipo de processo [1] não encontrado.")
    store.mark_needs_person(p2.id, "w1", {"consultado": "SP156-P2", "encontrados": 2})
    report = store.status()
    assert report.inbox == {"PLANNED": 2, "SKIPPED": 1, "QUARANTINED": 1}
    assert report.requests == {"ACTIVE": 2}
    assert report.actions["OPEN"] == {"QUARANTINED": 1, "NEEDS_PERSON": 1}
    assert report.actions["ANEXO"] == {"PENDING": 4}
    assert report.actions_by_state() == {"QUARANTINED": 1, "NEEDS_PERSON": 1, "PENDING": 6}
    assert report.in_flight == 0
    assert report.cursors == {"sigrc": 4}
    assert [(q.what, q.protocolo, q.reason) for q in report.quarantine] == [
        ("action", "P1", "Tipo de processo [1] não encontrado."),
        ("event", "P1", "interacao.ocorrida_em: not an RFC 3339 date-time"),
    ]
    (attention,) = report.attention
    assert (attention.action_id, attention.state) == (p2.id, ActionState.NEEDS_PERSON)
    assert attention.evidence == {"consultado": "SP156-P2", "encontrados": 2}
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["attention"][0]["evidence"]["encontrados"] == 2
    text = report.to_text()
    assert "NEEDS_PERSON" in text and "Tipo de processo [1] não encontrado." in text


def test_status_of_an_empty_store(store: Store) -> None:
    report = store.status()
    assert (report.inbox, report.actions, report.quarantine, report.oldest_due_at) == (
        {},
        {},
        (),
        None,
    )
    json.dumps(report.to_dict())
