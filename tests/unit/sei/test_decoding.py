"""Every answer recorded from a real SEI 4.1.0 decodes into the client's typed values.

SEI's HTTP answers are replayed byte for byte (status, Content-Type, body) through the public
client API; faults come out as the classified exceptions with SEI's exact text.
"""

from __future__ import annotations

import pytest
import responses

from sei_bridge import errors
from sei_bridge.sei import faults, types
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded


def _answer(
    sei_http: responses.RequestsMock,
    reference_dir: str,
    name: str,
    *,
    body: bytes | None = None,
    content_type: str | None = None,
) -> None:
    response = recorded.read_response(reference_dir, name)
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        body=response.body if body is None else body,
        status=response.status,
        content_type=content_type or response.content_type,
    )


def test_gerar_procedimento(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "gerarProcedimento")
    gerado = client.gerar_procedimento(
        id_unidade=recorded.UNIDADE,
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento="100000341",
            especificacao="Teste adapter 1",
            nivel_acesso=types.NivelAcesso.PUBLICO,
        ),
    )
    assert gerado == types.ProcedimentoGerado(
        id_procedimento="1",
        procedimento_formatado="99990.000001/2026-53",
        link_acesso="http://127.0.0.1:8080/sei/controlador.php?acao=procedimento_trabalhar"
        "&id_procedimento=1",
        documentos=(),
    )


def test_incluir_documento(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "incluirDocumento")
    incluido = client.incluir_documento(
        id_unidade=recorded.UNIDADE,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie="5",
            protocolo_procedimento=recorded.PROCESSO,
            conteudo=b"<p>x</p>",
        ),
    )
    assert incluido.id_documento == "2"
    assert incluido.documento_formatado == "0000002"
    assert incluido.link_acesso.endswith("id_procedimento=1&id_documento=2")


def _consultar(client: SeiClient) -> types.ProcedimentoConsultado:
    return client.consultar_procedimento(
        id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
    )


def _check_consulta(consulta: types.ProcedimentoConsultado) -> None:
    assert consulta.id_procedimento == "1"
    assert consulta.procedimento_formatado == recorded.PROCESSO
    assert consulta.especificacao == "Teste adapter 1"
    assert consulta.data_autuacao == "22/11/2026"
    assert consulta.nivel_acesso_local == "0"
    assert consulta.id_tipo_procedimento == "100000341"
    assert consulta.nome_tipo_procedimento == "Comunicação: Pedido de Apoio Institucional"
    assert [a.codigo_estruturado for a in consulta.assuntos] == ["019.113"]
    assert consulta.assuntos[0].descricao.startswith("ELABORAÇÃO DE CAMPANHAS PUBLICITÁRIAS")
    assert [(i.sigla, i.nome) for i in consulta.interessados] == [
        ("interessado-x1", "Interessado Novo X1")
    ]
    assert consulta.unidades_aberto == (
        types.Unidade(id_unidade="110000001", sigla="TESTE", descricao="Unidade de Teste 1"),
    )
    # <AndamentoConclusao xsi:nil="true"/>: the process is open, not "concluded by nobody"
    assert consulta.andamento_conclusao is None
    assert consulta.ultimo_andamento is not None
    assert consulta.ultimo_andamento.descricao == "Processo público gerado"
    assert consulta.ultimo_andamento.data_hora == "22/11/2026 06:00:59"


def test_consultar_procedimento_utf8(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "consultarProcedimento")
    _check_consulta(_consultar(client))


def _as_latin1(body: bytes, declaration: str) -> bytes:
    text = body.decode("utf-8")
    rest = text.split("?>", 1)[1]
    return (f'<?xml version="1.0" encoding="{declaration}"?>' + rest).encode("iso-8859-1")


def test_consultar_procedimento_iso_8859_1_as_older_servers_send(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    utf8 = recorded.read_response(reference_dir, "consultarProcedimento").body
    _answer(
        sei_http,
        reference_dir,
        "consultarProcedimento",
        body=_as_latin1(utf8, "ISO-8859-1"),
        content_type="text/xml; charset=ISO-8859-1",
    )
    _check_consulta(_consultar(client))


def test_http_charset_wins_over_a_contradicting_xml_declaration(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    utf8 = recorded.read_response(reference_dir, "consultarProcedimento").body
    _answer(
        sei_http,
        reference_dir,
        "consultarProcedimento",
        body=_as_latin1(utf8, "UTF-8"),
        content_type="text/xml; charset=iso-8859-1",
    )
    _check_consulta(_consultar(client))


def test_xml_declaration_decides_without_http_charset(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    utf8 = recorded.read_response(reference_dir, "consultarProcedimento").body
    _answer(
        sei_http,
        reference_dir,
        "consultarProcedimento",
        body=_as_latin1(utf8, "ISO-8859-1"),
        content_type="text/xml",
    )
    _check_consulta(_consultar(client))


def test_listar_andamentos(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "listarAndamentos")
    andamentos = client.listar_andamentos(
        id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
    )
    assert [(a.id_andamento, a.id_tarefa) for a in andamentos] == [("2", "2"), ("1", "1")]
    documento = andamentos[0]
    assert documento.descricao == "Gerado documento público 0000002 (Despacho)"
    assert documento.data_hora == "22/11/2026 06:01:09"
    assert documento.unidade is not None and documento.unidade.sigla == "TESTE"
    assert documento.atributo("DOCUMENTO") == "0000002"
    assert documento.atributo("NIVEL_ACESSO") is None  # <Valor xsi:type="xsd:string"/>
    assert andamentos[1].atributo("PROTOCOLO_INFORMADO") == recorded.PROCESSO


def test_listar_contatos(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "listarContatos")
    contatos = client.listar_contatos(id_unidade=recorded.UNIDADE, sigla="interessado-x1")
    assert contatos == [
        types.Contato(id_contato="100000012", sigla="interessado-x1", nome="Interessado Novo X1")
    ]
    assert "Interessado Novo X1" not in repr(contatos)  # names are personal data


def test_concluir_processo_returns_none_on_success(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "concluirProcesso")
    result = client.concluir_processo(
        id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
    )
    assert result is None
    assert len(sei_http.calls) == 1


def test_concluir_twice_is_a_validation_fault_with_seis_text(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "concluirProcesso_again")
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
        )
    assert caught.value.fault == "Processo 99990.000001/2026-53 não está aberto na unidade."
    assert caught.value.operation == "concluirProcesso"
    assert not isinstance(caught.value, errors.ConfigurationError)


def test_processo_inexistente_is_permanent_although_seis_says_infra_erro(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "processo_inexistente")
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento="99990.999999/2026-00"
        )
    assert caught.value.fault == "Processo [99990.999999/2026-00] não encontrado."
    assert faults.is_not_found(caught.value)


def test_buscar_procedimento_answers_none_when_seis_says_not_found(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "processo_inexistente")
    assert (
        client.buscar_procedimento(
            id_unidade=recorded.UNIDADE, protocolo_procedimento="99990.999999/2026-00"
        )
        is None
    )


def test_sistema_inexistente_is_access_denied_a_configuration_error(
    sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "sistema_inexistente")
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT, sigla_sistema="NAOEXISTE", identificacao_servico="X"
    )
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.concluir_processo(
            id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO
        )
    assert isinstance(caught.value, errors.ConfigurationError)
    assert caught.value.fault == "Sistema [NAOEXISTE] não encontrado."
    assert "SEI_BRIDGE_SEI_SIGLA_SISTEMA" in str(caught.value)


def test_interessado_sem_nome_is_permanent(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "gerarProcedimento_sem_nome_interessado")
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.gerar_procedimento(
            id_unidade=recorded.UNIDADE,
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento="100000341",
                especificacao="edge",
                interessados=(types.Interessado(sigla="so-sigla-nova"),),
                nivel_acesso=types.NivelAcesso.PUBLICO,
            ),
        )
    assert caught.value.fault == "Nome do Interessado vazio ou nulo."


def test_listar_andamentos_sem_criterio_answer_is_permanent(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    _answer(sei_http, reference_dir, "listarAndamentos_semcriterio")
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.listar_andamentos(
            id_unidade=recorded.UNIDADE,
            protocolo_procedimento=recorded.PROCESSO,
            tarefas=(),
            andamentos=("999",),
        )
    assert caught.value.fault == "Nenhum critério informado para pesquisa de andamentos."
