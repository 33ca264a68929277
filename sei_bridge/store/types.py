"""The store's vocabulary: state enums and the frozen rows it hands out.

Rows become these dataclasses at the store boundary (``from_row``), so the engine never sees
SQLAlchemy. Enum values are their names and are stored as such, with a CHECK constraint on the
column. Timestamps are timezone-aware UTC ``datetime`` objects.

Payloads (``InboxEvent.payload``, ``Action.payload``) may hold personal data, so they are left
out of ``repr``; ``result`` and ``evidence`` hold SEI ids and facts only.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_bridge import chars
from sei_bridge.sigrc import models

__all__ = [
    "CLAIMABLE_STATES",
    "RESULT_ID_PROCEDIMENTO",
    "RESULT_LINK_ACESSO",
    "RESULT_PROCEDIMENTO_FORMATADO",
    "Action",
    "ActionKind",
    "ActionState",
    "AttentionEntry",
    "InboxEvent",
    "InboxState",
    "LedgerEntry",
    "NewAction",
    "PayloadFormat",
    "QuarantineEntry",
    "RequestRow",
    "RequestState",
    "RequestUpdate",
    "StatusReport",
]

#: Keys of an OPEN action's ``result`` that :meth:`Store.mark_done` copies to the request row.
RESULT_ID_PROCEDIMENTO = "id_procedimento"
RESULT_PROCEDIMENTO_FORMATADO = "procedimento_formatado"
RESULT_LINK_ACESSO = "link_acesso"


class InboxState(enum.StrEnum):
    """What became of a feed item."""

    #: stored; planned once its sequencia is at or below the feed watermark ("settled")
    PENDING = "PENDING"
    #: turned into ledger actions
    PLANNED = "PLANNED"
    #: malformed, or its request has no mapping: kept with the reason until replayed
    QUARANTINED = "QUARANTINED"
    #: an event tipo this version does not know: recorded, nothing to do
    SKIPPED = "SKIPPED"


class RequestState(enum.StrEnum):
    """State of one SIGRC request (``solicitacao``) as far as sei-bridge is concerned."""

    #: its events are planned and its actions dispatched
    ACTIVE = "ACTIVE"
    #: no mapping for its service (or another permanent cause): waits for an operator's replay
    QUARANTINED = "QUARANTINED"


class ActionState(enum.StrEnum):
    """State of one intended SEI effect. A lease on a PENDING or UNCERTAIN row means in flight."""

    #: to be sent when due and at the head of its request
    PENDING = "PENDING"
    #: the effect exists in SEI (``result`` holds its ids)
    DONE = "DONE"
    #: sent with no answer: must be probed against SEI before anything is sent again
    UNCERTAIN = "UNCERTAIN"
    #: refused permanently (SEI validation fault, attachment refused): kept until replayed
    QUARANTINED = "QUARANTINED"
    #: probing could not prove the effect present or absent: a person decides (``resolve``)
    NEEDS_PERSON = "NEEDS_PERSON"


class ActionKind(enum.StrEnum):
    """Kinds of ledger actions; the natural key's ``source_id`` is given in brackets."""

    #: gerarProcedimento with the opening document [""]
    OPEN = "OPEN"
    #: an attachment of the request as an external document [id_anexo]
    ANEXO = "ANEXO"
    #: the opening document "Solicitação SP156 nº …", when not sent with OPEN [""]
    SOLICITACAO_DOC = "SOLICITACAO_DOC"
    #: PUT /processo-sei back to SIGRC [""]
    SIGRC_PROCESSO = "SIGRC_PROCESSO"
    #: one document per interaction [id_interacao]
    INTERACAO_DOC = "INTERACAO_DOC"
    #: the "SP 156 Finalizado" document [id_evento of the finalizada]
    FINALIZADO_DOC = "FINALIZADO_DOC"
    #: concluirProcesso [id_evento of the finalizada]
    CONCLUIR = "CONCLUIR"
    #: reabrirProcesso [id_evento of the reaberta]
    REABRIR = "REABRIR"


class PayloadFormat(enum.StrEnum):
    """How an inbox event's payload is encoded."""

    #: an :class:`~sei_bridge.sigrc.models.Evento` encoded by :mod:`sei_bridge.store.codec`
    EVENTO = "EVENTO"
    #: the feed's raw JSON object (unknown tipo, or failed validation)
    RAW = "RAW"


#: Action states a worker may claim (the dispatcher sends PENDING and probes UNCERTAIN).
CLAIMABLE_STATES: tuple[ActionState, ...] = (ActionState.PENDING, ActionState.UNCERTAIN)


def _json_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _counts_text(counts: Mapping[str, int], order: list[str]) -> str:
    shown = [f"{state} {counts[state]}" for state in order if counts.get(state)]
    return " · ".join(shown) if shown else "none"


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """One feed item, stored once by ``id_evento``."""

    id: int
    id_evento: str
    #: None only for a quarantined item whose sequencia could not be read
    sequencia: int | None
    tipo: str
    protocolo: str | None
    state: InboxState
    reason: str | None
    payload_format: PayloadFormat
    payload: Mapping[str, Any] = field(repr=False)
    received_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> InboxEvent:
        return cls(
            id=row["id"],
            id_evento=row["id_evento"],
            sequencia=row["sequencia"],
            tipo=row["tipo"],
            protocolo=row["protocolo"],
            state=InboxState(row["state"]),
            reason=row["reason"],
            payload_format=PayloadFormat(row["payload_format"]),
            payload=row["payload"],
            received_at=row["received_at"],
            updated_at=row["updated_at"],
        )

    def evento(self) -> models.Evento | None:
        """The parsed :class:`~sei_bridge.sigrc.models.Evento`, or None when the payload is the
        feed's raw JSON (an unknown or malformed item: parse ``payload`` with
        ``sei_bridge.sigrc.parsing.parse_event`` to try again, e.g. after an upgrade)."""
        if self.payload_format is not PayloadFormat.EVENTO:
            return None
        from sei_bridge.store import codec  # codec imports this module's enums

        return codec.decode_evento(self.payload)


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One SIGRC request known to the ledger."""

    protocolo: str
    #: SIGRC servico.codigo; "" while unknown (a request quarantined before it was registered)
    servico_codigo: str
    state: RequestState
    reason: str | None
    id_procedimento: str | None
    procedimento_formatado: str | None
    link_acesso: str | None
    #: the seq the next planned action gets
    next_seq: int
    #: closures (finalizadas) planned so far
    closures: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> RequestRow:
        return cls(
            protocolo=row["protocolo"],
            servico_codigo=row["servico_codigo"],
            state=RequestState(row["state"]),
            reason=row["reason"],
            id_procedimento=row["id_procedimento"],
            procedimento_formatado=row["procedimento_formatado"],
            link_acesso=row["link_acesso"],
            next_seq=row["next_seq"],
            closures=row["closures"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class RequestUpdate:
    """What :meth:`Store.plan_event` writes to the request row (created when missing).

    ``None`` keeps the stored value (``servico_codigo`` is never set back to unknown, and
    ``closures`` only changes when the planner says so).
    """

    protocolo: str
    servico_codigo: str | None = None
    state: RequestState = RequestState.ACTIVE
    closures: int | None = None


@dataclass(frozen=True, slots=True)
class NewAction:
    """An action the planner wants; its natural key is (request protocolo, kind, source_id)."""

    kind: ActionKind
    source_id: str = ""
    #: what to send (JSON-serialisable); may hold personal data, never logged
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: False: if quarantined, the rest of the request goes on (attachments)
    blocking: bool = True


@dataclass(frozen=True, slots=True)
class Action:
    """One intended SEI (or SIGRC) effect of a request, in the request's order ``seq``."""

    id: int
    protocolo: str
    kind: ActionKind
    source_id: str
    seq: int
    state: ActionState
    blocking: bool
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_expires_at: dt.datetime | None
    last_error: str | None
    payload: Mapping[str, Any] = field(repr=False)
    #: SEI ids produced so far (``record_progress``) or in the end (``mark_done``)
    result: Mapping[str, Any]
    #: what the prober found, for the person who settles a NEEDS_PERSON action
    evidence: Mapping[str, Any] | None
    #: the inbox event that planned it
    event_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    #: when the action entered its current state
    state_since: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Action:
        return cls(
            id=row["id"],
            protocolo=row["protocolo"],
            kind=ActionKind(row["kind"]),
            source_id=row["source_id"],
            seq=row["seq"],
            state=ActionState(row["state"]),
            blocking=bool(row["blocking"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            lease_owner=row["lease_owner"],
            lease_expires_at=row["lease_expires_at"],
            last_error=row["last_error"],
            payload=row["payload"] or {},
            result=row["result"] or {},
            evidence=row["evidence"],
            event_id=row["event_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            state_since=row["state_since"],
        )

    @property
    def settled(self) -> bool:
        """True when the action no longer holds back the later actions of its request."""
        return self.state is ActionState.DONE or (
            self.state is ActionState.QUARANTINED and not self.blocking
        )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One action of a request as an attempt or the planner reads it: a narrow row (no dates;
    the payload only for ANEXO, whose file name the documents list). Read once per attempt and
    per planned event, so it must stay cheap however many actions a request has."""

    kind: ActionKind
    source_id: str
    seq: int
    state: ActionState
    #: SEI ids the action produced (see :attr:`Action.result`)
    result: Mapping[str, Any]
    last_error: str | None
    #: the payload of an ANEXO action; empty for the other kinds
    payload: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> LedgerEntry:
        return cls(
            kind=ActionKind(row["kind"]),
            source_id=row["source_id"],
            seq=row["seq"],
            state=ActionState(row["state"]),
            result=row["result"] or {},
            last_error=row["last_error"],
            payload=row["payload"] or {},
        )


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """Something kept aside with its reason until an operator replays it."""

    #: "action", "event" or "request"
    what: str
    protocolo: str | None
    #: the action kind, or the event tipo
    kind: str | None
    reason: str | None
    since: dt.datetime
    action_id: int | None = None
    id_evento: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "protocolo": self.protocolo,
            "kind": self.kind,
            "reason": self.reason,
            "since": _json_time(self.since),
            "action_id": self.action_id,
            "id_evento": self.id_evento,
        }


@dataclass(frozen=True, slots=True)
class AttentionEntry:
    """An UNCERTAIN or NEEDS_PERSON action, with what is known about it."""

    action_id: int
    protocolo: str
    kind: ActionKind
    state: ActionState
    attempts: int
    last_error: str | None
    evidence: Mapping[str, Any] | None
    since: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "protocolo": self.protocolo,
            "kind": self.kind.value,
            "state": self.state.value,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "evidence": dict(self.evidence) if self.evidence is not None else None,
            "since": _json_time(self.since),
        }


#: a quarantine reason's code (``"code: cause | fix"``); other texts count as "other"
_REASON_CODE = re.compile(r"([a-z][a-z0-9_.]*(?:-[a-z0-9_.]+)*):")
#: what separates a reason's cause from its fix (sei_bridge.documents.REASON_SEPARATOR)
_FIX_SEPARATOR = " | "


def reason_code(reason: str | None) -> str:
    """The code a quarantine reason starts with (``sei-refused``, ``unmapped``, or the field a
    malformed event got wrong, ``interacao.ocorrida_em``), else ``other``: bounded values for
    grouping and metric labels, never the text itself."""
    match = _REASON_CODE.match(reason or "")
    return match.group(1)[:40] if match else "other"


def _cause(reason: str | None) -> str:
    """The reason without its fix (shown once per group)."""
    return (reason or "").split(_FIX_SEPARATOR, 1)[0].strip()


def _fix(reason: str | None) -> str:
    parts = (reason or "").split(_FIX_SEPARATOR, 1)
    return parts[1].strip() if len(parts) == 2 else ""


def _group(code: str) -> dict[str, Any]:
    return {
        "reason": code,
        "count": 0,
        "items": set(),
        "oldest_at": None,
        "hint": "",
        "examples": [],
    }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Counts by state, plus the items that need an operator (lists capped at ``limit``)."""

    generated_at: dt.datetime
    #: inbox events by InboxState value
    inbox: Mapping[str, int]
    #: actions by ActionKind value, then ActionState value
    actions: Mapping[str, Mapping[str, int]]
    #: requests by RequestState value
    requests: Mapping[str, int]
    #: actions leased right now (in flight)
    in_flight: int
    #: the oldest next_attempt_at among actions that can run, if any
    oldest_due_at: dt.datetime | None
    quarantine: tuple[QuarantineEntry, ...]
    attention: tuple[AttentionEntry, ...]
    #: the watermark of each feed cursor
    cursors: Mapping[str, int] = field(default_factory=dict)
    #: everything quarantined, uncapped: ``{(item, reason code): count}``
    quarantine_counts: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def actions_by_state(self) -> dict[str, int]:
        """Action counts summed over kinds."""
        totals: dict[str, int] = {}
        for by_state in self.actions.values():
            for state, count in by_state.items():
                totals[state] = totals.get(state, 0) + count
        return totals

    def to_text(self) -> str:
        """A human-readable report for ``sei-bridge status`` (ends with a newline)."""
        lines = [
            "inbox:    " + _counts_text(self.inbox, [s.value for s in InboxState]),
            "requests: " + _counts_text(self.requests, [s.value for s in RequestState]),
            "actions:  " + _counts_text(self.actions_by_state(), [s.value for s in ActionState]),
        ]
        states = [s.value for s in ActionState]
        if self.actions:
            lines.append("  " + "kind".ljust(16) + "".join(s.rjust(13) for s in states))
            for kind in [k.value for k in ActionKind if k.value in self.actions]:
                row = self.actions[kind]
                lines.append(
                    "  " + kind.ljust(16) + "".join(str(row.get(s, 0)).rjust(13) for s in states)
                )
        due = _json_time(self.oldest_due_at) or "nothing due"
        lines.append(f"in flight: {self.in_flight}; oldest due: {due}")
        if self.cursors:
            marks = ", ".join(f"{n}={w}" for n, w in sorted(self.cursors.items()))
            lines.append(f"feed watermark: {marks}")
        # ids, protocolos, tipos and reasons may come from SIGRC or SEI: a terminal must show,
        # not obey, a control character in them (ESC sequences, a forged line)
        show = chars.escape_controls
        total = sum(self.quarantine_counts.values()) or len(self.quarantine)
        lines.append(f"quarantine: {total or 'empty'}")
        for group in self.quarantine_groups():
            lines.append(
                f"  {group['count']:>6}  {group['reason']}  ({', '.join(group['items'])}) "
                f"oldest since {group['oldest'] or '-'}"
            )
            if group["hint"]:
                lines.append(f"          fix: {show(group['hint'])}")
            for q in group["examples"]:
                ident = f"action {q.action_id}" if q.action_id is not None else q.what
                if q.id_evento is not None:
                    ident = f"event {show(q.id_evento)}"
                cause = show(_cause(q.reason))
                lines.append(
                    f"          {ident}  {show(q.protocolo or '-')}  {show(q.kind or '-')}  "
                    f"{cause[:160]}".rstrip()
                )
        by_state = self.actions_by_state()
        uncertain = by_state.get(ActionState.UNCERTAIN.value, 0)
        if uncertain:
            lines.append(
                f"being settled by probes: {uncertain} uncertain effect(s), no action needed"
            )
        person = [a for a in self.attention if a.state is ActionState.NEEDS_PERSON]
        waiting = by_state.get(ActionState.NEEDS_PERSON.value, len(person))
        lines.append(f"needs a person: {waiting or 'nothing'}")
        if waiting:
            lines.append(
                "  each below: find out in SEI whether the effect exists, then "
                "sei-bridge resolve ACTION --done ... | --absent --actor NAME"
            )
        for a in person:
            lines.append(
                f"  action {a.action_id}  {show(a.protocolo)}  {a.kind.value}  "
                f"attempts {a.attempts}  since {_json_time(a.since)}"
            )
            if a.last_error:
                lines.append(f"    last error: {show(a.last_error)}")
            if a.evidence:
                lines.append(f"    evidence: {json.dumps(dict(a.evidence), sort_keys=True)}")
        return "\n".join(lines) + "\n"

    def quarantine_groups(self, examples: int = 3) -> list[dict[str, Any]]:
        """The quarantine by reason code, largest first: its count (uncapped), what items,
        the oldest, the fix the reason gives, and up to ``examples`` entries."""
        groups: dict[str, dict[str, Any]] = {}
        for (item, code), count in self.quarantine_counts.items():
            group = groups.setdefault(code, _group(code))
            group["count"] += count
            group["items"].add(item)
        for q in self.quarantine:
            code = reason_code(q.reason)
            group = groups.setdefault(code, _group(code))
            if not self.quarantine_counts:
                group["count"] += 1
                group["items"].add(q.what)
            if group["oldest_at"] is None or q.since < group["oldest_at"]:
                group["oldest_at"] = q.since
            if not group["hint"]:
                group["hint"] = _fix(q.reason)
            if len(group["examples"]) < examples:
                group["examples"].append(q)
        ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["reason"]))
        for group in ordered:
            group["items"] = sorted(group["items"])
            group["oldest"] = _json_time(group.pop("oldest_at"))
        return ordered

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (``json.dumps`` needs no ``default``)."""
        return {
            "generated_at": _json_time(self.generated_at),
            "inbox": dict(self.inbox),
            "actions": {kind: dict(states) for kind, states in self.actions.items()},
            "actions_by_state": self.actions_by_state(),
            "requests": dict(self.requests),
            "in_flight": self.in_flight,
            "oldest_due_at": _json_time(self.oldest_due_at),
            "quarantine": [q.to_dict() for q in self.quarantine],
            "quarantine_groups": [
                {**g, "examples": [q.to_dict() for q in g["examples"]]}
                for g in self.quarantine_groups()
            ],
            "attention": [a.to_dict() for a in self.attention],
            "uncertain": self.actions_by_state().get(ActionState.UNCERTAIN.value, 0),
            "needs_person": self.actions_by_state().get(ActionState.NEEDS_PERSON.value, 0),
            "cursors": dict(self.cursors),
        }
