"""StatusReport at scale: the quarantine grouped by reason code with its uncapped count, one
fix per group and a few examples; uncertain effects kept apart from those needing a person."""

from __future__ import annotations

import datetime as dt

from sei_bridge.store.types import (
    ActionKind,
    ActionState,
    AttentionEntry,
    QuarantineEntry,
    StatusReport,
    reason_code,
)

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _entry(n: int, reason: str, what: str = "action") -> QuarantineEntry:
    return QuarantineEntry(
        what, f"2026-{n:08d}", "ANEXO", reason, T0 + dt.timedelta(minutes=n), action_id=n
    )


def _report() -> StatusReport:
    refused = 'attachment-refused: arquivo ".png" não é aceito | allow the extension, then replay'
    listed = [_entry(n, refused) for n in range(5)] + [
        _entry(9, "unmapped: no mapping for servico 9999 | add it to mappings/", what="request"),
        _entry(8, "interacao.ocorrida_em: missing", what="event"),
    ]
    person = AttentionEntry(
        action_id=77,
        protocolo="2026-00000077",
        kind=ActionKind.OPEN,
        state=ActionState.NEEDS_PERSON,
        attempts=3,
        last_error="attempt 3: lost",
        evidence={"found": 2},
        since=T0,
    )
    return StatusReport(
        generated_at=T0,
        inbox={},
        actions={"OPEN": {"UNCERTAIN": 4, "NEEDS_PERSON": 1}},
        requests={},
        in_flight=0,
        oldest_due_at=None,
        quarantine=tuple(listed),
        attention=(person,),
        quarantine_counts={
            ("action", "attachment-refused"): 136,
            ("request", "unmapped"): 21,
            ("event", "interacao.ocorrida_em"): 6,
        },
    )


def test_reason_codes_are_bounded_labels() -> None:
    assert reason_code("sei-refused: SEI refused gerarProcedimento: x | fix") == "sei-refused"
    assert reason_code("interacao.ocorrida_em: missing") == "interacao.ocorrida_em"
    assert reason_code("Interessado CPF 123.456.789-09: x") == "other"
    assert reason_code(None) == "other"


def test_the_quarantine_is_grouped_by_reason_with_uncapped_counts_and_one_fix() -> None:
    groups = _report().quarantine_groups(examples=3)
    assert [(g["reason"], g["count"], g["items"]) for g in groups] == [
        ("attachment-refused", 136, ["action"]),
        ("unmapped", 21, ["request"]),
        ("interacao.ocorrida_em", 6, ["event"]),
    ]
    assert groups[0]["hint"] == "allow the extension, then replay"
    assert len(groups[0]["examples"]) == 3
    assert groups[0]["oldest"] == "2026-12-01T00:00:00+00:00"


def test_status_text_shows_groups_and_separates_probes_from_people() -> None:
    text = _report().to_text()
    assert "quarantine: 163" in text
    assert "     136  attachment-refused  (action)" in text
    assert "fix: allow the extension, then replay" in text
    assert text.count('arquivo ".png" não é aceito') == 3  # examples, not all 136
    assert "being settled by probes: 4 uncertain effect(s), no action needed" in text
    assert "needs a person: 1" in text and "action 77  2026-00000077  OPEN" in text
    data = _report().to_dict()
    assert (data["uncertain"], data["needs_person"]) == (4, 1)
    assert data["quarantine_groups"][1]["reason"] == "unmapped"
