"""Audit excerpts verify on their own, and name the first line edited, removed, inserted or
moved (pure functions of sei_bridge.audit_excerpt)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sei_bridge import audit, audit_excerpt

AT = dt.datetime(2026, 3, 2, 12, 0, 0, tzinfo=dt.UTC)


def _trail(n: int) -> list[audit.AuditEntry]:
    records = [
        audit.AuditRecord("w1", f"P{i}", "action.done", {"action_id": i, "kind": "OPEN"})
        for i in range(1, n + 1)
    ]
    return audit.chain(records, head_id=0, head_hash=audit.GENESIS_HASH, at=AT)


def _excerpt(trail: list[audit.AuditEntry], first: int, last: int) -> list[str]:
    """Lines of the excerpt of positions first..last (1-based) of ``trail``."""
    part = trail[first - 1 : last]
    header = audit_excerpt.ExcerptHeader(
        start=None,
        end=None,
        first_id=first,
        last_id=last,
        prev_hash=trail[first - 2].hash if first > 1 else audit.GENESIS_HASH,
        last_hash=part[-1].hash,
        head_id=trail[-1].id,
        head_hash=trail[-1].hash,
        exported_at=AT,
    )
    return [audit_excerpt.header_line(header), *map(audit_excerpt.entry_line, part)]


def _broken(lines: list[str]) -> tuple[int | None, int | None, str]:
    result = audit_excerpt.verify_lines(lines)
    assert not result.ok
    return result.first_bad_line, result.first_bad_id, result.problem or ""


def test_an_excerpt_from_the_middle_of_the_trail_verifies_on_its_own() -> None:
    trail = _trail(10)
    lines = _excerpt(trail, 4, 8)
    result = audit_excerpt.verify_lines(lines)
    assert result.ok, result.problem
    assert result.entries == 5
    assert (result.prev_hash, result.last_hash) == (trail[2].hash, trail[7].hash)
    assert "intact: 5 entries" in result.to_text()
    # and excerpts chain: the next one links to this one's last hash
    assert audit_excerpt.verify_lines(_excerpt(trail, 9, 10)).prev_hash == result.last_hash


def test_an_edited_line_is_named() -> None:
    lines = _excerpt(_trail(10), 4, 8)
    entry = json.loads(lines[3])  # line 4: entry 6
    entry["details"]["kind"] = "REABRIR"
    lines[3] = json.dumps(entry) + "\n"
    line, entry_id, problem = _broken(lines)
    assert (line, entry_id) == (4, 6) and "altered" in problem
    assert "line 4 (entry 6)" in audit_excerpt.verify_lines(lines).to_text()


def test_a_removed_line_is_named_in_the_middle_and_at_the_end() -> None:
    lines = _excerpt(_trail(10), 4, 8)
    assert _broken(lines[:3] + lines[4:])[:2] == (4, 6)
    line, _, problem = _broken(lines[:-1])
    assert line == 6 and "removed from or added to the end" in problem


def test_an_inserted_line_is_named() -> None:
    trail = _trail(10)
    lines = _excerpt(trail, 4, 8)
    duplicated = [*lines[:3], lines[2], *lines[3:]]  # entry 5 twice
    assert _broken(duplicated)[:2] == (4, 5)
    # an entry forged with a valid hash and the following ones renumbered
    forged = audit.chain(
        [audit.AuditRecord("x", "P1", "action.done", {})],
        head_id=5,
        head_hash=trail[4].hash,
        at=AT,
    )
    renumbered = [
        audit_excerpt.entry_line(
            audit.AuditEntry(
                e.id + 1, e.at, e.actor, e.subject, e.event, e.details, e.prev_hash, e.hash
            )
        )
        for e in trail[5:8]
    ]
    inserted = [*lines[:3], audit_excerpt.entry_line(forged[0]), *renumbered]
    line, entry_id, problem = _broken(inserted)
    assert (line, entry_id) == (4, 6) and "entries 6..6 were inserted" in problem


def test_swapped_lines_are_named() -> None:
    lines = _excerpt(_trail(10), 4, 8)
    lines[2], lines[3] = lines[3], lines[2]
    assert _broken(lines)[:2] == (3, 5)


def test_a_changed_anchor_or_a_foreign_file_is_named_at_line_1_or_2() -> None:
    lines = _excerpt(_trail(10), 4, 8)
    header = json.loads(lines[0])
    header["prev_hash"] = "a" * 64
    assert _broken([json.dumps(header) + "\n", *lines[1:]])[0] == 2
    assert _broken(["not json\n"])[0] == 1
    assert "not a sei-bridge audit excerpt" in _broken(['{"format": "other"}\n'])[2]
    assert _broken([])[0] == 1
    line, _, problem = _broken([*lines[:3], '{"id": 6, "at": "2026-03-0\n'])
    assert line == 4 and "not JSON" in problem


@pytest.mark.parametrize("field", ["at", "actor", "hash", "prev_hash"])
def test_a_malformed_field_is_a_named_line_not_a_crash(field: str) -> None:
    lines = _excerpt(_trail(3), 1, 3)
    entry = json.loads(lines[2])
    entry[field] = 12
    lines[2] = json.dumps(entry) + "\n"
    assert _broken(lines)[0] == 3
