"""A request as SIGRC's own records hold it, kept up to date as events are written.

The feed serves events; ``GET /v1/solicitacoes`` and ``GET /v1/solicitacoes/{protocolo}`` serve
the request's *current* state, which this module derives from every event written so far
(visible or not yet: commit lag is a property of the feed, not of SIGRC's tables). Events that
are malformed on purpose carry their well-formed original (``intact``), which is what the
records hold: the interaction exists in SIGRC even if the feed rendered it badly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sei_bridge.sandboxes.traffic import SP_TZ, HardCase

__all__ = ["CLOSED", "EventMeta", "ProcessoSeiPut", "RequestRecord", "meta_of"]

#: Situações of a closed request.
CLOSED = frozenset({"FINALIZADA", "INDEFERIDA", "CANCELADA"})
_SITUACAO_OF_RESULTADO = {
    "ATENDIDA": "FINALIZADA",
    "NAO_ATENDIDA": "FINALIZADA",
    "INDEFERIDA": "INDEFERIDA",
    "CANCELADA": "CANCELADA",
}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class EventMeta:
    """What the simulator needs to know about an event, read leniently from any dict."""

    id_evento: str | None
    tipo: str | None
    protocolo: str | None
    orgao: str | None = None  #: from a registrada's solicitacao; None for other tipos
    servico_codigo: str | None = None
    ocorrido_em: dt.datetime | None = None
    situacao: str | None = None  #: the situação the request has after this event
    interaction: bool = False  #: the event adds an interaction to the request
    registers: bool = False  #: a registrada carrying the request


def meta_of(payload: Mapping[str, Any]) -> EventMeta:
    """The meta of ``payload``; never raises, whatever the payload's shape."""
    tipo = _str(payload.get("tipo"))
    orgao = servico = situacao = None
    interaction = registers = False
    if tipo == "solicitacao.registrada" and isinstance(payload.get("solicitacao"), Mapping):
        solicitacao = payload["solicitacao"]
        orgao = _str(_dict(solicitacao.get("orgao")).get("sigla"))
        servico = _str(_dict(solicitacao.get("servico")).get("codigo"))
        situacao = _str(solicitacao.get("situacao")) or "ABERTA"
        registers = True
    elif tipo == "solicitacao.interacao":
        interacao = _dict(payload.get("interacao"))
        asks = (
            interacao.get("autor") == "ORGAO" and interacao.get("tipo") == "SOLICITACAO_COMPLEMENTO"
        )
        situacao = "AGUARDANDO_MUNICIPE" if asks else "EM_ANDAMENTO"
        interaction = True
    elif tipo == "solicitacao.finalizada":
        resultado = _dict(payload.get("encerramento")).get("resultado")
        situacao = _SITUACAO_OF_RESULTADO.get(str(resultado))
    elif tipo == "solicitacao.reaberta":
        situacao = "EM_ANDAMENTO"
    return EventMeta(
        _str(payload.get("id_evento")),
        tipo,
        _str(payload.get("protocolo")),
        orgao,
        servico,
        _moment(payload.get("ocorrido_em")),
        situacao,
        interaction,
        registers,
    )


@dataclass(frozen=True, slots=True)
class ProcessoSeiPut:
    """One ``PUT .../processo-sei`` call as the simulator answered it."""

    at: float  #: simulator clock
    numero_processo: str
    link_acesso: str | None
    status: int  #: 204 recorded (or same again), 409 a different number was already recorded


@dataclass(slots=True)
class RequestRecord:
    """SIGRC's current record of one request (mutable; guarded by the state's lock)."""

    protocolo: str
    orgao: str | None = None
    servico_codigo: str | None = None
    situacao: str | None = None
    interacoes: int = 0
    atualizada_em: dt.datetime | None = None
    registered: bool = False  #: a well-formed registrada was written
    sequencias: list[int] = field(default_factory=list)  #: its events, duplicates excluded
    processo_sei: str | None = None
    link_acesso: str | None = None
    puts: list[ProcessoSeiPut] = field(default_factory=list)
    hard_cases: frozenset[HardCase] = frozenset()
    #: a deadline set by hand (``SimulatorState.amend_request``), ``...`` for the registrada's
    prazo_em: dt.datetime | object | None = ...

    def apply(self, meta: EventMeta, sequencia: int) -> None:
        """Take the effect of an event just written."""
        self.sequencias.append(sequencia)
        if meta.registers:
            self.registered = True
            self.orgao = meta.orgao or self.orgao
            self.servico_codigo = meta.servico_codigo
            # A registrada written after later events (only by hand) must not reopen the request.
            self.situacao = self.situacao or meta.situacao
        elif meta.situacao and not (meta.interaction and self.situacao in CLOSED):
            self.situacao = meta.situacao
        if meta.interaction:
            self.interacoes += 1
        if meta.ocorrido_em and (
            self.atualizada_em is None or meta.ocorrido_em > self.atualizada_em
        ):
            self.atualizada_em = meta.ocorrido_em

    def summary_json(self) -> dict[str, Any]:
        """The ``SolicitacaoResumo`` of the contract."""
        atualizada = self.atualizada_em.astimezone(SP_TZ) if self.atualizada_em else None
        return {
            "protocolo": self.protocolo,
            "servico_codigo": self.servico_codigo or "",
            "situacao": self.situacao or "ABERTA",
            "quantidade_interacoes": self.interacoes,
            "atualizada_em": atualizada.isoformat(timespec="seconds") if atualizada else "",
            "processo_sei": self.processo_sei,
        }

    def snapshot_json(self, bodies: Iterable[bytes]) -> dict[str, Any] | None:
        """The full ``Solicitacao`` from the bodies of this request's events, in order; None
        when no well-formed registrada is among them."""
        solicitacao: dict[str, Any] | None = None
        interacoes: list[Any] = []
        encerramento: Any = None
        for body in bodies:
            event = json.loads(body)
            tipo = event.get("tipo")
            if tipo == "solicitacao.registrada" and isinstance(event.get("solicitacao"), dict):
                solicitacao = dict(event["solicitacao"])
            elif tipo == "solicitacao.interacao" and isinstance(event.get("interacao"), dict):
                interacoes.append(event["interacao"])
            elif tipo == "solicitacao.finalizada" and isinstance(event.get("encerramento"), dict):
                encerramento = event["encerramento"]
            elif tipo == "solicitacao.reaberta":
                encerramento = None
        if solicitacao is None:
            return None
        solicitacao["situacao"] = self.situacao or solicitacao.get("situacao", "ABERTA")
        solicitacao["interacoes"] = interacoes
        solicitacao["encerramento"] = encerramento if self.situacao in CLOSED else None
        solicitacao["processo_sei"] = self.processo_sei
        if self.prazo_em is not ...:
            prazo = self.prazo_em
            solicitacao["prazo_em"] = prazo.isoformat() if isinstance(prazo, dt.datetime) else None
        return solicitacao

    def record_put(self, at: float, numero_processo: str, link_acesso: str | None) -> int:
        """Record a ``PUT .../processo-sei``; the HTTP status to answer (204 or 409)."""
        if self.processo_sei is None:
            self.processo_sei, self.link_acesso = numero_processo, link_acesso
            status = 204
        else:
            status = 204 if self.processo_sei == numero_processo else 409
        self.puts.append(ProcessoSeiPut(at, numero_processo, link_acesso, status))
        return status
