"""Requests go out the way PHP SoapClient sent them to a real SEI 4.1.0 (recorded requests).

Each test makes the same call through the public client API, captures the HTTP body and
compares it, canonicalised, with the recorded ``*.request.xml``: same envelope namespaces and
``encodingStyle``, same parts in the same order, ``xsi:type`` everywhere, ``SOAP-ENC:arrayType``
arrays of ``<item>``, empty arrays as ``X[0]`` and nil parts as ``xsi:nil``.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable

import pytest
import responses

from sei_bridge import errors
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded


def _answer(sei_http: responses.RequestsMock, reference_dir: str, name: str) -> None:
    response = recorded.read_response(reference_dir, name)
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        body=response.body,
        status=response.status,
        content_type=response.content_type,
    )


def _sent(sei_http: responses.RequestsMock) -> bytes:
    assert len(sei_http.calls) == 1
    body = sei_http.calls[0].request.body
    assert isinstance(body, bytes)
    return body


CALLS: dict[str, tuple[str, Callable[[SeiClient], object]]] = {
    "concluirProcesso": (
        "concluirProcesso",
        lambda c: c.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
        ),
    ),
    "processo_inexistente": (
        "processo_inexistente",
        lambda c: c.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento="99990.999999/2026-00"
        ),
    ),
    "consultarProcedimento": (
        "consultarProcedimento",
        lambda c: c.consultar_procedimento(
            id_unidade=recorded.UNIDADE,
            protocolo_procedimento=recorded.PROCESSO,
            observacoes=True,
            andamento_geracao=True,
            relacionados=True,
            anexados=True,
        ),
    ),
    "gerarProcedimento": (
        "gerarProcedimento",
        lambda c: c.gerar_procedimento(
            id_unidade=recorded.UNIDADE,
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento="100000341",
                especificacao="Teste adapter 1",
                interessados=(
                    types.Interessado(sigla="interessado-x1", nome="Interessado Novo X1"),
                ),
                observacao="obs",
                nivel_acesso=types.NivelAcesso.PUBLICO,
            ),
        ),
    ),
    "gerarProcedimento_sem_nome_interessado": (
        "gerarProcedimento_sem_nome_interessado",
        lambda c: c.gerar_procedimento(
            id_unidade=recorded.UNIDADE,
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento="100000341",
                especificacao="edge",
                interessados=(types.Interessado(sigla="so-sigla-nova"),),
                observacao="obs",
                nivel_acesso=types.NivelAcesso.PUBLICO,
            ),
        ),
    ),
    "incluirDocumento": (
        "incluirDocumento",
        lambda c: c.incluir_documento(
            id_unidade=recorded.UNIDADE,
            documento=types.NovoDocumento(
                tipo=types.TipoDocumento.GERADO,
                id_serie="5",
                protocolo_procedimento=recorded.PROCESSO,
                descricao="Despacho de teste",
                nivel_acesso=types.NivelAcesso.PUBLICO,
                conteudo=base64.b64decode(
                    "PHA+Q29udGUmdWFjdXRlO2RvIGdlcmFkbyBwZWxvIGFkYXB0ZXI6IHRlc3RlIGRlIGluY2x1cyZh"
                    "dGlsZGU7by48L3A+"
                ),
            ),
        ),
    ),
    "listarAndamentos": (
        "listarAndamentos",
        lambda c: c.listar_andamentos(
            id_unidade=recorded.UNIDADE,
            protocolo_procedimento=recorded.PROCESSO,
            tarefas=("1", "2", "28", "29", "63", "64"),
        ),
    ),
    "listarContatos": (
        "listarContatos",
        lambda c: c.listar_contatos(
            id_unidade=recorded.UNIDADE, sigla="interessado-x1", pagina_registros=10
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_request_matches_php_soapclient(
    name: str, client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    response_name, call = CALLS[name]
    _answer(sei_http, reference_dir, response_name)
    # the recorded answer may be a fault; only the request matters here
    with contextlib.suppress(errors.SeiError):
        call(client)
    expected = recorded.read_request(reference_dir, name)
    assert recorded.canonical(_sent(sei_http)) == recorded.canonical(expected)


def test_other_credentials_go_in_the_same_places(
    sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "sistema_inexistente")
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT, sigla_sistema="NAOEXISTE", identificacao_servico="X"
    )
    with pytest.raises(errors.SeiAccessDenied):
        client.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
        )
    expected = recorded.read_request(reference_dir, "sistema_inexistente")
    assert recorded.canonical(_sent(sei_http)) == recorded.canonical(expected)


def test_http_headers_are_php_soapclients(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "concluirProcesso")
    client.concluir_processo(id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO)
    request = sei_http.calls[0].request
    assert request.headers["SOAPAction"] == '"SeiAction"'
    assert request.headers["Content-Type"].startswith("text/xml")
    assert request.url == recorded.ENDPOINT


def test_listar_andamentos_without_criterion_is_refused_before_sending(
    client: SeiClient, sei_http: responses.RequestsMock
) -> None:
    # What the recorded listarAndamentos_semcriterio exchange shows SEI would refuse.
    with pytest.raises(errors.SeiRequestInvalid) as caught:
        client.listar_andamentos(
            id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO, tarefas=()
        )
    assert caught.value.operation == "listarAndamentos"
    assert len(sei_http.calls) == 0
