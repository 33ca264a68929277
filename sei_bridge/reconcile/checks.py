"""One request compared three ways: SIGRC's record ↔ the ledger ↔ what SEI holds.

Documents are matched the way the engine's probes find them: first by the number the ledger
recorded, then by série and descrição (unique to each action), so a document a person
re-added by hand still counts as the one the ledger meant. Every ledger action and every
repair for the same document share one *expectation* (série, descrição); SEI must hold at
least one document for each expectation the ledger made DONE, and every SEI document must
belong to some expectation (as many as the ledger made DONE).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from sei_bridge import documents, errors, mapping, scrub
from sei_bridge.engine import executors, payloads, probes
from sei_bridge.reconcile import expected
from sei_bridge.reconcile.findings import FIXABLE, Finding, FindingKind
from sei_bridge.reconcile.sei_view import SeiProcess
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    ActionState,
    InboxEvent,
    InboxState,
    NewAction,
    RequestRow,
    RequestState,
)

__all__ = ["Inputs", "RequestCheck", "check_request", "reason_code"]

_DOCS = executors.DOCUMENT_KINDS
_WAITING = frozenset({ActionState.UNCERTAIN, ActionState.NEEDS_PERSON})
_INTERACAO = "solicitacao.interacao"


def reason_code(reason: str | None) -> str:
    """The part of a quarantine reason a report shows: its code and cause, scrubbed and short
    (reasons hold ids and SEI's fault texts, which may echo what was sent)."""
    head = (reason or "no reason recorded").split(documents.REASON_SEPARATOR)[0]
    return scrub.scrub(head, limit=160)


@dataclasses.dataclass(frozen=True, slots=True)
class Inputs:
    """Everything known about one request."""

    snapshot: models.Solicitacao
    #: the SEI number SIGRC's list holds (the snapshot's when read by protocolo)
    sigrc_numero: str | None
    request: RequestRow | None
    actions: Sequence[Action]
    events: Sequence[InboxEvent]
    #: what SEI holds (None: SEI does not know the ledger's process; not read: see ``sei_read``)
    sei: SeiProcess | None
    sei_read: bool
    now: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class RequestCheck:
    findings: tuple[Finding, ...]
    #: the repairs ``--fix`` enqueues, in order
    repairs: tuple[NewAction, ...]


@dataclasses.dataclass(slots=True)
class _Expectation:
    kind: ActionKind
    serie: str
    descricao: str
    actions: list[Action]
    matched: list[int] = dataclasses.field(default_factory=list)  #: SEI positions

    @property
    def done(self) -> list[Action]:
        return [a for a in self.actions if a.state is ActionState.DONE]

    def recorded(self) -> set[str]:
        return {
            str(n) for a in self.actions if (n := a.result.get(executors.R_DOCUMENTO_FORMATADO))
        }


def _expectations(actions: Iterable[Action], m: mapping.ServicoMapping) -> list[_Expectation]:
    by_key: dict[tuple[str, str], _Expectation] = {}
    for a in sorted(actions, key=lambda a: a.seq):
        if a.kind not in _DOCS:
            continue
        descricao = str(a.payload.get("descricao", ""))
        serie = probes.serie_of(m, a.kind)
        key = (serie, " ".join(descricao.split()))
        if key not in by_key:
            by_key[key] = _Expectation(a.kind, serie, descricao, [])
        by_key[key].actions.append(a)
    return list(by_key.values())


def _match(exps: list[_Expectation], sei: SeiProcess) -> list[int]:
    """Assign each SEI document to an expectation; return the positions of those none explains."""
    unexplained: list[int] = []
    by_numero = {n: e for e in exps for n in e.recorded()}
    for pos, doc in enumerate(sei.documents):
        owner = by_numero.get(doc.numero)
        if owner is None:
            owner = next(
                (
                    e
                    for e in exps
                    if e.serie == doc.id_serie
                    and documents.same_descricao(e.descricao, doc.descricao)
                    and len(e.matched) < max(1, len(e.done))
                ),
                None,
            )
        if owner is None:
            unexplained.append(pos)
        else:
            owner.matched.append(pos)
    return unexplained


def _redo(a: Action, tag: str) -> NewAction:
    return NewAction(a.kind, f"{a.source_id}#{tag}", dict(a.payload), blocking=a.blocking)


def _counted(fin: Action) -> int | None:
    try:
        return payloads.decode(
            payloads.FinalizadoPayload, fin.payload
        ).encerramento.quantidade_interacoes
    except errors.StoreError:
        return None


def _interaction_of(a: Action | NewAction) -> str | None:
    """The id_interacao a document action belongs to (None: the request's opening)."""
    if a.kind is ActionKind.INTERACAO_DOC:
        return a.source_id
    if a.kind is ActionKind.ANEXO:
        value = a.payload.get("interacao")
        return str(value) if value else None
    return None


def _quarantine_and_doubt(inp: Inputs, planned_interactions: set[str]) -> Iterable[Finding]:
    protocolo = inp.snapshot.protocolo
    for ev in inp.events:
        if ev.state is not InboxState.QUARANTINED:
            continue
        if ev.tipo == _INTERACAO:
            interacao = ev.payload.get("interacao")
            id_interacao = interacao.get("id_interacao") if isinstance(interacao, dict) else None
            if id_interacao in planned_interactions:
                continue  # set aside, and its interaction was planned from SIGRC's record
        yield Finding(
            FindingKind.QUARANTINED,
            protocolo,
            detail=f"event {ev.id_evento} ({scrub.scrub(ev.tipo, limit=40)}): "
            f"{reason_code(ev.reason)}",
            since=ev.updated_at,
        )
    for a in inp.actions:
        if a.state is ActionState.QUARANTINED:
            yield Finding(
                FindingKind.QUARANTINED,
                protocolo,
                detail=f"action {a.id} {a.kind.value}: {reason_code(a.last_error)}",
                since=a.state_since,
            )
        elif a.state in _WAITING:
            yield Finding(
                FindingKind.UNCERTAIN,
                protocolo,
                detail=f"action {a.id} {a.kind.value} {a.state.value} after {a.attempts} "
                "attempt(s)",
                since=a.state_since,
            )


def check_request(inp: Inputs, mappings: mapping.Mappings) -> RequestCheck:
    """The findings for one request and the repairs ``--fix`` would enqueue."""
    s = inp.snapshot
    protocolo = s.protocolo
    actions = sorted(inp.actions, key=lambda a: a.seq)
    planned_interactions = {a.source_id for a in actions if a.kind is ActionKind.INTERACAO_DOC}
    findings = list(_quarantine_and_doubt(inp, planned_interactions))
    m = mappings.servico(s.servico_codigo)
    if m is None or any(ev.state is InboxState.PENDING for ev in inp.events):
        # not a service that opens a process; or the engine has not planned everything it
        # received yet (compare once it has)
        return RequestCheck(tuple(findings), ())
    closed = s.situacao in expected.CLOSED
    overdue = s.prazo_em is not None and s.prazo_em < inp.now
    repairs: list[NewAction] = []
    new = expected.unplanned(s, inp.request, actions, mappings, now=inp.now)

    def add(kind: FindingKind, **kw: object) -> None:
        findings.append(Finding(kind, protocolo, fixable=kind in FIXABLE, **kw))  # type: ignore[arg-type]

    open_action = next((a for a in actions if a.kind is ActionKind.OPEN), None)
    if open_action is None:
        quarantined = inp.request is not None and inp.request.state is RequestState.QUARANTINED
        if not quarantined:  # a quarantined request is reported as such, with its reason
            findings.append(
                Finding(
                    FindingKind.PROCESS_MISSING,
                    protocolo,
                    detail=f"SIGRC has the request (situação {s.situacao.value}, "
                    f"{len(s.interacoes)} interaction(s)); the ledger never planned it",
                    fixable=bool(new),
                )
            )
        repairs.extend(new)
        if overdue:
            add(FindingKind.OVERDUE_WITHOUT_PROCESS, detail=_prazo(s), since=s.prazo_em)
        return RequestCheck(tuple(findings), tuple(repairs))
    if open_action.state is not ActionState.DONE:
        # quarantined or uncertain (reported above), or still on its way
        if overdue and open_action.state is not ActionState.PENDING:
            add(FindingKind.OVERDUE_WITHOUT_PROCESS, detail=_prazo(s), since=s.prazo_em)
        return RequestCheck(tuple(findings), ())
    numero = str(open_action.result.get(executors.R_PROCEDIMENTO_FORMATADO) or "")
    if inp.sei_read and inp.sei is None:
        add(
            FindingKind.PROCESS_MISSING,
            processo=numero,
            detail=f"the ledger recorded process {numero}; SEI does not know it",
        )
        if overdue:
            add(
                FindingKind.OVERDUE_WITHOUT_PROCESS,
                processo=numero,
                detail=_prazo(s),
                since=s.prazo_em,
            )
        return RequestCheck(tuple(findings), ())

    # the SEI number SIGRC holds
    back = next((a for a in actions if a.kind is ActionKind.SIGRC_PROCESSO), None)
    if back is not None and back.state is ActionState.DONE and inp.sigrc_numero != numero:
        fixable = inp.sigrc_numero is None  # SIGRC's PUT is idempotent; another number: 409
        findings.append(
            Finding(
                FindingKind.SEI_NUMBER_MISMATCH,
                protocolo,
                processo=numero,
                detail=f"SIGRC holds {scrub.scrub(inp.sigrc_numero or 'no number', limit=40)}, "
                f"the ledger {numero}",
                fixable=fixable,
            )
        )
        if fixable:
            repairs.append(_redo(back, "reconcile"))

    # what the ledger never planned (the feed lost or set aside an event)
    finalized_new = False
    for a in new:
        if a.kind is ActionKind.INTERACAO_DOC:
            add(
                FindingKind.INTERACTION_MISSING,
                processo=numero,
                detail=f"interaction {a.source_id}: SIGRC has it, the ledger never planned it",
            )
        elif a.kind is ActionKind.FINALIZADO_DOC:
            finalized_new = True
            add(
                FindingKind.FINALIZADO_MISSING,
                processo=numero,
                detail=f"SIGRC closed the request ({s.situacao.value}); the ledger never "
                "planned its SP 156 Finalizado",
            )
        elif a.kind in _DOCS and _interaction_of(a) is None:
            add(
                FindingKind.DOCUMENT_MISSING,
                processo=numero,
                detail=f"{_label(a.kind, a.source_id)}: the ledger never planned it",
            )
    repairs.extend(new)

    if inp.sei is not None:
        documented = _compare_documents(inp, m, actions, numero, new, repairs, add)
        if closed and m.concluir_ao_finalizar and documented and not finalized_new:
            # adding a document reopens a concluded process: conclude it again afterwards
            repairs.append(
                NewAction(
                    ActionKind.CONCLUIR,
                    f"reconcile#{documented}",
                    payloads.encode(payloads.ProcessPayload(servico=m.codigo)),
                )
            )
        if m.concluir_ao_finalizar and closed and inp.sei.open_in_unit and not finalized_new:
            last = _last_state_change(actions)
            if (
                last is not None
                and last.kind is ActionKind.CONCLUIR
                and last.state is ActionState.DONE
            ):
                add(
                    FindingKind.PROCESS_REOPENED,
                    processo=numero,
                    detail=f"SIGRC {s.situacao.value}; the process is open in unit {m.unidade}",
                )
        if not closed and not inp.sei.open_in_unit:
            add(
                FindingKind.PROCESS_CONCLUDED,
                processo=numero,
                detail=f"SIGRC {s.situacao.value}; the process is concluded in unit {m.unidade}",
            )
    if overdue and not closed:
        add(
            FindingKind.OVERDUE_WITHOUT_FINALIZATION,
            processo=numero,
            detail=_prazo(s),
            since=s.prazo_em,
        )
    return RequestCheck(tuple(findings), tuple(_dedupe(repairs)))


def _prazo(s: models.Solicitacao) -> str:
    when = f"{s.prazo_em:%Y-%m-%d %H:%M %Z}".strip() if s.prazo_em else "?"
    return f"prazo {when}; SIGRC {s.situacao.value}"


def _label(kind: ActionKind, source_id: str) -> str:
    return f"{kind.value} {source_id}" if source_id else kind.value


def _dedupe(repairs: Iterable[NewAction]) -> list[NewAction]:
    seen: set[tuple[ActionKind, str]] = set()
    out: list[NewAction] = []
    for r in repairs:
        if (r.kind, r.source_id) not in seen:
            seen.add((r.kind, r.source_id))
            out.append(r)
    return out


def _last_state_change(actions: Sequence[Action]) -> Action | None:
    changes = [a for a in actions if a.kind in (ActionKind.CONCLUIR, ActionKind.REABRIR)]
    return changes[-1] if changes else None


def _compare_documents(
    inp: Inputs,
    m: mapping.ServicoMapping,
    actions: Sequence[Action],
    numero: str,
    new: Sequence[NewAction],
    repairs: list[NewAction],
    add: Callable[..., None],
) -> str | None:
    """Documents of the ledger ↔ documents in SEI; adds findings and repairs. Returns the source
    id of the first document repair (None when no document is repaired)."""
    sei = inp.sei
    assert sei is not None
    exps = _expectations(actions, m)
    unexplained = _match(exps, sei)
    first_repair: str | None = next(
        (a.source_id or a.kind.value for a in new if a.kind in _DOCS), None
    )
    redone: set[str] = set()
    for e in exps:
        if not e.done or e.matched:
            continue
        a = e.done[-1]
        gone = sorted(e.recorded())
        inter = _interaction_of(a)
        if inter is not None:
            kind = FindingKind.INTERACTION_MISSING
            redone.add(inter)
        elif a.kind is ActionKind.FINALIZADO_DOC:
            kind = FindingKind.FINALIZADO_MISSING
        else:
            kind = FindingKind.DOCUMENT_MISSING
        add(
            kind,
            processo=numero,
            documentos=tuple(gone),
            detail=f"{_label(a.kind, e.actions[0].source_id)} (série {e.serie}) is DONE in the "
            "ledger and not in SEI",
        )
        repair = _redo(a, f"redo-{gone[-1] if gone else a.id}")
        repairs.append(repair)
        first_repair = first_repair or repair.source_id
    for pos in unexplained:
        doc = sei.documents[pos]
        add(
            FindingKind.DOCUMENT_UNEXPLAINED,
            processo=numero,
            documentos=(doc.numero,),
            detail=f"série {scrub.scrub(doc.id_serie, limit=20)}: no SIGRC event of the "
            "request explains it",
        )
    position: dict[str, int] = {
        e.actions[0].source_id: min(e.matched)
        for e in exps
        if e.kind is ActionKind.INTERACAO_DOC and e.matched
    }
    redone |= {a.source_id for a in new if a.kind is ActionKind.INTERACAO_DOC}
    for e in exps:
        if e.kind is not ActionKind.FINALIZADO_DOC or not e.matched or not e.done:
            continue
        fin = e.done[0]
        n = _counted(fin)
        if n is None:
            continue
        counted = [i.id_interacao for i in inp.snapshot.interacoes[:n]]
        last = max(e.matched)
        late = [i for i in counted if position.get(i, -1) > last]
        if late:
            add(
                FindingKind.FINALIZADO_BEFORE_INTERACTION,
                processo=numero,
                documentos=(
                    sei.documents[last].numero,
                    *(sei.documents[position[i]].numero for i in late),
                ),
                detail=f"the SP 156 Finalizado of closure {fin.source_id} comes before "
                f"interaction(s) {', '.join(late)} it counts",
            )
        after = late or [i for i in counted if i in redone]
        if after:
            tag = f"after-{after[-1]}"
            repair = _redo(fin, tag)
            repairs.append(repair)
            first_repair = first_repair or repair.source_id
    return first_repair
