"""What each ledger action carries: typed payloads, stored as JSON in ``action.payload``.

The planner builds them from SIGRC data; the executors read them back. They hold what must not
change between attempts — above all the descrição and NumeroProtocolo the prober looks for —
while SEI ids that depend on configuration (unit, série, process type) are resolved from the
mapping when the action runs, so fixing a mapping and replaying a quarantined action works.

Payloads may hold personal data (the request's text, the citizen's name): they are never
logged and never put in exception texts. Encoding is the store's model codec (dataclass fields
by name, dates in ISO 8601).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sei_bridge.sigrc import models
from sei_bridge.store import codec

__all__ = [
    "AnexoPayload",
    "FinalizadoPayload",
    "InteracaoPayload",
    "OpenPayload",
    "ProcessPayload",
    "SolicitacaoPayload",
    "decode",
    "encode",
]

_P = TypeVar("_P")


@dataclass(frozen=True, slots=True)
class OpenPayload:
    """OPEN: ``gerarProcedimento`` without documents."""

    servico: str
    especificacao: str
    interessado_sigla: str
    interessado_nome: str
    #: from the mapping's ``sei.numero_protocolo``; None: SEI numbers the process
    numero_protocolo: str | None
    data_autuacao: dt.date


@dataclass(frozen=True, slots=True)
class AnexoPayload:
    """ANEXO: one attachment as an external document (Tipo R)."""

    servico: str
    anexo: models.Anexo
    descricao: str
    #: the document's date: when the request was opened or the interaction happened
    data: dt.date
    #: the interaction it came with; None: an attachment of the request itself
    interacao: str | None = None


@dataclass(frozen=True, slots=True)
class SolicitacaoPayload:
    """SOLICITACAO_DOC: the opening document "Solicitação SP156 nº …"."""

    servico: str
    descricao: str
    #: the request as registered (without its interactions)
    solicitacao: models.Solicitacao


@dataclass(frozen=True, slots=True)
class InteracaoPayload:
    """INTERACAO_DOC: one document per interaction."""

    servico: str
    descricao: str
    interacao: models.Interacao


@dataclass(frozen=True, slots=True)
class FinalizadoPayload:
    """FINALIZADO_DOC: "SP 156 Finalizado" for one closure."""

    servico: str
    descricao: str
    id_evento: str
    encerramento: models.Encerramento


@dataclass(frozen=True, slots=True)
class ProcessPayload:
    """SIGRC_PROCESSO, CONCLUIR and REABRIR: everything else comes from the OPEN result."""

    servico: str


def encode(payload: Any) -> dict[str, Any]:
    """The JSON form of a payload."""
    encoded = codec.encode(payload)
    assert isinstance(encoded, dict)
    return encoded


def decode(cls: type[_P], data: Mapping[str, Any]) -> _P:
    """Rebuild a payload (raises StoreError naming the field when the row does not fit)."""
    return codec.decode(cls, data)
