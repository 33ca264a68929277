"""Typed values of :mod:`sei_bridge.sei.types` → the WSDL structures SEI receives.

The mirror of :mod:`sei_bridge.sei.decoding`. Each builder fills the structure the way the
recorded PHP requests to a real SEI 4.1.0 do: fields SEI always reads go out even when empty
(``xsi:nil``, or ``X[0]`` for arrays); optional ones (NumeroProtocolo, IdHipoteseLegal,
NomeArquivo, ...) are left out when unset; fields the loaded WSDL lacks (SEI 3.0's Interessado
has only Sigla and Nome) are dropped by :meth:`SoapService.struct`.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sei_bridge.sei import types
from sei_bridge.sei.soap import Nil, SoapService

__all__ = ["b64", "contato", "documento", "procedimento", "sei_date", "sin"]


def sin(flag: bool) -> str:
    """SEI's ``Sin*`` flag value."""
    return "S" if flag else "N"


def sei_date(value: dt.date) -> str:
    """A date as SEI takes it (``dd/mm/yyyy``)."""
    return value.strftime("%d/%m/%Y")


def b64(content: bytes) -> str:
    """Base64 text of ``content`` (``Conteudo`` fields)."""
    return base64.b64encode(content).decode("ascii")


def _or_nil(value: str | None) -> Any:
    return Nil if value is None else value


def contato(soap: SoapService, type_name: str, who: types.Interessado) -> Any:
    """An ``Interessado``/``Remetente``/``Destinatario`` with the identifiers that are set."""
    return soap.struct(
        type_name,
        {
            "IdContato": who.id_contato,
            "Cpf": who.cpf,
            "Cnpj": who.cnpj,
            "Sigla": who.sigla,
            "Nome": who.nome,
        },
    )


def procedimento(soap: SoapService, value: types.NovoProcedimento) -> Any:
    """A ``Procedimento`` for gerarProcedimento."""
    assuntos = [
        soap.struct("Assunto", {"CodigoEstruturado": codigo, "Descricao": Nil})
        for codigo in value.assuntos
    ]
    interessados = [contato(soap, "Interessado", who) for who in value.interessados]
    return soap.struct(
        "Procedimento",
        {
            "IdTipoProcedimento": value.id_tipo_procedimento,
            "NumeroProtocolo": value.numero_protocolo,
            "DataAutuacao": sei_date(value.data_autuacao) if value.data_autuacao else None,
            "Especificacao": value.especificacao,
            "Assuntos": soap.array("ArrayOfAssunto", assuntos),
            "Interessados": soap.array("ArrayOfInteressado", interessados),
            "Observacao": _or_nil(value.observacao),
            "NivelAcesso": str(int(value.nivel_acesso)),
            "IdHipoteseLegal": value.id_hipotese_legal,
        },
    )


def documento(
    soap: SoapService,
    value: types.NovoDocumento,
    *,
    conteudo: bytes | None,
    id_arquivo: str | None,
) -> Any:
    """A ``Documento``; the content goes as ``conteudo`` (inline base64) or ``id_arquivo``
    (chunked upload), as the caller decided."""
    interessados = [contato(soap, "Interessado", who) for who in value.interessados]
    return soap.struct(
        "Documento",
        {
            "Tipo": value.tipo.value,
            "IdProcedimento": value.id_procedimento,
            "ProtocoloProcedimento": value.protocolo_procedimento,
            "IdSerie": value.id_serie,
            "Numero": _or_nil(value.numero),
            "Data": sei_date(value.data) if value.data else Nil,
            "Descricao": _or_nil(value.descricao),
            "Remetente": contato(soap, "Remetente", value.remetente) if value.remetente else None,
            "Interessados": soap.array("ArrayOfInteressado", interessados),
            "Destinatarios": Nil,
            "Observacao": _or_nil(value.observacao),
            "NomeArquivo": value.nome_arquivo,
            "NivelAcesso": Nil if value.nivel_acesso is None else str(int(value.nivel_acesso)),
            "IdHipoteseLegal": value.id_hipotese_legal,
            "Conteudo": b64(conteudo) if conteudo is not None else None,
            "IdArquivo": id_arquivo,
        },
    )
