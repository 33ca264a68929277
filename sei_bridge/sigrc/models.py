"""Typed SIGRC feed models (see ../shared/contracts/sigrc-feed.openapi.yaml).

Field names are SIGRC's own. Every model is a frozen dataclass; parsing and validation of the
JSON the feed serves live in :mod:`sei_bridge.sigrc.parsing`, so that a malformed event becomes a
:class:`QuarantinedEvent` carrying the validation error instead of an exception that stops the
feed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Anexo",
    "Canal",
    "Encerramento",
    "Endereco",
    "EventPage",
    "Evento",
    "FeedItem",
    "Interacao",
    "Municipe",
    "QuarantinedEvent",
    "Reabertura",
    "Resultado",
    "Situacao",
    "Solicitacao",
    "SolicitacaoResumo",
    "SolicitacoesPage",
    "TipoEvento",
    "UnknownEvent",
]


class TipoEvento(enum.StrEnum):
    """Known ``Evento.tipo`` values; others may appear and are recorded and skipped."""

    REGISTRADA = "solicitacao.registrada"
    INTERACAO = "solicitacao.interacao"
    FINALIZADA = "solicitacao.finalizada"
    REABERTA = "solicitacao.reaberta"


class Canal(enum.StrEnum):
    CENTRAL_TELEFONICA = "CENTRAL_TELEFONICA"
    PORTAL = "PORTAL"
    APLICATIVO = "APLICATIVO"
    CHAT = "CHAT"
    PRACA_ATENDIMENTO = "PRACA_ATENDIMENTO"
    OUTRO = "OUTRO"


class Situacao(enum.StrEnum):
    ABERTA = "ABERTA"
    EM_ANDAMENTO = "EM_ANDAMENTO"
    AGUARDANDO_MUNICIPE = "AGUARDANDO_MUNICIPE"
    FINALIZADA = "FINALIZADA"
    INDEFERIDA = "INDEFERIDA"
    CANCELADA = "CANCELADA"


class Resultado(enum.StrEnum):
    ATENDIDA = "ATENDIDA"
    NAO_ATENDIDA = "NAO_ATENDIDA"
    INDEFERIDA = "INDEFERIDA"
    CANCELADA = "CANCELADA"


@dataclass(frozen=True, slots=True)
class Anexo:
    id_anexo: str
    nome_arquivo: str
    tipo_conteudo: str
    tamanho_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Municipe:
    """The citizen. Personal data: never logged, never in exception texts."""

    nome: str
    cpf: str | None = None
    cnpj: str | None = None
    email: str | None = None
    telefone: str | None = None

    def __repr__(self) -> str:
        return "Municipe([secure])"


@dataclass(frozen=True, slots=True)
class Endereco:
    """Personal data: never logged."""

    logradouro: str | None = None
    numero: str | None = None
    complemento: str | None = None
    cep: str | None = None
    bairro: str | None = None
    distrito: str | None = None
    subprefeitura: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def __repr__(self) -> str:
        return "Endereco([secure])"


@dataclass(frozen=True, slots=True)
class Interacao:
    id_interacao: str
    autor: str  #: MUNICIPE, ORGAO or ATENDENTE
    tipo: str  #: COMPLEMENTO, RESPOSTA, SOLICITACAO_COMPLEMENTO or MANIFESTACAO
    texto: str = field(repr=False)
    anexos: tuple[Anexo, ...]
    ocorrida_em: dt.datetime
    canal: str | None = None


@dataclass(frozen=True, slots=True)
class Encerramento:
    resultado: Resultado
    texto: str = field(repr=False)
    encerrada_em: dt.datetime
    quantidade_interacoes: int
    responsavel_nome: str | None = field(default=None, repr=False)
    responsavel_unidade: str | None = None


@dataclass(frozen=True, slots=True)
class Reabertura:
    motivo: str = field(repr=False)
    reaberta_em: dt.datetime


@dataclass(frozen=True, slots=True)
class Solicitacao:
    """A citizen request, as in the ``registrada`` event or ``GET /v1/solicitacoes/{protocolo}``
    (only the latter fills ``interacoes``)."""

    protocolo: str
    servico_codigo: str
    servico_nome: str
    canal: Canal
    orgao_sigla: str
    orgao_nome: str
    unidade_codigo: str
    unidade_nome: str
    anonima: bool
    descricao: str = field(repr=False)
    anexos: tuple[Anexo, ...]
    aberta_em: dt.datetime
    situacao: Situacao
    municipe: Municipe | None = None
    endereco: Endereco | None = None
    tema: str | None = None
    assunto: str | None = None
    prazo_em: dt.datetime | None = None
    interacoes: tuple[Interacao, ...] = ()
    encerramento: Encerramento | None = None
    processo_sei: str | None = None


@dataclass(frozen=True, slots=True)
class Evento:
    """A valid feed event of a known ``tipo``; exactly the payload of its tipo is set."""

    id_evento: str
    sequencia: int
    tipo: TipoEvento
    ocorrido_em: dt.datetime
    protocolo: str
    solicitacao: Solicitacao | None = None
    interacao: Interacao | None = None
    encerramento: Encerramento | None = None
    reabertura: Reabertura | None = None


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event whose ``tipo`` this version does not know: recorded, then skipped."""

    id_evento: str
    sequencia: int
    tipo: str
    protocolo: str | None
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class QuarantinedEvent:
    """An event that failed validation. Never dropped: the engine quarantines it with ``error``.

    ``id_evento`` / ``sequencia`` / ``protocolo`` are whatever could be read (a synthetic id is
    derived from the raw bytes when ``id_evento`` itself is missing, so the quarantine is
    still deduplicated across re-reads).
    """

    id_evento: str
    sequencia: int | None
    protocolo: str | None
    error: str  #: one line, no personal data: which field is wrong and why
    raw: dict[str, Any] = field(repr=False)


FeedItem = Evento | UnknownEvent | QuarantinedEvent


@dataclass(frozen=True, slots=True)
class SolicitacaoResumo:
    """One line of ``GET /v1/solicitacoes`` (reconciliation): a request's current summary."""

    protocolo: str
    servico_codigo: str
    situacao: str  #: SIGRC's situação as served (not checked against :class:`Situacao`)
    quantidade_interacoes: int
    atualizada_em: dt.datetime
    processo_sei: str | None = None


@dataclass(frozen=True, slots=True)
class SolicitacoesPage:
    """One page of ``GET /v1/solicitacoes``."""

    resumos: tuple[SolicitacaoResumo, ...]
    pagina: int
    #: as SIGRC announces it (a reader keeps its own budget of pages)
    total_paginas: int


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of ``GET /v1/eventos``: every event parsed (never dropped) and the paging data."""

    items: tuple[FeedItem, ...]
    #: sequencia of the page's last event as SIGRC reports it (None on an empty page)
    ultima_sequencia: int | None
    ha_mais: bool
    #: longest commit lag in seconds (see the contract's delivery semantics)
    atraso_maximo_segundos: int
