"""SEI's answers (as zeep decodes them) → the typed values of :mod:`sei_bridge.sei.types`.

zeep hands back ``CompoundValue`` objects and lists; callers of the client never see them. Every
reader tolerates fields a given SEI version does not have (3.0 has no ``Descricao`` in
``RetornoConsultaDocumento``, no ``NivelAcessoLocal`` ...) and SEI's habit of sending nil
structures (``<AndamentoConclusao xsi:nil="true"/>`` decodes as an object of Nones).
"""

from __future__ import annotations

import logging
from typing import Any

from sei_bridge import chars
from sei_bridge.sei import types

__all__ = [
    "MAX_LINK_LENGTH",
    "InvalidAnswer",
    "andamento",
    "andamentos",
    "contatos",
    "documento_consultado",
    "documento_incluido",
    "extensoes",
    "hipoteses_legais",
    "procedimento_consultado",
    "procedimento_gerado",
    "series",
    "text",
    "tipos_procedimento",
    "unidade",
    "unidades",
]

log = logging.getLogger(__name__)

#: the longest LinkAcesso kept (SEI's are about 150 characters)
MAX_LINK_LENGTH = 2048


class InvalidAnswer(ValueError):
    """A field of SEI's answer that sei-bridge must not use or forward. ``field`` names it;
    the message never quotes the value. The client turns it into the error that fits the
    operation (:mod:`sei_bridge.sei.client`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field


def text(value: Any, name: str) -> str | None:
    """Field ``name`` of ``value`` as a string, None when absent, nil or empty."""
    if value is None:
        return None
    try:
        field = value[name]
    except (KeyError, TypeError, IndexError, AttributeError):
        field = getattr(value, name, None)
    if field is None:
        return None
    result = str(field)
    return result if result != "" else None


def _child(value: Any, name: str) -> Any:
    if value is None:
        return None
    try:
        return value[name]
    except (KeyError, TypeError, IndexError, AttributeError):
        return getattr(value, name, None)


def _items(value: Any) -> list[Any]:
    # An empty SOAP-ENC array decodes as [] or None; a single item is still a list in zeep.
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [item for item in value if item is not None]
    return [value]


def _required(value: Any, name: str) -> str:
    return text(value, name) or ""


def _numero(value: Any, name: str) -> str:
    """A ProcedimentoFormatado / DocumentoFormatado: what we send back to SEI in every later
    call and PUT to SIGRC, so one SEI could never make (at most 40 characters, no control
    character) is refused, not cut."""
    numero = _required(value, name)
    if len(numero) > types.MAX_PROTOCOLO_FORMATADO:
        raise InvalidAnswer(
            name, f"is longer than SEI's {types.MAX_PROTOCOLO_FORMATADO} characters"
        )
    found = chars.first_control(numero)
    if found is not None:
        raise InvalidAnswer(name, f"holds the control character {chars.describe(found)}")
    return numero


#: the most digits a SEI id has (a BIGINT)
_MAX_ID_DIGITS = 20


def _id(value: Any, name: str) -> str:
    """IdProcedimento / IdDocumento: SEI's ids are numbers (sent back in later calls and kept
    in the ledger); anything else in their place is refused. Absent stays ""."""
    found = _required(value, name)
    if found and not (found.isascii() and found.isdigit() and len(found) <= _MAX_ID_DIGITS):
        raise InvalidAnswer(name, f"is not a number of at most {_MAX_ID_DIGITS} digits")
    return found


def _link(value: Any) -> str:
    """LinkAcesso, or "" when it is not an http(s) URL: it is only shown and handed to SIGRC
    (which shows it to the citizen), so a ``javascript:`` or CR LF link is dropped, with a
    warning, rather than failing an effect that already happened."""
    link = _required(value, "LinkAcesso")
    problem = chars.http_url_problem(link, max_length=MAX_LINK_LENGTH) if link else None
    if problem is None:
        return link
    log.warning("SEI sent a LinkAcesso that %s: not kept, nor sent to SIGRC", problem)
    return ""


def unidade(value: Any) -> types.Unidade | None:
    """``Unidade``; None for a nil or empty one."""
    id_unidade = text(value, "IdUnidade")
    if id_unidade is None:
        return None
    return types.Unidade(
        id_unidade=id_unidade,
        sigla=_required(value, "Sigla"),
        descricao=_required(value, "Descricao"),
    )


def unidades(value: Any) -> list[types.Unidade]:
    """``ArrayOfUnidade``."""
    return [u for u in (unidade(item) for item in _items(value)) if u is not None]


def andamento(value: Any) -> types.Andamento | None:
    """``Andamento``; None for a nil one (no Descricao and no DataHora)."""
    descricao = text(value, "Descricao")
    data_hora = text(value, "DataHora")
    if descricao is None and data_hora is None:
        return None
    atributos = tuple(
        (_required(item, "Nome"), text(item, "Valor"))
        for item in _items(_child(value, "Atributos"))
    )
    return types.Andamento(
        # consultarProcedimento's AndamentoGeracao/UltimoAndamento carry no ids: "".
        id_andamento=_required(value, "IdAndamento"),
        id_tarefa=_required(value, "IdTarefa"),
        descricao=descricao or "",
        data_hora=data_hora or "",
        unidade=unidade(_child(value, "Unidade")),
        atributos=atributos,
    )


def andamentos(value: Any) -> list[types.Andamento]:
    """``ArrayOfAndamento``."""
    return [a for a in (andamento(item) for item in _items(value)) if a is not None]


def documento_incluido(value: Any) -> types.DocumentoIncluido:
    """``RetornoInclusaoDocumento``."""
    return types.DocumentoIncluido(
        id_documento=_id(value, "IdDocumento"),
        documento_formatado=_numero(value, "DocumentoFormatado"),
        link_acesso=_link(value),
    )


def procedimento_gerado(value: Any) -> types.ProcedimentoGerado:
    """``RetornoGeracaoProcedimento``."""
    return types.ProcedimentoGerado(
        id_procedimento=_id(value, "IdProcedimento"),
        procedimento_formatado=_numero(value, "ProcedimentoFormatado"),
        link_acesso=_link(value),
        documentos=tuple(
            documento_incluido(item) for item in _items(_child(value, "RetornoInclusaoDocumentos"))
        ),
    )


def _interessados(value: Any) -> tuple[types.Interessado, ...]:
    return tuple(
        types.Interessado(
            sigla=text(item, "Sigla"),
            nome=text(item, "Nome"),
            id_contato=text(item, "IdContato"),
            cpf=text(item, "Cpf"),
            cnpj=text(item, "Cnpj"),
        )
        for item in _items(value)
    )


def procedimento_consultado(value: Any) -> types.ProcedimentoConsultado:
    """``RetornoConsultaProcedimento``."""
    tipo = _child(value, "TipoProcedimento")
    abertas = (
        unidade(_child(item, "Unidade"))
        for item in _items(_child(value, "UnidadesProcedimentoAberto"))
    )
    return types.ProcedimentoConsultado(
        id_procedimento=_id(value, "IdProcedimento"),
        procedimento_formatado=_numero(value, "ProcedimentoFormatado"),
        especificacao=text(value, "Especificacao"),
        data_autuacao=text(value, "DataAutuacao"),
        link_acesso=_link(value),
        nivel_acesso_local=text(value, "NivelAcessoLocal"),
        id_tipo_procedimento=text(tipo, "IdTipoProcedimento"),
        nome_tipo_procedimento=text(tipo, "Nome"),
        assuntos=tuple(
            types.Assunto(
                codigo_estruturado=_required(item, "CodigoEstruturado"),
                descricao=_required(item, "Descricao"),
            )
            for item in _items(_child(value, "Assuntos"))
        ),
        interessados=_interessados(_child(value, "Interessados")),
        unidades_aberto=tuple(u for u in abertas if u is not None),
        andamento_conclusao=andamento(_child(value, "AndamentoConclusao")),
        ultimo_andamento=andamento(_child(value, "UltimoAndamento")),
    )


def documento_consultado(value: Any) -> types.DocumentoConsultado:
    """``RetornoConsultaDocumento``."""
    serie = _child(value, "Serie")
    return types.DocumentoConsultado(
        id_procedimento=_id(value, "IdProcedimento"),
        procedimento_formatado=_numero(value, "ProcedimentoFormatado"),
        id_documento=_id(value, "IdDocumento"),
        documento_formatado=_numero(value, "DocumentoFormatado"),
        link_acesso=_link(value),
        id_serie=_required(serie, "IdSerie"),
        nome_serie=_required(serie, "Nome"),
        numero=text(value, "Numero"),
        descricao=text(value, "Descricao"),
        data=text(value, "Data"),
    )


def contatos(value: Any) -> list[types.Contato]:
    """``ArrayOfContato`` (only the identifying fields; addresses are never kept)."""
    return [
        types.Contato(
            id_contato=_required(item, "IdContato"),
            sigla=text(item, "Sigla"),
            nome=text(item, "Nome"),
        )
        for item in _items(value)
    ]


def tipos_procedimento(value: Any) -> list[types.TipoProcedimento]:
    """``ArrayOfTipoProcedimento``."""
    return [
        types.TipoProcedimento(
            id_tipo_procedimento=_required(item, "IdTipoProcedimento"),
            nome=_required(item, "Nome"),
        )
        for item in _items(value)
    ]


def series(value: Any) -> list[types.Serie]:
    """``ArrayOfSerie``."""
    return [
        types.Serie(
            id_serie=_required(item, "IdSerie"),
            nome=_required(item, "Nome"),
            aplicabilidade=text(item, "Aplicabilidade"),
        )
        for item in _items(value)
    ]


def _nivel(value: str | None) -> types.NivelAcesso:
    try:
        return types.NivelAcesso(int(value or "0"))
    except ValueError:
        return types.NivelAcesso.RESTRITO


def hipoteses_legais(value: Any) -> list[types.HipoteseLegal]:
    """``ArrayOfHipoteseLegal``."""
    return [
        types.HipoteseLegal(
            id_hipotese_legal=_required(item, "IdHipoteseLegal"),
            nome=_required(item, "Nome"),
            base_legal=text(item, "BaseLegal"),
            nivel_acesso=_nivel(text(item, "NivelAcesso")),
        )
        for item in _items(value)
    ]


def extensoes(value: Any) -> list[types.ExtensaoPermitida]:
    """``ArrayOfArquivoExtensao``; extensions lower case without the dot."""
    return [
        types.ExtensaoPermitida(
            id_arquivo_extensao=_required(item, "IdArquivoExtensao"),
            extensao=_required(item, "Extensao").strip().lstrip(".").lower(),
            descricao=text(item, "Descricao"),
        )
        for item in _items(value)
    ]
