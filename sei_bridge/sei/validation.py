"""Limits SEI is known to enforce, checked before anything is sent.

A request that breaks one would be refused by SEI anyway; refusing it here costs no round trip,
leaves nothing half-done and gives a message naming the rule. The error is
:class:`~sei_bridge.errors.SeiRequestInvalid` (a :class:`~sei_bridge.errors.SeiValidationFault`:
permanent, quarantined with the reason). Messages name the field and the numbers, never the
text itself (it may be a citizen's).

Lengths are counted as SEI will store them: a character outside Latin-1 becomes a numeric
character reference in SEI's database (``😀`` is stored as ``&#128512;``, 9 characters).
"""

from __future__ import annotations

from collections.abc import Sequence

from sei_bridge import errors
from sei_bridge.sei import types

__all__ = [
    "check_documento",
    "check_documentos",
    "check_procedimento",
    "stored_length",
]


def stored_length(text: str) -> int:
    """Length of ``text`` once SEI stores it (non-Latin-1 characters as ``&#N;``)."""
    return sum(1 if ord(ch) < 256 else len(f"&#{ord(ch)};") for ch in text)


def _refuse(operation: str, rule: str) -> errors.SeiRequestInvalid:
    return errors.SeiRequestInvalid(
        f"{operation} not sent: {rule}", operation=operation, fault=rule
    )


def _check_length(operation: str, field: str, text: str | None, limit: int) -> None:
    if text is None:
        return
    length = stored_length(text)
    if length > limit:
        raise _refuse(
            operation,
            f"{field} has {length} characters as SEI stores them (limit {limit}); shorten it",
        )


def _check_access(
    operation: str, what: str, nivel: types.NivelAcesso | None, hipotese: str | None
) -> None:
    if nivel is None or nivel == types.NivelAcesso.PUBLICO:
        return
    if nivel == types.NivelAcesso.SIGILOSO:
        raise _refuse(operation, f"{what} sigiloso cannot be created through SEI's web service")
    if not hipotese:
        raise _refuse(
            operation, f"{what} restrito needs a hipótese legal (id_hipotese_legal is empty)"
        )


def check_procedimento(operation: str, procedimento: types.NovoProcedimento) -> None:
    """Raise SeiRequestInvalid if SEI would refuse ``procedimento``."""
    if not procedimento.id_tipo_procedimento:
        raise _refuse(operation, "id_tipo_procedimento is empty")
    _check_length(operation, "especificação", procedimento.especificacao, types.MAX_ESPECIFICACAO)
    _check_length(operation, "observação", procedimento.observacao, types.MAX_OBSERVACAO)
    _check_access(operation, "processo", procedimento.nivel_acesso, procedimento.id_hipotese_legal)
    if procedimento.numero_protocolo and procedimento.data_autuacao is None:
        raise _refuse(operation, "numero_protocolo is only accepted together with data_autuacao")
    for index, interessado in enumerate(procedimento.interessados, start=1):
        if not any(
            (
                interessado.id_contato,
                interessado.cpf,
                interessado.cnpj,
                interessado.sigla,
                interessado.nome,
            )
        ):
            raise _refuse(operation, f"interessado {index} has no identification at all")


def check_documento(
    operation: str, documento: types.NovoDocumento, *, in_procedimento: bool = False
) -> None:
    """Raise SeiRequestInvalid if SEI would refuse ``documento``.

    ``in_procedimento``: the documento goes inside gerarProcedimento (no processo reference).
    """
    if not documento.id_serie:
        raise _refuse(operation, "id_serie is empty")
    _check_length(operation, "descrição", documento.descricao, types.MAX_DESCRICAO)
    _check_length(operation, "observação", documento.observacao, types.MAX_OBSERVACAO)
    _check_access(operation, "documento", documento.nivel_acesso, documento.id_hipotese_legal)
    if not in_procedimento and not (documento.protocolo_procedimento or documento.id_procedimento):
        raise _refuse(operation, "documento needs protocolo_procedimento or id_procedimento")
    if documento.tipo == types.TipoDocumento.GERADO:
        if documento.data is not None:
            raise _refuse(operation, "a generated (G) documento cannot have a data")
        if documento.nome_arquivo:
            raise _refuse(operation, "a generated (G) documento cannot have a nome_arquivo")
        if documento.id_arquivo:
            raise _refuse(operation, "a generated (G) documento cannot use id_arquivo")
        return
    if documento.data is None:
        raise _refuse(operation, "a received (R) documento needs a data")
    if documento.conteudo is not None and documento.id_arquivo:
        raise _refuse(operation, "send either conteudo or id_arquivo, never both")
    if documento.conteudo is None and not documento.id_arquivo:
        raise _refuse(operation, "a received (R) documento needs conteudo or id_arquivo")
    if documento.conteudo is not None and not documento.nome_arquivo:
        raise _refuse(operation, "a received (R) documento with conteudo needs nome_arquivo")
    if documento.nome_arquivo is not None:
        _check_nome_arquivo(operation, documento.nome_arquivo)


def _check_nome_arquivo(operation: str, nome: str) -> None:
    # AnexoRN::validarStrNomeRN0228 (SEI 4.1), on the name as SEI receives it
    if any(ord(ch) > 255 for ch in nome) or "&#" in nome:
        raise _refuse(
            operation,
            "nome_arquivo holds characters outside Latin-1 or '&#', which SEI refuses "
            '("Nome do anexo possui caracteres especiais.")',
        )
    if len(nome.strip()) > types.MAX_NOME_ARQUIVO:
        raise _refuse(
            operation,
            f"nome_arquivo has {len(nome.strip())} characters (limit {types.MAX_NOME_ARQUIVO})",
        )
    if "." not in nome.strip().strip("."):
        raise _refuse(operation, "nome_arquivo has no extension, which SEI refuses")


def check_documentos(operation: str, documentos: Sequence[types.NovoDocumento]) -> None:
    """Raise SeiRequestInvalid if SEI would refuse the documentos of one gerarProcedimento."""
    if len(documentos) > types.MAX_DOCUMENTOS_POR_GERACAO:
        raise _refuse(
            operation,
            f"{len(documentos)} documentos in one gerarProcedimento "
            f"(limit {types.MAX_DOCUMENTOS_POR_GERACAO}); add the rest with incluirDocumento",
        )
    for documento in documentos:
        check_documento(operation, documento, in_procedimento=True)
