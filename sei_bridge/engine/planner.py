"""From settled SIGRC events to ledger actions: pure functions, no I/O.

:func:`plan_event` decides what one event means for SEI, from the event, what the ledger
already holds for its request (:class:`History`) and the mappings. It returns a
:class:`Plan` (actions in the order they must happen), a :class:`Quarantine` (with the reason
an operator reads), or :class:`NeedSnapshot` when the answer depends on the request's full
state in SIGRC; the caller then fetches ``GET /v1/solicitacoes/{protocolo}`` and asks again
with ``snapshot=``. Natural keys make a repeat harmless: the store ignores an action whose
(protocolo, kind, source_id) exists.

The rules (DESIGN.md and docs/internals.md):

- registrada → OPEN, each attachment (ANEXO, non-blocking: a refused file never holds back the
  rest), SOLICITACAO_DOC, SIGRC_PROCESSO (non-blocking: SIGRC refusing the back-link must not
  stop the SEI record the Portaria requires);
- interação → its attachments, then INTERACAO_DOC;
- finalizada → every interaction it counts planned first (from the snapshot when the feed
  showed fewer), then FINALIZADO_DOC and, where the mapping says so, CONCLUIR (keyed by the
  finalizada's id_evento, so a closure after a reopening gets its own);
- reaberta → REABRIR where the mapping concludes processes (otherwise there is nothing to
  reopen: incluirDocumento reopens a process concluded by a person anyway);
- an event of a request the feed never showed registered → OPEN and the rest from the snapshot;
- an interação after one the feed served malformed (set aside in the inbox) → the missing
  earlier interactions from the snapshot first, so SEI keeps the order they happened in;
- no mapping for the service → the event and the request are quarantined, and the request's
  later events wait with it (same reason, so one replay brings them all back in order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sei_bridge import documents, mapping
from sei_bridge.engine import payloads
from sei_bridge.sei import types
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    LedgerEntry,
    NewAction,
    RequestRow,
    RequestState,
    RequestUpdate,
)

__all__ = [
    "UNMAPPED",
    "Decision",
    "History",
    "NeedSnapshot",
    "Plan",
    "Quarantine",
    "plan_event",
    "unmapped_reason",
]

#: Reason code of a request whose service has no mapping (``sei-bridge replay --reason unmapped``).
UNMAPPED = "unmapped"

Key = tuple[ActionKind, str]


def unmapped_reason(servico_codigo: str) -> str:
    """The quarantine reason of a request whose service is not mapped."""
    return (
        f"{UNMAPPED}: no mapping for servico {servico_codigo}{documents.REASON_SEPARATOR}"
        f"add it to mappings/ and run sei-bridge replay --reason {UNMAPPED}"
    )


@dataclass(frozen=True, slots=True)
class History:
    """What the ledger holds for one request when an event of it is planned."""

    request: RequestRow | None = None
    #: natural keys (kind, source_id) of the request's actions, any state
    keys: frozenset[Key] = frozenset()
    #: INTERACAO_DOC source ids in the order planned
    interactions: tuple[str, ...] = ()
    #: an earlier interaction of the request was set aside (malformed in the feed) and is not
    #: planned: the snapshot has it, and it must come before the event being planned
    missing_before: bool = False

    @classmethod
    def of(
        cls,
        request: RequestRow | None,
        actions: Iterable[Action | LedgerEntry],
        *,
        missing_before: bool = False,
    ) -> History:
        ordered = sorted(actions, key=lambda a: a.seq)
        return cls(
            request=request,
            keys=frozenset((a.kind, a.source_id) for a in ordered),
            interactions=tuple(a.source_id for a in ordered if a.kind is ActionKind.INTERACAO_DOC),
            missing_before=missing_before,
        )

    @property
    def opened(self) -> bool:
        """True once OPEN is planned (whatever its state)."""
        return (ActionKind.OPEN, "") in self.keys


@dataclass(frozen=True, slots=True)
class Plan:
    """Insert ``actions`` (in this order) and update the request."""

    request: RequestUpdate
    actions: tuple[NewAction, ...] = ()


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Set the event aside with ``reason``; with ``protocolo``, its request too."""

    reason: str
    protocolo: str | None = None


@dataclass(frozen=True, slots=True)
class NeedSnapshot:
    """Plan again with the request's full state from SIGRC (``why``: for the log)."""

    protocolo: str
    why: str


Decision = Plan | Quarantine | NeedSnapshot


@dataclass(slots=True)
class _Builder:
    """Collects actions, skipping natural keys already planned or already collected."""

    keys: set[Key]
    interactions: list[str]
    actions: list[NewAction] = field(default_factory=list)

    def add(self, action: NewAction) -> None:
        key = (action.kind, action.source_id)
        if key in self.keys:
            return
        self.keys.add(key)
        if action.kind is ActionKind.INTERACAO_DOC:
            self.interactions.append(action.source_id)
        self.actions.append(action)


def _opening(b: _Builder, s: models.Solicitacao, m: mapping.ServicoMapping) -> None:
    protocolo = s.protocolo
    who = documents.interessado(s)
    b.add(
        NewAction(
            ActionKind.OPEN,
            "",
            payloads.encode(
                payloads.OpenPayload(
                    servico=m.codigo,
                    especificacao=documents.especificacao(protocolo, s.servico_nome),
                    interessado_sigla=who.sigla or documents.sigla_interessado(protocolo),
                    interessado_nome=who.nome or "",
                    numero_protocolo=m.numero_protocolo_for(protocolo),
                    data_autuacao=types.sei_day(s.aberta_em),
                )
            ),
        )
    )
    for anexo in s.anexos:
        b.add(_anexo(protocolo, m, anexo, types.sei_day(s.aberta_em), None))
    registered = dataclasses.replace(s, interacoes=(), encerramento=None)
    b.add(
        NewAction(
            ActionKind.SOLICITACAO_DOC,
            "",
            payloads.encode(
                payloads.SolicitacaoPayload(
                    servico=m.codigo,
                    descricao=documents.descricao_solicitacao(protocolo),
                    solicitacao=registered,
                )
            ),
        )
    )
    b.add(
        NewAction(
            ActionKind.SIGRC_PROCESSO,
            "",
            payloads.encode(payloads.ProcessPayload(servico=m.codigo)),
            blocking=False,
        )
    )


def _anexo(
    protocolo: str,
    m: mapping.ServicoMapping,
    anexo: models.Anexo,
    data: dt.date,
    interacao: str | None,
) -> NewAction:
    payload = payloads.AnexoPayload(
        servico=m.codigo,
        anexo=anexo,
        descricao=documents.descricao_anexo(protocolo, anexo),
        data=data,
        interacao=interacao,
    )
    return NewAction(ActionKind.ANEXO, anexo.id_anexo, payloads.encode(payload), blocking=False)


def _interaction(
    b: _Builder, protocolo: str, m: mapping.ServicoMapping, i: models.Interacao
) -> None:
    if (ActionKind.INTERACAO_DOC, i.id_interacao) in b.keys:
        return
    for anexo in i.anexos:
        b.add(_anexo(protocolo, m, anexo, types.sei_day(i.ocorrida_em), i.id_interacao))
    b.add(
        NewAction(
            ActionKind.INTERACAO_DOC,
            i.id_interacao,
            payloads.encode(
                payloads.InteracaoPayload(
                    servico=m.codigo,
                    descricao=documents.descricao_interacao(protocolo, i),
                    interacao=i,
                )
            ),
        )
    )


def _interactions_before(
    snapshot: models.Solicitacao, interacao: models.Interacao
) -> Sequence[models.Interacao]:
    """The snapshot's interactions up to (excluding) ``interacao``; all if it is not there."""
    for index, i in enumerate(snapshot.interacoes):
        if i.id_interacao == interacao.id_interacao:
            return snapshot.interacoes[:index]
    return snapshot.interacoes


def plan_event(
    evento: models.Evento,
    history: History,
    mappings: mapping.Mappings,
    *,
    snapshot: models.Solicitacao | None = None,
) -> Decision:
    """What ``evento`` means for SEI, given the request's ``history`` (see the module doc)."""
    protocolo = evento.protocolo
    request = history.request
    if request is not None and request.state is RequestState.QUARANTINED:
        # later events wait with the request, under the same reason, so that replaying it
        # (e.g. ``--reason unmapped``) brings them back and they are planned in order
        return Quarantine(request.reason or unmapped_reason(request.servico_codigo), protocolo)
    b = _Builder(set(history.keys), list(history.interactions))

    if evento.tipo is models.TipoEvento.REGISTRADA:
        solicitacao = evento.solicitacao
        assert solicitacao is not None  # a valid registrada carries it (sigrc.parsing)
        m = mappings.servico(solicitacao.servico_codigo)
        if m is None:
            return Quarantine(unmapped_reason(solicitacao.servico_codigo), protocolo)
        _opening(b, solicitacao, m)
        return Plan(RequestUpdate(protocolo, servico_codigo=m.codigo), tuple(b.actions))

    if history.opened:
        assert request is not None  # OPEN was planned with its request row
        codigo = request.servico_codigo
    elif snapshot is None:
        return NeedSnapshot(protocolo, f"{evento.tipo.value} before any registrada in the feed")
    else:
        codigo = snapshot.servico_codigo
    m = mappings.servico(codigo)
    if m is None:
        return Quarantine(unmapped_reason(codigo), protocolo)
    if not history.opened:
        assert snapshot is not None
        _opening(b, snapshot, m)

    closures: int | None = None
    if evento.tipo is models.TipoEvento.INTERACAO:
        interacao = evento.interacao
        assert interacao is not None
        if history.missing_before and snapshot is None:
            return NeedSnapshot(protocolo, "an earlier interaction was set aside as malformed")
        if snapshot is not None:
            # the earlier ones the feed did not deliver usable, in the order they happened
            for earlier in _interactions_before(snapshot, interacao):
                _interaction(b, protocolo, m, earlier)
        _interaction(b, protocolo, m, interacao)
    elif evento.tipo is models.TipoEvento.FINALIZADA:
        encerramento = evento.encerramento
        assert encerramento is not None
        if len(b.interactions) < encerramento.quantidade_interacoes:
            if snapshot is None:
                return NeedSnapshot(
                    protocolo,
                    f"finalizada counts {encerramento.quantidade_interacoes} interactions, "
                    f"{len(b.interactions)} planned",
                )
            for i in snapshot.interacoes[: encerramento.quantidade_interacoes]:
                _interaction(b, protocolo, m, i)
        b.add(
            NewAction(
                ActionKind.FINALIZADO_DOC,
                evento.id_evento,
                payloads.encode(
                    payloads.FinalizadoPayload(
                        servico=m.codigo,
                        descricao=documents.descricao_finalizado(
                            protocolo, evento.id_evento, encerramento.encerrada_em
                        ),
                        id_evento=evento.id_evento,
                        encerramento=encerramento,
                    )
                ),
            )
        )
        if m.concluir_ao_finalizar:
            b.add(
                NewAction(
                    ActionKind.CONCLUIR,
                    evento.id_evento,
                    payloads.encode(payloads.ProcessPayload(servico=m.codigo)),
                )
            )
        closures = (request.closures if request is not None else 0) + 1
    elif evento.tipo is models.TipoEvento.REABERTA and m.concluir_ao_finalizar:
        b.add(
            NewAction(
                ActionKind.REABRIR,
                evento.id_evento,
                payloads.encode(payloads.ProcessPayload(servico=m.codigo)),
            )
        )
    return Plan(
        RequestUpdate(protocolo, servico_codigo=m.codigo, closures=closures), tuple(b.actions)
    )
