"""Requests the contract cases send, built from the target's ids, and the raw calls that skip
the client's own checks (to see what SEI itself says)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sei_bridge import errors
from sei_bridge.sei import structures, types
from sei_bridge.sei.client import SeiClient
from sei_bridge.sei.html import FragmentBuilder
from sei_bridge.sei.soap import Nil
from tests.contract.targets import Target

#: a small valid PDF (what the tests attach)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def procedimento(sei: Target, **changes: Any) -> types.NovoProcedimento:
    base = types.NovoProcedimento(
        id_tipo_procedimento=sei.ids.tipo,
        especificacao="Solicitação SP156 contrato",
        assuntos=(sei.ids.assunto,),
        interessados=(types.Interessado(sigla=unique("SP156"), nome=unique("Munícipe")),),
        observacao="aberto pela suíte de contrato do sei-bridge",
        nivel_acesso=types.NivelAcesso.RESTRITO,
        id_hipotese_legal=sei.ids.hipotese,
    )
    return dataclasses.replace(base, **changes)


def gerado(sei: Target, protocolo: str | None, html: bytes | None = None, **changes: Any) -> Any:
    return dataclasses.replace(
        types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=sei.ids.serie_gerado,
            protocolo_procedimento=protocolo,
            descricao=unique("Interação"),
            conteudo=html if html is not None else FragmentBuilder("Interação").render(),
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=sei.ids.hipotese,
        ),
        **changes,
    )


def recebido(sei: Target, protocolo: str, content: bytes = PDF, **changes: Any) -> Any:
    return dataclasses.replace(
        types.NovoDocumento(
            tipo=types.TipoDocumento.RECEBIDO,
            id_serie=sei.ids.serie_anexo,
            protocolo_procedimento=protocolo,
            descricao=unique("Anexo"),
            data=dt.date(2026, 11, 22),
            nome_arquivo="anexo.pdf",
            conteudo=content,
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=sei.ids.hipotese,
        ),
        **changes,
    )


def abrir(sei: Target, client: SeiClient | None = None, **changes: Any) -> types.ProcedimentoGerado:
    """A new processo in the suite's unit."""
    client = client or sei.client()
    return client.gerar_procedimento(
        id_unidade=sei.ids.unidade, procedimento=procedimento(sei, **changes)
    )


def fault_of(call: Callable[[], object]) -> tuple[str, str | None, type[errors.SeiError]]:
    """SEI's fault text, its ``infra_tipo_excecao`` and the client's class for it."""
    try:
        call()
    except errors.SeiError as exc:
        assert exc.fault is not None, f"not a fault SEI answered: {exc}"
        return exc.fault, exc.kind, type(exc)
    raise AssertionError("SEI accepted the call")


def raw_gerar(
    sei: Target,
    client: SeiClient,
    proc: types.NovoProcedimento,
    documentos: tuple[types.NovoDocumento, ...] = (),
    *,
    procedimento_fields: Mapping[str, Any] | None = None,
    id_unidade: str | None = None,
) -> Any:
    """gerarProcedimento as sent, without the client's checks (``procedimento_fields``
    overrides fields of the structure)."""
    soap = client.soap
    struct = structures.procedimento(soap, proc)
    for name, value in (procedimento_fields or {}).items():
        setattr(struct, name, value)
    docs = [structures.documento(soap, d, conteudo=d.conteudo, id_arquivo=None) for d in documentos]
    return soap.call(
        "gerarProcedimento",
        {
            "IdUnidade": id_unidade or sei.ids.unidade,
            "Procedimento": struct,
            "Documentos": soap.array("ArrayOfDocumento", docs),
            "SinManterAbertoUnidade": "S",
            "SinEnviarEmailNotificacao": "N",
            "SinDiasUteisRetornoProgramado": "N",
            "SinDiasUteisControlePrazo": "N",
        },
    )


def raw_incluir(
    sei: Target,
    client: SeiClient,
    documento: types.NovoDocumento,
    *,
    fields: Mapping[str, Any] | None = None,
    id_unidade: str | None = None,
) -> Any:
    """incluirDocumento as sent, without the client's checks (``fields`` override fields of
    the ``Documento``; ``Nil`` removes one)."""
    soap = client.soap
    struct = structures.documento(
        soap, documento, conteudo=documento.conteudo, id_arquivo=documento.id_arquivo
    )
    for name, value in (fields or {}).items():
        setattr(struct, name, value)
    return soap.call(
        "incluirDocumento", {"IdUnidade": id_unidade or sei.ids.unidade, "Documento": struct}
    )


__all__ = [
    "PDF",
    "Nil",
    "abrir",
    "fault_of",
    "gerado",
    "procedimento",
    "raw_gerar",
    "raw_incluir",
    "recebido",
    "unique",
]
