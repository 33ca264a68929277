"""Each kind of state change of the store is in the audit trail, as one entry naming what
changed (ids, kinds, states, reasons), appended in the same transaction as the change; on
SQLite and PostgreSQL.

Leases are not state changes: a claim or a renewal moves no inbox item or action to another
state (the attempt it starts ends in one of the marks below, which is audited), so they stay
out of the trail, which would otherwise double in size with nothing for an auditor in it.
"""

from __future__ import annotations

from typing import Any

from sei_bridge.store import ActionState, InboxState, Store
from tests.unit.store import builders as b


class _Trail:
    """The entries appended since the last look."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen = 0

    def new(self) -> list[tuple[str, str, dict[str, Any]]]:
        entries = self.store.audit_trail(after=self.seen)
        if entries:
            self.seen = entries[-1].id
        return [(e.event, e.subject, dict(e.details)) for e in entries]

    def one(self) -> tuple[str, str, dict[str, Any]]:
        (entry,) = self.new()
        return entry


def test_every_kind_of_state_change_is_one_entry_naming_it(store: Store) -> None:
    trail = _Trail(store)

    store.record_feed_batch([b.registrada(1, "P1"), b.unknown(2), b.malformed(3)], b.cursor(3))
    event, subject, details = trail.one()
    assert (event, subject, details["stored"], details["watermark"]) == (
        "feed.recorded",
        "feed",
        3,
        3,
    )
    assert details["by_state"] == {"PENDING": 1, "SKIPPED": 1, "QUARANTINED": 1}

    registered = next(e for e in store.events_of("P1") if e.sequencia == 1)
    planned = store.plan_event(
        registered.id,
        request=b.RequestUpdate("P1", servico_codigo="3222"),
        actions=b.open_actions(),
    )
    event, subject, details = trail.one()
    assert (event, subject, details["event_id"]) == ("event.planned", "P1", registered.id)
    assert [a["action_id"] for a in details["actions"]] == [a.id for a in planned]

    store.record_feed_batch([b.interacao(4, "P1"), b.registrada(5, "P2")], b.cursor(5))
    trail.new()
    later = {e.sequencia: e for e in store.events_of("P1") + store.events_of("P2")}
    store.mark_event(later[4].id, InboxState.SKIPPED, "not for SEI")
    assert trail.one()[0::2] == (
        "event.skipped",
        {
            "event_id": later[4].id,
            "id_evento": later[4].id_evento,
            "from": "PENDING",
            "to": "SKIPPED",
            "reason": "not for SEI",
        },
    )
    store.quarantine_event(later[5].id, "unmapped: no mapping for servico 9", protocolo="P2")
    event, subject, details = trail.one()
    assert (event, subject, details["to"]) == ("event.quarantined", "P2", "QUARANTINED")

    claimed = store.claim_due_actions("w1", limit=1, lease_seconds=60)
    assert store.renew_lease(claimed[0].id, "w1", 60)
    assert trail.new() == []  # leases: see the module doc

    opened = claimed[0]
    store.record_progress(opened.id, "w1", {"id_procedimento": "10"})
    event, _, details = trail.one()
    assert (event, details["action_id"], details["result"]) == (
        "action.progress",
        opened.id,
        {"id_procedimento": "10"},
    )
    store.mark_retry(opened.id, "w1", "HTTP 503", 0)
    assert trail.one()[0] == "action.pending"
    store.claim_due_actions("w1", limit=1, lease_seconds=60)
    store.mark_uncertain(opened.id, "w1", "read timeout", 0)
    assert trail.one()[0] == "action.uncertain"
    store.claim_due_actions("w1", limit=1, lease_seconds=60)
    store.mark_needs_person(opened.id, "w1", {"looked_at": "consultarProcedimento"})
    event, _, details = trail.one()
    assert (event, details["evidence"]) == (
        "action.needs_person",
        {"looked_at": "consultarProcedimento"},
    )
    store.resolve(opened.id, outcome="absent", result={}, actor="joana")
    event, _, details = trail.one()
    assert (event, details["from"], details["to"]) == (
        "operator.resolve",
        "NEEDS_PERSON",
        "PENDING",
    )
    store.claim_due_actions("w1", limit=1, lease_seconds=60)
    store.mark_done(opened.id, "w1", {"procedimento_formatado": "99990.000010/2026-01"})
    event, _, details = trail.one()
    assert (event, details["result"]["procedimento_formatado"]) == (
        "action.done",
        "99990.000010/2026-01",
    )
    (anexo,) = store.claim_due_actions("w1", limit=1, lease_seconds=60)
    store.mark_quarantined(anexo.id, "w1", "attachment-refused: .png")
    assert trail.one()[0] == "action.quarantined"
    assert store.get_action(anexo.id).state is ActionState.QUARANTINED  # type: ignore[union-attr]

    assert store.replay(actor="joana") >= 2
    replays = trail.new()
    assert {e for e, _, _ in replays} == {"operator.replay"}
    replayed = {d.get("action_id") or d.get("event_id") for _, _, d in replays}
    assert {anexo.id, later[5].id} <= replayed
    assert store.audit_verify().ok
