"""The hash chain itself (pure functions of sei_bridge.audit)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest

from sei_bridge import audit

AT = dt.datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=dt.UTC)


def records(n: int) -> list[audit.AuditRecord]:
    return [
        audit.AuditRecord("w1", f"P{i}", "action.done", {"action_id": i, "result": {"id": str(i)}})
        for i in range(1, n + 1)
    ]


def test_a_chain_verifies_against_its_head() -> None:
    entries = audit.chain(records(5), head_id=0, head_hash=audit.GENESIS_HASH, at=AT)
    assert [e.id for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    result = audit.verify(entries, head_id=5, head_hash=entries[-1].hash)
    assert result == audit.AuditVerification(True, 5, None, None, entries[-1].hash)
    assert "intact" in result.to_text()


def test_appending_continues_the_same_chain() -> None:
    first = audit.chain(records(2), head_id=0, head_hash=audit.GENESIS_HASH, at=AT)
    more = audit.chain(records(2), head_id=2, head_hash=first[-1].hash, at=AT)
    assert audit.verify(first + more, head_id=4, head_hash=more[-1].hash).ok


def test_the_hash_covers_every_field() -> None:
    (entry,) = audit.chain(records(1), head_id=0, head_hash=audit.GENESIS_HASH, at=AT)
    changes = {
        "at": AT + dt.timedelta(microseconds=1),
        "actor": "w2",
        "subject": "P9",
        "event": "action.retry",
        "details": {"action_id": 2, "result": {"id": "1"}},
    }
    for field, value in changes.items():
        altered = dataclasses.replace(entry, **{field: value})
        result = audit.verify([altered], head_id=1, head_hash=entry.hash)
        assert (result.ok, result.first_bad_id) == (False, 1), field


def test_the_hash_does_not_depend_on_key_order_or_time_zone() -> None:
    brasilia = dt.timezone(dt.timedelta(hours=-3))
    a = audit.entry_hash(
        audit.GENESIS_HASH, id=1, at=AT, actor="x", subject="s", event="e", details={"a": 1, "b": 2}
    )
    b = audit.entry_hash(
        audit.GENESIS_HASH,
        id=1,
        at=AT.astimezone(brasilia),
        actor="x",
        subject="s",
        event="e",
        details={"b": 2, "a": 1},
    )
    assert a == b


def test_verify_reports_the_first_break() -> None:
    entries = audit.chain(records(6), head_id=0, head_hash=audit.GENESIS_HASH, at=AT)
    head = entries[-1].hash
    missing = entries[:2] + entries[3:]
    assert audit.verify(missing, head_id=6, head_hash=head).first_bad_id == 3
    swapped = [entries[0], entries[2], entries[1], *entries[3:]]
    assert audit.verify(swapped, head_id=6, head_hash=head).first_bad_id == 2
    cut = audit.verify(entries[:4], head_id=6, head_hash=head)
    assert (cut.ok, cut.first_bad_id) == (False, 5)
    assert "BROKEN at entry 5" in cut.to_text()
    beyond = audit.verify(entries, head_id=5, head_hash=entries[4].hash)
    assert (beyond.ok, beyond.first_bad_id) == (False, 6)


def test_personal_data_keys_are_refused_anywhere_in_details() -> None:
    for details in ({"cpf": "1"}, {"evidence": {"Nome": "x"}}, {"docs": [{"texto": "x"}]}):
        with pytest.raises(ValueError, match="no personal data"):
            audit.chain(
                [audit.AuditRecord("w", "P", "e", details)],
                head_id=0,
                head_hash=audit.GENESIS_HASH,
                at=AT,
            )
    with pytest.raises(ValueError, match="must be JSON"):
        audit.chain(
            [audit.AuditRecord("w", "P", "e", {"when": AT})],
            head_id=0,
            head_hash=audit.GENESIS_HASH,
            at=AT,
        )


def test_pseudonym_is_keyed_and_stable() -> None:
    cpf = "39053344705"
    one = audit.pseudonym(cpf, "key-1")
    assert one == audit.pseudonym(cpf, "key-1")
    assert one != audit.pseudonym(cpf, "key-2")
    assert cpf not in one and len(one) == 32
    with pytest.raises(ValueError, match="SEI_BRIDGE_AUDIT_KEY"):
        audit.pseudonym(cpf, "")
