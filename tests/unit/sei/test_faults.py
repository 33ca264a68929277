"""Failure classification: what can be resent, what is permanent, what is unknown.

Table tests for SEI's fault texts, then each transport failure driven through the client with a
mocked endpoint (responses): the exception class, its ``operation``, and messages that never
carry the credentials or the document content.
"""

from __future__ import annotations

import traceback

import pytest
import requests
import responses
import urllib3.exceptions

from sei_bridge import config, errors
from sei_bridge.sei import faults, types
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded

SECRET_CONTENT = b"CPF 123.456.789-09 conteudo sigiloso"


@pytest.mark.parametrize(
    ("operation", "fault", "kind", "expected"),
    [
        ("concluirProcesso", "Acesso negado.", "INFRA_ERRO", errors.SeiAccessDenied),
        ("concluirProcesso", "Sistema [X] não encontrado.", "INFRA_ERRO", errors.SeiAccessDenied),
        (
            "incluirDocumento",
            "Serviço [Y] do sistema [X] não encontrado.",
            "INFRA_ERRO",
            errors.SeiAccessDenied,
        ),
        (
            "gerarProcedimento",
            "Nenhuma operação configurada para [Gerar Procedimento] no serviço [1] com tipo de "
            "processo [2] na unidade [3].",
            "INFRA_VALIDACAO",
            errors.SeiAccessDenied,
        ),
        # SEI 4.1's authentication by Chave de Acesso and by address (docs/sei-authentication.md)
        (
            "listarUnidades",
            "Serviço do sistema [ADAPTER] não encontrado.",
            "INFRA_ERRO",
            errors.SeiAccessDenied,
        ),
        (
            "listarUnidades",
            "Chave de Acesso inválida para o serviço [ADAPTER_KEY] do sistema [ADAPTER].",
            "INFRA_ERRO",
            errors.SeiAccessDenied,
        ),
        (
            "gerarProcedimento",
            "Serviço [ADAPTER_NOKEY] do sistema [ADAPTER] não possui autenticação por Chave de "
            "Acesso.",
            "INFRA_ERRO",
            errors.SeiAccessDenied,
        ),
        (
            "gerarProcedimento",
            "Serviço [ADAPTER_KEY] do sistema [ADAPTER] não possui autenticação por Endereço.",
            "INFRA_ERRO",
            errors.SeiAccessDenied,
        ),
        (
            "incluirDocumento",
            "Tipo de documento [999] não encontrado.",
            "INFRA_VALIDACAO",
            errors.SeiValidationFault,
        ),
        (
            "incluirDocumento",
            "Tipo de documento [999] não encontrado.",
            None,
            errors.SeiValidationFault,
        ),
        (
            "concluirProcesso",
            "Processo [1] não encontrado.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "gerarProcedimento",
            "Nome do Interessado vazio ou nulo.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "incluirDocumento",
            "Atributo [IdAnexo] não recebeu valor.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "listarAndamentos",
            "Nenhum critério informado para pesquisa de andamentos.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "gerarProcedimento",
            "Especificação possui tamanho superior a 100 caracteres."
            "\\nHipótese Legal não informada.",
            "INFRA_VALIDACAO",
            errors.SeiValidationFault,
        ),
        (
            "incluirDocumento",
            "Documento possui conteúdo não permitido (0004869).",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        # SEI 4.1.0's INFRA_ERRO answers to a Documento or Procedimento that can never pass
        # (seen by tests/contract): permanent, never retried
        *(
            (operation, fault, "INFRA_ERRO", errors.SeiValidationFault)
            for operation in ("incluirDocumento", "gerarProcedimento")
            for fault in (
                "Não é possível informar o nome do arquivo para documento gerado.",
                "Nome do arquivo não informado para o conteúdo do documento externo.",
                "Para documento gerado não é possível informar o elemento ConteudoMTOM. Utilizar "
                "os elementos Conteudo (Base64) ou ConteudoSecoes (Base64).",
                "Não é possível enviar documento externo utilizando os elementos Conteudo "
                "(Base64) e ConteudoMTOM (Binário) ao mesmo tempo.",
            )
        ),
        (
            "gerarProcedimento",
            "Número do Protocolo somente deve ser informado em conjunto com a Data de Autuação.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "gerarProcedimento",
            "Data de Autuação somente deve ser informada em conjunto com o Número do Protocolo.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        (
            "gerarProcedimento",
            "Interessado vazio ou nulo.",
            "INFRA_ERRO",
            errors.SeiValidationFault,
        ),
        *(
            ("lancarAndamento", fault, "INFRA_ERRO", errors.SeiValidationFault)
            for fault in (
                "Identificador de tarefa [2] reservado.",
                "Identificador de tarefa [abc] inválido.",
                "Nenhum identificador de tarefa informado.",
                "Tarefa associada com o identificador [X] não encontrada.",
                "Tarefa não encontrada [99999].",
                "Data too long for column 'nome' at row 1",
            )
        ),
        (
            "gerarProcedimento",
            "Já existe um processo utilizando o número de protocolo SP156-1.",
            None,
            errors.SeiValidationFault,
        ),
        (
            "gerarProcedimento",
            "Erro processando requisição: Deadlock found when trying to get lock.",
            "INFRA_ERRO",
            errors.SeiInfrastructureFault,
        ),
        (
            "gerarProcedimento",
            "Falha na conexão com o banco de dados.",
            None,
            errors.SeiInfrastructureFault,
        ),
        (
            "gerarProcedimento",
            "Serviço [SeiWS.gerarProcedimento] não encontrado.",
            "INFRA_ERRO",
            errors.SeiEndpointError,
        ),
    ],
)
def test_classify_fault(
    operation: str, fault: str, kind: str | None, expected: type[errors.SeiError]
) -> None:
    exc = faults.classify_fault(operation, fault, kind)
    assert type(exc) is expected
    assert exc.operation == operation
    assert exc.fault == fault
    assert "\n" not in str(exc)


def test_only_processo_or_documento_not_found_counts_as_not_found() -> None:
    assert faults.is_not_found(faults.classify_fault("x", "Processo [1] não encontrado.", None))
    assert faults.is_not_found(
        faults.classify_fault("x", "Documento [0000002] não encontrado.", None)
    )
    assert not faults.is_not_found(faults.classify_fault("x", "Unidade [1] não encontrada.", None))
    assert not faults.is_not_found(faults.classify_fault("x", "Sistema [X] não encontrado.", None))


def test_the_credential_seis_echoes_is_redacted(
    sei_http: responses.RequestsMock,
) -> None:
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV='
        '"http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        "<faultcode>SOAP-ENV:Client</faultcode><faultstring>Serviço [chave-errada-123] do "
        "sistema [SEI_BRIDGE] não encontrado.</faultstring><detail><item><key>"
        "infra_tipo_excecao</key><value>INFRA_ERRO</value></item></detail></SOAP-ENV:Fault>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        status=500,
        body=fault.encode(),
        content_type="text/xml; charset=utf-8",
    )
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico="chave-errada-123",
    )
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert "chave-errada-123" not in str(caught.value)
    assert caught.value.fault == "Serviço [[secure]] do sistema [SEI_BRIDGE] não encontrado."


KEY = "1ad5be0d" + "4f" * 32  # the shape of a Chave de Acesso: crc32b(id) + sha256 hex


@pytest.mark.parametrize(
    ("fault", "redacted"),
    [
        (
            f"Serviço [{KEY} ] do sistema [ADAPTER] não encontrado.",  # a trailing space
            "Serviço [[secure]] do sistema [ADAPTER] não encontrado.",
        ),
        (
            f"Serviço [{KEY[:71]}] do sistema [ADAPTER] não possui autenticação por Endereço.",
            "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Endereço.",
        ),
        (
            "Chave de Acesso inválida para o serviço [ADAPTER_KEY] do sistema [ADAPTER].",
            "Chave de Acesso inválida para o serviço [[secure]] do sistema [ADAPTER].",
        ),
        (
            "Serviço [a]b] do sistema [ADAPTER] não possui autenticação por Chave de Acesso.",
            "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Chave de Acesso.",
        ),
        (
            "Nenhuma operação configurada para [gerarProcedimento] no serviço [ADAPTER_NOOPS] "
            "com tipo de processo [Comunicação: Pedido] na unidade [TESTE].",
            "Nenhuma operação configurada para [gerarProcedimento] no serviço [[secure]] "
            "com tipo de processo [Comunicação: Pedido] na unidade [TESTE].",
        ),
        (
            "Nenhuma operação configurada para [listarContatos] no serviço [X] na unidade [T].",
            "Nenhuma operação configurada para [listarContatos] no serviço [[secure]] na "
            "unidade [T].",
        ),
        (  # names no serviço: kept as it is
            "Serviço do sistema [ADAPTER] não encontrado.",
            "Serviço do sistema [ADAPTER] não encontrado.",
        ),
        (
            "Serviço [SeiWS.gerarProcedimento] não encontrado.",
            "Serviço [SeiWS.gerarProcedimento] não encontrado.",
        ),
    ],
)
def test_the_servico_named_in_authentication_faults_is_redacted(fault: str, redacted: str) -> None:
    assert faults.redact_fault(fault) == redacted


def test_the_fault_kept_as_cause_is_redacted_too(sei_http: responses.RequestsMock) -> None:
    """A logged traceback prints the zeep fault chained as __cause__: it must not carry the
    key SEI echoed (a key pasted with a trailing space goes down SEI's identificação path)."""
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV='
        '"http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>'
        f"<faultcode>SOAP-ENV:Client</faultcode><faultstring>Serviço [{KEY} ] do "
        "sistema [ADAPTER] não encontrado.</faultstring><detail><item><key>"
        "infra_tipo_excecao</key><value>INFRA_ERRO</value></item></detail></SOAP-ENV:Fault>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        status=500,
        body=fault.encode(),
        content_type="text/xml; charset=utf-8",
    )
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT, sigla_sistema="ADAPTER", identificacao_servico=KEY + " "
    )
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    cause = caught.value.__cause__
    assert cause is not None
    shown = "".join(traceback.format_exception(caught.value))
    assert KEY not in shown and KEY[8:] not in shown
    assert KEY not in repr(cause) and KEY not in str(cause)
    assert "Serviço [[secure]] do sistema [ADAPTER] não encontrado." in shown


def test_redact_fault_blanks_long_secrets_anywhere() -> None:
    assert faults.redact_fault("x chave-72-caracteres y", ["chave-72-caracteres"]) == (
        "x [secure] y"
    )
    assert faults.redact_fault("Sistema [NAOEXISTE] não encontrado.", ["X"]) == (
        "Sistema [NAOEXISTE] não encontrado."
    )


# --- transport failures through the client -----------------------------------------------------


def _documento() -> types.NovoDocumento:
    return types.NovoDocumento(
        tipo=types.TipoDocumento.GERADO,
        id_serie="5",
        protocolo_procedimento=recorded.PROCESSO,
        conteudo=SECRET_CONTENT,
    )


def _incluir(client: SeiClient) -> errors.SeiError:
    with pytest.raises(errors.SeiError) as caught:
        client.incluir_documento(id_unidade=recorded.UNIDADE, documento=_documento())
    exc = caught.value
    assert exc.operation == "incluirDocumento"
    text = str(exc)
    assert recorded.IDENTIFICACAO not in text
    assert "sigiloso" not in text and "CPF" not in text
    assert "\n" not in text
    return exc


@pytest.mark.parametrize("status", [429, 502, 503])
def test_front_end_refusals_are_not_sent(
    client: SeiClient, sei_http: responses.RequestsMock, status: int
) -> None:
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        status=status,
        body="<html>busy</html>",
        content_type="text/html",
    )
    assert type(_incluir(client)) is errors.SeiNotSentError


@pytest.mark.parametrize("status", [404, 405, 403, 301])
def test_wrong_endpoint_is_a_configuration_error_not_sent(
    client: SeiClient, sei_http: responses.RequestsMock, status: int
) -> None:
    sei_http.add(responses.POST, recorded.ENDPOINT, status=status, body="nope")
    exc = _incluir(client)
    assert isinstance(exc, errors.SeiEndpointError)
    assert isinstance(exc, errors.SeiNotSentError) and isinstance(exc, errors.ConfigurationError)
    assert "SEI_BRIDGE_SEI_URL" in str(exc)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (500, b"<html><body>Internal Server Error</body></html>", "text/html"),
        (500, b"", "text/xml"),
        (
            500,
            b'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV='
            b'"http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body/></SOAP-ENV:Envelope>',
            "text/xml; charset=utf-8",
        ),
        (504, b"gateway timeout", "text/plain"),
        (200, b'<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://sch', "text/xml"),
        (200, b"<html>maintenance page</html>", "text/html"),
        (200, b"\xff\xfe not utf-8 \xe3", "text/xml; charset=utf-8"),
    ],
)
def test_answers_without_result_or_fault_leave_the_outcome_unknown(
    client: SeiClient,
    sei_http: responses.RequestsMock,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    sei_http.add(
        responses.POST, recorded.ENDPOINT, status=status, body=body, content_type=content_type
    )
    assert type(_incluir(client)) is errors.SeiOutcomeUnknownError


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (requests.exceptions.ConnectTimeout("connect timed out"), errors.SeiNotSentError),
        (
            requests.exceptions.ConnectionError(
                urllib3.exceptions.MaxRetryError(
                    None,  # type: ignore[arg-type]
                    "/sei/ws/SeiWS.php",
                    urllib3.exceptions.NewConnectionError(
                        None,  # type: ignore[arg-type]
                        "Failed to establish a new connection: [Errno 111] Connection refused",
                    ),
                )
            ),
            errors.SeiNotSentError,
        ),
        (
            requests.exceptions.ConnectionError(
                urllib3.exceptions.MaxRetryError(
                    None,  # type: ignore[arg-type]
                    "/sei/ws/SeiWS.php",
                    urllib3.exceptions.NameResolutionError(
                        "sei.example",
                        None,
                        OSError("Name or service not known"),  # type: ignore[arg-type]
                    ),
                )
            ),
            errors.SeiNotSentError,
        ),
        (requests.exceptions.ReadTimeout("read timed out"), errors.SeiOutcomeUnknownError),
        (
            requests.exceptions.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
                )
            ),
            errors.SeiOutcomeUnknownError,
        ),
        (
            requests.exceptions.ChunkedEncodingError(
                urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
            ),
            errors.SeiOutcomeUnknownError,
        ),
    ],
)
def test_network_failures(
    client: SeiClient,
    sei_http: responses.RequestsMock,
    raised: Exception,
    expected: type[errors.SeiError],
) -> None:
    sei_http.add(responses.POST, recorded.ENDPOINT, body=raised)
    exc = _incluir(client)
    assert type(exc) is expected
    assert exc.__cause__ is raised


def test_fault_text_may_name_ids_but_message_never_quotes_the_envelope(
    client: SeiClient, sei_http: responses.RequestsMock, reference_dir: str
) -> None:
    answer = recorded.read_response(reference_dir, "processo_inexistente")
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        body=answer.body,
        status=answer.status,
        content_type=answer.content_type,
    )
    exc = _incluir(client)
    assert isinstance(exc, errors.SeiValidationFault)
    assert "99990.999999/2026-00" in str(exc)


def test_every_configured_secret_is_masked_in_seis_faults(sei_http: responses.RequestsMock) -> None:
    """SEI echoing our SIGRC token or audit key (which it never received from us, but a proxy or
    a misconfigured SEI might have): from_settings hands the client every secret set."""
    sigrc_token, audit_key = "segredo-do-sigrc", "chave-de-auditoria"
    sei_http.add(
        responses.POST,
        recorded.ENDPOINT,
        status=500,
        body=(
            '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV='
            '"http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>'
            f"<faultcode>SOAP-ENV:Server</faultcode><faultstring>Falha: {sigrc_token} "
            f"{audit_key} {recorded.IDENTIFICACAO}</faultstring></SOAP-ENV:Fault>"
            "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ).encode(),
        content_type="text/xml; charset=utf-8",
    )
    settings = config.load_settings(
        {
            "SEI_BRIDGE_SEI_URL": recorded.ENDPOINT,
            "SEI_BRIDGE_SEI_SIGLA_SISTEMA": recorded.SIGLA,
            "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": recorded.IDENTIFICACAO,
            "SEI_BRIDGE_SIGRC_TOKEN": sigrc_token,
            "SEI_BRIDGE_AUDIT_KEY": audit_key,
        }
    )
    with pytest.raises(errors.SeiInfrastructureFault) as caught:
        SeiClient.from_settings(settings).listar_unidades()
    assert caught.value.fault == "Falha: [secure] [secure] [secure]"
    shown = "".join(traceback.format_exception(caught.value))
    assert sigrc_token not in shown and audit_key not in shown
