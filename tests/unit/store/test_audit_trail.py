"""The audit trail as stored: every state change chained, tampering found, no personal data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sei_bridge.store import Store, schema
from tests.unit.store import builders as b


def _busy_history(store: Store) -> None:
    b.planned_request(store, "P1", sequencia=1)
    b.planned_request(store, "P2", sequencia=2)
    store.record_feed_batch([b.interacao(3), b.unknown(4), b.malformed(5)], b.cursor(5))
    first, second = store.claim_due_actions("w1", limit=5, lease_seconds=60)
    store.record_progress(first.id, "w1", {"id_procedimento": "10"})
    store.mark_done(first.id, "w1", {"procedimento_formatado": "99990.000010/2026-01"})
    store.mark_uncertain(second.id, "w1", "read timeout", 0)
    store.resolve(second.id, outcome="absent", result={}, actor="joana")
    (event,) = store.settled_events(10)
    store.quarantine_event(event.id, "request quarantined", protocolo="P1")
    store.replay(protocolo="P1", actor="joana")


def _drop_append_only_triggers(store: Store) -> None:
    # what someone with DDL rights would do first; the triggers stop everyone else
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("DROP TRIGGER audit_entry_append_only ON audit_entry")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_entry_no_delete")


def test_every_state_change_is_chained_and_verifies(store: Store) -> None:
    _busy_history(store)
    events = [e.event for e in store.audit_trail()]
    assert events[:3] == ["feed.recorded", "event.planned", "feed.recorded"]
    for expected in (
        "action.progress",
        "action.done",
        "action.uncertain",
        "operator.resolve",
        "event.quarantined",
        "operator.replay",
    ):
        assert expected in events
    result = store.audit_verify()
    assert result.ok, result.problem
    assert result.entries == len(events)
    assert result.head_hash == store.audit_trail()[-1].hash
    assert next(e.event for e in store.audit_trail(subject="P2")) == "event.planned"


def test_an_entry_edited_in_the_database_is_found(store: Store) -> None:
    _busy_history(store)
    target = store.audit_trail()[3]
    with store.engine.begin() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        conn.execute(
            sa.text("UPDATE audit_entry SET actor = 'nobody' WHERE id = :id"), {"id": target.id}
        )
    _drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_entry SET actor = 'nobody' WHERE id = :id"), {"id": target.id}
        )
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id) == (False, target.id)
    assert "altered" in (result.problem or "")


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    _busy_history(store)
    from sei_bridge import audit

    target = store.audit_trail()[2]
    forged = audit.entry_hash(
        target.prev_hash,
        id=target.id,
        at=target.at,
        actor="nobody",
        subject=target.subject,
        event=target.event,
        details=target.details,
    )
    _drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE audit_entry SET actor = 'nobody', hash = :h WHERE id = :id"),
            {"h": forged, "id": target.id},
        )
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id) == (False, target.id + 1)


@pytest.mark.parametrize("which", ["middle", "last"])
def test_a_deleted_entry_is_found(store: Store, which: str) -> None:
    _busy_history(store)
    trail = store.audit_trail()
    target = trail[4] if which == "middle" else trail[-1]
    _drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_entry WHERE id = :id"), {"id": target.id})
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id) == (False, target.id)
    assert "missing" in (result.problem or "")


def test_the_trail_holds_no_personal_data(store: Store) -> None:
    _busy_history(store)
    with store.engine.connect() as conn:
        dump = " ".join(
            str(tuple(row)) for row in conn.execute(sa.text("SELECT * FROM audit_entry"))
        )
    for secret in (b.CPF, b.NOME, b.LOGRADOURO, "maria@example.org", "complemento"):
        assert secret not in dump
    assert "P1" in dump  # protocolos are what the trail is about


def test_audit_refuses_details_that_look_like_personal_data(store: Store) -> None:
    b.planned_request(store)
    (opened,) = store.claim_due_actions("w1", limit=1, lease_seconds=60)
    with pytest.raises(ValueError, match="no personal data"):
        store.mark_needs_person(opened.id, "w1", {"cpf": b.CPF})
    # and nothing was changed: the mark is one transaction with its audit entry
    action = store.get_action(opened.id)
    assert action is not None and action.evidence is None and action.lease_owner == "w1"


def _renumber_from(conn: sa.Connection, first: int, by: int) -> None:
    # two steps, so that no intermediate id collides with the primary key
    conn.execute(sa.text("UPDATE audit_entry SET id = -id WHERE id >= :f"), {"f": first})
    conn.execute(sa.text("UPDATE audit_entry SET id = -id + :by WHERE id < 0"), {"by": by})


def test_an_entry_inserted_in_the_middle_with_a_valid_hash_is_named(store: Store) -> None:
    from sei_bridge import audit

    _busy_history(store)
    trail = store.audit_trail()
    before = trail[3]  # insert a forged entry right after this one, chained correctly
    forged_id = before.id + 1
    forged_at = before.at
    forged = audit.entry_hash(
        before.hash,
        id=forged_id,
        at=forged_at,
        actor="nobody",
        subject="P1",
        event="action.done",
        details={"action_id": 1},
    )
    _drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        _renumber_from(conn, forged_id, 1)
        conn.execute(
            sa.insert(schema.audit_entry).values(
                id=forged_id,
                at=forged_at,
                actor="nobody",
                subject="P1",
                event="action.done",
                details={"action_id": 1},
                prev_hash=before.hash,
                hash=forged,
            )
        )
        conn.execute(sa.text("UPDATE audit_head SET last_id = last_id + 1"))
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id, result.position) == (False, forged_id, forged_id)
    assert f"entries {forged_id}..{forged_id} were inserted" in (result.problem or "")
    assert f"entry {forged_id} (position {forged_id})" in result.to_text()


def test_an_entry_appended_outside_sei_bridge_is_named(store: Store) -> None:
    from sei_bridge import audit

    _busy_history(store)
    last = store.audit_trail()[-1]
    forged = audit.entry_hash(
        last.hash,
        id=last.id + 1,
        at=last.at,
        actor="nobody",
        subject="P1",
        event="action.done",
        details={},
    )
    with store.engine.begin() as conn:  # INSERT is allowed: the head is what catches it
        conn.execute(
            sa.insert(schema.audit_entry).values(
                id=last.id + 1,
                at=last.at,
                actor="nobody",
                subject="P1",
                event="action.done",
                details={},
                prev_hash=last.hash,
                hash=forged,
            )
        )
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id) == (False, last.id + 1)
    assert "inserted outside sei-bridge" in (result.problem or "")


def test_two_entries_swapped_in_the_database_are_named(store: Store) -> None:
    _busy_history(store)
    first = store.audit_trail()[4]
    _drop_append_only_triggers(store)
    with store.engine.begin() as conn:
        for old, new in ((first.id, -1), (first.id + 1, first.id), (-1, first.id + 1)):
            conn.execute(
                sa.text("UPDATE audit_entry SET id = :new WHERE id = :old"),
                {"old": old, "new": new},
            )
    result = store.audit_verify()
    assert (result.ok, result.first_bad_id, result.position) == (False, first.id, first.id)
    assert f"holds the content of entry {first.id + 1}: the trail was reordered" in (
        result.problem or ""
    )
