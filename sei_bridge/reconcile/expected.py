"""What SIGRC's record of a request calls for that the ledger does not hold yet.

The engine's own planner decides it (:func:`sei_bridge.engine.planner.plan_event`): the
request's current snapshot is replayed as the events the feed would have delivered — a
registrada when the ledger never opened the request, an interação for each interaction the
ledger lacks, a finalizada when SIGRC's current closure has no "SP 156 Finalizado" planned —
against the ledger's history. What the planner returns is exactly what is missing, with the
natural keys the engine uses, so ``--fix`` can enqueue it and the feed delivering the same
event later changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

from sei_bridge import errors, mapping
from sei_bridge.engine import payloads, planner
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    NewAction,
    RequestRow,
    RequestState,
)

__all__ = ["CLOSED", "closure_covered", "id_evento_for_closure", "unplanned"]

#: SIGRC situações of a closed request
CLOSED = frozenset(
    {models.Situacao.FINALIZADA, models.Situacao.INDEFERIDA, models.Situacao.CANCELADA}
)


def id_evento_for_closure(protocolo: str, encerramento: models.Encerramento) -> str:
    """The source id of a closure the feed never delivered: derived from SIGRC's record, so
    repeating ``--fix`` plans it once."""
    moment = encerramento.encerrada_em.astimezone(dt.UTC)
    return f"reconcile-{protocolo}-{moment:%Y%m%dT%H%M%SZ}"


def closure_covered(actions: Iterable[Action], encerramento: models.Encerramento) -> bool:
    """True when the ledger planned a "SP 156 Finalizado" for this closure (any state)."""
    for a in actions:
        if a.kind is not ActionKind.FINALIZADO_DOC:
            continue
        try:
            p = payloads.decode(payloads.FinalizadoPayload, a.payload)
        except errors.StoreError:
            continue
        if p.encerramento.encerrada_em == encerramento.encerrada_em:
            return True
    return False


def _stand_in(snapshot: models.Solicitacao, now: dt.datetime) -> RequestRow:
    """The request row the planner reads, for a request the ledger does not know yet."""
    return RequestRow(
        protocolo=snapshot.protocolo,
        servico_codigo=snapshot.servico_codigo,
        state=RequestState.ACTIVE,
        reason=None,
        id_procedimento=None,
        procedimento_formatado=None,
        link_acesso=None,
        next_seq=0,
        closures=0,
        created_at=now,
        updated_at=now,
    )


def _events(
    snapshot: models.Solicitacao, actions: Sequence[Action], *, opened: bool
) -> list[models.Evento]:
    protocolo = snapshot.protocolo
    events: list[models.Evento] = []
    if not opened:
        events.append(
            models.Evento(
                id_evento=f"reconcile-{protocolo}-registrada",
                sequencia=0,
                tipo=models.TipoEvento.REGISTRADA,
                ocorrido_em=snapshot.aberta_em,
                protocolo=protocolo,
                solicitacao=snapshot,
            )
        )
    planned = {a.source_id for a in actions if a.kind is ActionKind.INTERACAO_DOC}
    for i in snapshot.interacoes:
        if i.id_interacao not in planned:
            events.append(
                models.Evento(
                    id_evento=f"reconcile-{protocolo}-{i.id_interacao}",
                    sequencia=0,
                    tipo=models.TipoEvento.INTERACAO,
                    ocorrido_em=i.ocorrida_em,
                    protocolo=protocolo,
                    interacao=i,
                )
            )
    enc = snapshot.encerramento
    if snapshot.situacao in CLOSED and enc is not None and not closure_covered(actions, enc):
        events.append(
            models.Evento(
                id_evento=id_evento_for_closure(protocolo, enc),
                sequencia=0,
                tipo=models.TipoEvento.FINALIZADA,
                ocorrido_em=enc.encerrada_em,
                protocolo=protocolo,
                encerramento=enc,
            )
        )
    return events


def unplanned(
    snapshot: models.Solicitacao,
    request: RequestRow | None,
    actions: Sequence[Action],
    mappings: mapping.Mappings,
    *,
    now: dt.datetime,
) -> tuple[NewAction, ...]:
    """The actions the planner would add to the ledger for SIGRC's ``snapshot``, in order
    (empty when the ledger holds everything the record calls for)."""
    history = planner.History.of(request or _stand_in(snapshot, now), actions)
    found: list[NewAction] = []
    for evento in _events(snapshot, actions, opened=history.opened):
        decision = planner.plan_event(evento, history, mappings, snapshot=snapshot)
        if not isinstance(decision, planner.Plan):
            continue  # quarantined by the planner (unmapped): the quarantine reports it
        found.extend(decision.actions)
        new = [(a.kind, a.source_id) for a in decision.actions]
        history = dataclasses.replace(
            history,
            keys=history.keys | frozenset(new),
            interactions=history.interactions
            + tuple(a.source_id for a in decision.actions if a.kind is ActionKind.INTERACAO_DOC),
        )
    return tuple(found)
