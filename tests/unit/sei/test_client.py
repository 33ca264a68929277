"""The client's own behaviour: configuration, WSDL loading, version tolerance, chunked upload,
timeouts, catalogs. SEI is a mocked HTTP endpoint (responses)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
import requests
import responses
from lxml import etree

from sei_bridge import config, errors
from sei_bridge.sei import types, wsdl
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:ns1="Sei" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/" '
    'SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    "<SOAP-ENV:Body><ns1:{op}Response>{parametros}</ns1:{op}Response></SOAP-ENV:Body>"
    "</SOAP-ENV:Envelope>"
)


def _ok(sei_http: responses.RequestsMock, op: str, parametros: str) -> None:
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        body=ENVELOPE.format(op=op, parametros=parametros).encode(),
        content_type="text/xml; charset=utf-8",
    )


def _string(op: str, value: str = "1") -> tuple[str, str]:
    return op, f'<parametros xsi:type="xsd:string">{value}</parametros>'


def _body(sei_http: responses.RequestsMock, index: int = 0) -> etree._Element:
    body = sei_http.calls[index].request.body
    assert isinstance(body, bytes)
    return etree.fromstring(body)


def _part(envelope: etree._Element, name: str) -> etree._Element | None:
    return envelope.find(f".//{{*}}Body/*/{name}")


# --- configuration -------------------------------------------------------------------------------


def test_from_settings_and_repr_hides_the_credential() -> None:
    settings = config.load_settings(
        {
            "SEI_BRIDGE_SEI_URL": "https://sei.example/sei/ws/SeiWS.php",
            "SEI_BRIDGE_SEI_SIGLA_SISTEMA": "SEI_BRIDGE",
            "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": "very-secret-key",
            "SEI_BRIDGE_SEI_READ_TIMEOUT": "12",
            "SEI_BRIDGE_SEI_CHUNKED_UPLOAD": "true",
        }
    )
    client = SeiClient.from_settings(settings)
    assert "very-secret-key" not in repr(client)
    assert "[secure]" in repr(client)
    assert client.transport.timeouts == (config.DEFAULT_SEI_CONNECT_TIMEOUT, 12.0)
    assert client.chunked_upload is True


def test_a_chave_de_acesso_is_a_secret_like_an_identificacao() -> None:
    """SEI 4.x takes the serviço's key in the same part; pasted with its line end it must
    still be the 72 characters SEI expects (with a space SEI reads it as an identificação)."""
    key = "1ad5be0d" + "9f" * 32
    settings = config.load_settings(
        {
            "SEI_BRIDGE_SEI_URL": "https://sei.example/sei/ws/SeiWS.php",
            "SEI_BRIDGE_SEI_SIGLA_SISTEMA": "ADAPTER",
            "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": key + "\n",
        }
    )
    assert settings.sei_identificacao_servico == key
    client = SeiClient.from_settings(settings)
    for shown in (repr(settings), str(settings), repr(client), repr(client.soap)):
        assert key not in shown and key[8:] not in shown


def test_from_settings_names_missing_variables() -> None:
    with pytest.raises(errors.ConfigurationError, match="SEI_BRIDGE_SEI_URL"):
        SeiClient.from_settings(config.Settings())


def test_timeouts_are_always_passed_to_requests(
    client: SeiClient, sei_http: responses.RequestsMock
) -> None:
    _ok(sei_http, *_string("reabrirProcesso"))
    client.reabrir_processo(id_unidade=recorded.UNIDADE, protocolo_procedimento=recorded.PROCESSO)
    assert sei_http.calls[0].request.req_kwargs["timeout"] == (5.0, 60.0)


# --- WSDL ----------------------------------------------------------------------------------------


def test_missing_wsdl_path_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.wsdl"
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema="A",
        identificacao_servico="B",
        wsdl=str(missing),
    )
    with pytest.raises(errors.ConfigurationError) as caught:
        client.load()
    assert str(missing) in str(caught.value) and "SEI_BRIDGE_SEI_WSDL" in str(caught.value)


def test_a_file_that_is_not_a_wsdl_is_a_configuration_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.wsdl"
    bogus.write_text("<html><body>login</body></html>")
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema="A",
        identificacao_servico="B",
        wsdl=str(bogus),
    )
    with pytest.raises(errors.ConfigurationError, match="not a usable SEI WSDL"):
        client.load()


def test_unreachable_wsdl_url_fails_the_call_as_not_sent_configuration_error(
    sei_http: responses.RequestsMock,
) -> None:
    url = "http://127.0.0.1:9/sei/controlador_ws.php?servico=sei"
    sei_http.add(responses.GET, url, body=requests.exceptions.ConnectionError("refused"))
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT, sigla_sistema="A", identificacao_servico="B", wsdl=url
    )
    with pytest.raises(errors.SeiEndpointError) as caught:
        client.reabrir_processo(id_unidade="1", protocolo_procedimento="2")
    assert isinstance(caught.value, errors.ConfigurationError)
    assert isinstance(caught.value, errors.SeiNotSentError)
    assert url in str(caught.value)
    assert caught.value.operation == "reabrirProcesso"
    assert not [c for c in sei_http.calls if c.request.method == "POST"]


def test_wsdl_from_the_server_is_used_but_calls_go_to_the_endpoint(
    sei_http: responses.RequestsMock,
) -> None:
    url = "http://127.0.0.1:9/sei/controlador_ws.php?servico=sei"
    published = (
        wsdl.bundled_wsdl_path("4.1")
        .read_bytes()
        .replace(b"http://localhost/sei/ws/SeiWS.php", b"http://127.0.0.1:7/elsewhere/SeiWS.php")
    )
    sei_http.add(responses.GET, url, body=published, content_type="text/xml")
    _ok(sei_http, *_string("reabrirProcesso"))
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT, sigla_sistema="A", identificacao_servico="B", wsdl=url
    )
    client.reabrir_processo(id_unidade="1", protocolo_procedimento="2")
    assert sei_http.calls[-1].request.url == recorded.ENDPOINT


def test_30_wsdl_leaves_out_what_sei_30_does_not_have(sei_http: responses.RequestsMock) -> None:
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema="A",
        identificacao_servico="B",
        wsdl=str(wsdl.bundled_wsdl_path("3.0")),
    )
    _ok(
        sei_http,
        "gerarProcedimento",
        '<parametros xsi:type="ns1:RetornoGeracaoProcedimento"><IdProcedimento>7</IdProcedimento>'
        "<ProcedimentoFormatado>1.2/3</ProcedimentoFormatado><LinkAcesso>l</LinkAcesso>"
        '<RetornoInclusaoDocumentos SOAP-ENC:arrayType="ns1:RetornoInclusaoDocumento[0]"/>'
        "</parametros>",
    )
    gerado = client.gerar_procedimento(
        id_unidade="1",
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento="9",
            especificacao="e",
            interessados=(types.Interessado(sigla="s", nome="n", cpf="12345678909"),),
            nivel_acesso=types.NivelAcesso.PUBLICO,
        ),
    )
    assert gerado.id_procedimento == "7"
    envelope = _body(sei_http)
    assert _part(envelope, "DataControlePrazo") is None
    assert _part(envelope, "SinDiasUteisControlePrazo") is None
    assert _part(envelope, "TextoMarcador") is not None
    item = envelope.find(".//Interessados/item")
    assert item is not None
    assert [child.tag for child in item] == ["Sigla", "Nome"]  # 3.0 has no Cpf


# --- chunked upload ------------------------------------------------------------------------------


def _chunked_client(chunk_bytes: int) -> SeiClient:
    return SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema="A",
        identificacao_servico="B",
        chunked_upload=True,
        chunk_bytes=chunk_bytes,
    )


@pytest.mark.parametrize("as_path", [False, True])
def test_upload_sends_size_and_md5_of_the_whole_file_then_appends_chunks(
    sei_http: responses.RequestsMock, tmp_path: Path, as_path: bool
) -> None:
    data = bytes(range(256)) * 10 + b"tail"  # 2564 bytes → chunks of 1000, 1000, 564
    _ok(sei_http, *_string("adicionarArquivo", "42"))
    _ok(sei_http, *_string("adicionarConteudoArquivo", "1"))
    path = tmp_path / "anexo.pdf"
    path.write_bytes(data)
    id_arquivo = _chunked_client(1000).upload_arquivo(
        id_unidade="1", nome="anexo.pdf", conteudo=path if as_path else data
    )
    assert id_arquivo == "42"
    first = _body(sei_http, 0)
    assert first.find(".//{*}adicionarArquivo") is not None
    assert _part(first, "Tamanho").text == str(len(data))  # type: ignore[union-attr]
    assert _part(first, "Hash").text == hashlib.md5(data).hexdigest()  # type: ignore[union-attr]
    sent = base64.b64decode(_part(first, "Conteudo").text or "")  # type: ignore[union-attr]
    for index in (1, 2):
        later = _body(sei_http, index)
        assert _part(later, "IdArquivo").text == "42"  # type: ignore[union-attr]
        sent += base64.b64decode(_part(later, "Conteudo").text or "")  # type: ignore[union-attr]
    assert len(sei_http.calls) == 3
    assert sent == data


def test_chunked_incluir_documento_sends_id_arquivo_instead_of_conteudo(
    sei_http: responses.RequestsMock,
) -> None:
    _ok(sei_http, *_string("adicionarArquivo", "42"))
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        body=ENVELOPE.format(
            op="incluirDocumento",
            parametros="<parametros><IdDocumento>5</IdDocumento><DocumentoFormatado>0000005"
            "</DocumentoFormatado><LinkAcesso>l</LinkAcesso></parametros>",
        ).encode(),
        content_type="text/xml; charset=utf-8",
    )
    incluido = _chunked_client(1 << 20).incluir_documento(
        id_unidade="1",
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.RECEBIDO,
            id_serie="14",
            protocolo_procedimento="1.2/3",
            data=dt.date(2026, 11, 22),
            nome_arquivo="foto.pdf",
            conteudo=b"%PDF",
        ),
    )
    assert incluido.id_documento == "5"
    documento = _part(_body(sei_http, 1), "Documento")
    assert documento is not None
    assert documento.findtext("IdArquivo") == "42"
    assert documento.find("Conteudo") is None
    assert documento.findtext("Data") == "22/11/2026"


# --- other operations ----------------------------------------------------------------------------


def test_catalogs_decode(client: SeiClient, sei_http: responses.RequestsMock) -> None:
    _ok(
        sei_http,
        "listarHipotesesLegais",
        '<parametros SOAP-ENC:arrayType="ns1:HipoteseLegal[1]" xsi:type="ns1:ArrayOfHipoteseLegal">'
        '<item xsi:type="ns1:HipoteseLegal"><IdHipoteseLegal>4</IdHipoteseLegal>'
        "<Nome>Informação Pessoal</Nome><BaseLegal>Art. 31 da Lei nº 12.527/2011</BaseLegal>"
        "<NivelAcesso>1</NivelAcesso></item></parametros>",
    )
    _ok(
        sei_http,
        "listarExtensoesPermitidas",
        '<parametros SOAP-ENC:arrayType="ns1:ArquivoExtensao[2]">'
        "<item><IdArquivoExtensao>1</IdArquivoExtensao><Extensao>PDF</Extensao>"
        "<Descricao>Portable</Descricao></item><item><IdArquivoExtensao>2</IdArquivoExtensao>"
        "<Extensao>.jpg</Extensao><Descricao/></item></parametros>",
    )
    hipoteses = client.listar_hipoteses_legais(nivel_acesso=types.NivelAcesso.RESTRITO)
    assert hipoteses == [
        types.HipoteseLegal(
            id_hipotese_legal="4",
            nome="Informação Pessoal",
            base_legal="Art. 31 da Lei nº 12.527/2011",
            nivel_acesso=types.NivelAcesso.RESTRITO,
        )
    ]
    assert _part(_body(sei_http, 0), "NivelAcesso").text == "1"  # type: ignore[union-attr]
    assert [e.extensao for e in client.listar_extensoes_permitidas(id_unidade="1")] == [
        "pdf",
        "jpg",
    ]


def test_lancar_andamento_and_enviar_processo_encode_their_arrays(
    client: SeiClient, sei_http: responses.RequestsMock
) -> None:
    _ok(
        sei_http,
        "lancarAndamento",
        '<parametros xsi:type="ns1:Andamento"><IdAndamento>9</IdAndamento><IdTarefa>65</IdTarefa>'
        "<Descricao>Atualização</Descricao><DataHora>22/11/2026 10:00:00</DataHora></parametros>",
    )
    _ok(sei_http, *_string("enviarProcesso"))
    andamento = client.lancar_andamento(
        id_unidade="1", protocolo_procedimento="p", id_tarefa="65", atributos={"DESCRICAO": "x"}
    )
    assert andamento is not None and andamento.id_andamento == "9"
    atributos = _part(_body(sei_http, 0), "Atributos")
    assert atributos is not None
    assert atributos.get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType") == (
        "ns1:AtributoAndamento[1]"
    )
    assert atributos.findtext("item/Nome") == "DESCRICAO"
    client.enviar_processo(id_unidade="1", protocolo_procedimento="p", unidades_destino=["7", "8"])
    destino = _part(_body(sei_http, 1), "UnidadesDestino")
    assert destino is not None
    assert [i.text for i in destino] == ["7", "8"]
    assert destino.get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType") == "xsd:string[2]"


def test_consultar_documento(client: SeiClient, sei_http: responses.RequestsMock) -> None:
    _ok(
        sei_http,
        "consultarDocumento",
        '<parametros xsi:type="ns1:RetornoConsultaDocumento"><IdProcedimento>1</IdProcedimento>'
        "<ProcedimentoFormatado>P</ProcedimentoFormatado><IdDocumento>2</IdDocumento>"
        "<DocumentoFormatado>0000002</DocumentoFormatado><LinkAcesso>l</LinkAcesso>"
        "<Serie><IdSerie>5</IdSerie><Nome>Despacho</Nome></Serie><Numero/>"
        "<Descricao>Interação 77</Descricao><Data>22/11/2026</Data></parametros>",
    )
    documento = client.consultar_documento(id_unidade="1", protocolo_documento="0000002")
    assert (documento.id_serie, documento.nome_serie, documento.numero) == ("5", "Despacho", None)
    assert (documento.descricao, documento.data) == ("Interação 77", "22/11/2026")
    assert _part(_body(sei_http), "SinRetornarBlocos").text == "N"  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\ud800", "\ufffe", "\uffff"])
def test_a_value_xml_cannot_carry_is_refused_as_invalid_before_anything_is_sent(
    client: SeiClient, sei_http: responses.RequestsMock, bad: str
) -> None:
    # lxml's ValueError ("All strings must be XML compatible") used to leave the call as an
    # unexpected error: outcome unknown, probed and resent forever
    with pytest.raises(errors.SeiRequestInvalid) as info:
        client.lancar_andamento(
            id_unidade="1", protocolo_procedimento="p", id_tarefa="65", atributos={"D": f"a{bad}"}
        )
    assert info.value.operation == "lancarAndamento"
    assert f"Atributos[0].Valor (U+{ord(bad):04X})" in str(info.value)
    assert bad not in str(info.value)
    with pytest.raises(errors.SeiRequestInvalid, match=r"UnidadesDestino\[1\]"):
        client.enviar_processo(
            id_unidade="1", protocolo_procedimento="p", unidades_destino=["7", f"8{bad}"]
        )
    assert len(sei_http.calls) == 0
