"""Reading requests the way PHP's SOAP server does, writing answers the way SEI 4.1.0 does."""

from __future__ import annotations

import email.utils
import os

import pytest

from sei_bridge.sandboxes.sei import soap
from sei_bridge.sandboxes.sei.rules import SeiFault
from sei_bridge.sandboxes.sei.schema import Schema, load_schema, rewrite_address
from sei_bridge.sei import wsdl
from tests.fixtures.sei import RECORDED_CONFIG
from tests.unit.sandboxes.sei.conftest import Harness

RECORDED = "real-sei-4.1.0"
#: In the order they were recorded: each answer depends on the ones before.
SEQUENCE = (
    "gerarProcedimento",
    "incluirDocumento",
    "consultarProcedimento",
    "listarContatos",
    "listarAndamentos_semcriterio",
    "listarAndamentos",
    "concluirProcesso",
    "concluirProcesso_again",
    "gerarProcedimento_sem_nome_interessado",
    "processo_inexistente",
    "sistema_inexistente",
)


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema(wsdl.bundled_wsdl_path("4.1").read_bytes())


@pytest.fixture(scope="module")
def schema_30() -> Schema:
    return load_schema(wsdl.bundled_wsdl_path("3.0").read_bytes())


def _recorded(reference_dir: str, name: str) -> tuple[bytes, str, bytes]:
    """(request, Date of the answer, answer body)."""
    base = os.path.join(reference_dir, RECORDED, name)
    with open(f"{base}.request.xml", "rb") as fh:
        request = fh.read()
    with open(f"{base}.response.xml", "rb") as fh:
        head, body = fh.read().replace(b"\r\n", b"\n").split(b"\n\n", 1)
    date = next(line[6:] for line in head.decode().split("\n") if line.startswith("Date: "))
    return request, date, body


def test_every_recorded_answer_is_reproduced_byte_for_byte(
    reference_dir: str, schema: Schema
) -> None:
    harness = Harness(RECORDED_CONFIG)
    for name in SEQUENCE:
        request, date, expected = _recorded(reference_dir, name)
        harness.clock.now = email.utils.parsedate_to_datetime(date).timestamp()
        call = soap.parse_call(request, schema)
        try:
            value = harness.ops.execute(call)
            body = soap.render_response(call.operation, value, schema=schema)
        except SeiFault as fault:
            body = soap.render_fault(fault.message, kind=fault.kind)
        assert body == expected, name


def test_php_style_request_decodes_by_name(reference_dir: str, schema: Schema) -> None:
    request, _, _ = _recorded(reference_dir, "gerarProcedimento")
    call = soap.parse_call(request, schema)
    assert call.operation == "gerarProcedimento"
    procedimento = call.params["Procedimento"]
    assert procedimento["Assuntos"] == []
    assert procedimento["Interessados"] == [
        {"Sigla": "interessado-x1", "Nome": "Interessado Novo X1"}
    ]
    assert call.params["Documentos"] == []
    assert call.params["IdMarcador"] is None
    assert call.text("SinManterAbertoUnidade") == "S"


UNDECORATED = """<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">
  <soap-env:Body><ns0:gerarProcedimento xmlns:ns0="Sei">
    <SiglaSistema>SEI_BRIDGE</SiglaSistema><IdentificacaoServico>k</IdentificacaoServico>
    <IdUnidade>110000001</IdUnidade>
    <Procedimento><IdTipoProcedimento>100000345</IdTipoProcedimento>
      <Assuntos><Assunto><CodigoEstruturado>052.1</CodigoEstruturado></Assunto></Assuntos>
      <Interessados><Interessado><Sigla>SP156-1</Sigla><Nome>Jos\u00e9</Nome></Interessado>
      </Interessados><Observacao xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xsi:nil="true"/><NivelAcesso>0</NivelAcesso></Procedimento>
    <Documentos/><UnidadesEnvio><string>110000002</string></UnidadesEnvio>
  </ns0:gerarProcedimento></soap-env:Body></soap-env:Envelope>"""


def test_undecorated_requests_fall_back_on_the_wsdl(schema: Schema) -> None:
    call = soap.parse_call(UNDECORATED.encode("utf-8"), schema)
    procedimento = call.params["Procedimento"]
    assert procedimento["Assuntos"] == [{"CodigoEstruturado": "052.1"}]
    assert procedimento["Interessados"] == [{"Sigla": "SP156-1", "Nome": "José"}]
    assert procedimento["Observacao"] is None
    assert call.params["Documentos"] == []  # an empty array, not a string
    assert call.params["UnidadesEnvio"] == ["110000002"]


def test_latin1_requests_are_read_by_declaration_or_content_type(schema: Schema) -> None:
    declared = UNDECORATED.replace("encoding='utf-8'", "encoding='ISO-8859-1'")
    call = soap.parse_call(declared.encode("iso-8859-1"), schema)
    assert call.params["Procedimento"]["Interessados"][0]["Nome"] == "José"
    bare = UNDECORATED.split("?>", 1)[1].encode("iso-8859-1")
    call = soap.parse_call(bare, schema, content_type='text/xml; charset="ISO-8859-1"')
    assert call.params["Procedimento"]["Interessados"][0]["Nome"] == "José"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<not-closed",
        b"<a/>",
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>',
    ],
)
def test_what_is_not_a_soap_call_is_a_bad_request(schema: Schema, body: bytes) -> None:
    with pytest.raises(soap.SoapRequestError):
        soap.parse_call(body, schema)


def test_rendering_escapes_text_and_writes_nil_and_empty_like_php(schema: Schema) -> None:
    value = soap.Struct(
        "RetornoInclusaoDocumento",
        (("IdDocumento", "a&b<c>"), ("DocumentoFormatado", ""), ("LinkAcesso", soap.Nil())),
    )
    body = soap.render_response("incluirDocumento", value, schema=schema).decode()
    assert '<IdDocumento xsi:type="xsd:string">a&amp;b&lt;c&gt;</IdDocumento>' in body
    assert '<DocumentoFormatado xsi:type="xsd:string"/>' in body
    assert '<LinkAcesso xsi:nil="true"/>' in body


def test_latin1_answers_declare_it_and_reference_what_does_not_fit(schema: Schema) -> None:
    value = soap.Array("ArrayOfSerie", "Serie", (soap.Struct("Serie", (("Nome", "Ação 😀"),)),))
    body = soap.render_response("listarSeries", value, schema=schema, encoding="iso-8859-1")
    assert body.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    assert "Ação &#128512;".encode("iso-8859-1") in body


def test_fields_the_served_wsdl_lacks_are_not_written(schema: Schema, schema_30: Schema) -> None:
    value = soap.Struct("Interessado", (("IdContato", soap.Nil()), ("Sigla", "S"), ("Nome", "N")))
    array = soap.Array("ArrayOfInteressado", "Interessado", (value,))
    assert b"IdContato" in soap.render_response("x", array, schema=schema)
    assert b"IdContato" not in soap.render_response("x", array, schema=schema_30)


def test_the_served_wsdl_points_at_the_sandbox(schema: Schema) -> None:
    original = wsdl.bundled_wsdl_path("4.1").read_bytes()
    served = rewrite_address(original, "http://127.0.0.1:1234/sei/ws/SeiWS.php")
    assert b'location="http://127.0.0.1:1234/sei/ws/SeiWS.php"' in served
    assert load_schema(served).operations == schema.operations
