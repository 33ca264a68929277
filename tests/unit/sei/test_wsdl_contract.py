"""The bundled WSDLs against the real SEI 4.1.0 contract, operation by operation, type by type.

``wsdl/sei.wsdl`` must describe every operation sei-bridge uses exactly as SEI 4.1.0 publishes
it (parts, order, types; rpc/encoded, soapAction, namespace) and every type those operations
reach exactly (elements, types, minOccurs, nillable; array item types). ``wsdl/sei-3.0.wsdl``
must differ only where SEI 3.0 does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lxml import etree

from sei_bridge.sei import wsdl
from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded

NS = {
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
    "xsd": "http://www.w3.org/2001/XMLSchema",
}
WSDL_NS = "{http://schemas.xmlsoap.org/wsdl/}"

USED = {
    "gerarProcedimento", "incluirDocumento", "consultarProcedimento", "consultarDocumento",
    "concluirProcesso", "reabrirProcesso", "enviarProcesso", "listarAndamentos",
    "lancarAndamento", "listarContatos", "listarUnidades", "listarTiposProcedimento",
    "listarSeries", "listarHipotesesLegais", "listarExtensoesPermitidas", "adicionarArquivo",
    "adicionarConteudoArquivo",
}  # fmt: skip


class Contract:
    """Operations, messages and types of one WSDL file, as comparable values."""

    def __init__(self, path: str | Path) -> None:
        self.tree = etree.parse(str(path))
        root = self.tree.getroot()
        self.target_namespace = root.get("targetNamespace")
        self.messages = {
            m.get("name"): [(p.get("name"), p.get("type")) for p in m.iterfind("wsdl:part", NS)]
            for m in root.iterfind("wsdl:message", NS)
        }
        self.port_operations = {
            op.get("name"): (
                op.find("wsdl:input", NS).get("message"),
                op.find("wsdl:output", NS).get("message"),
            )
            for op in root.iterfind("wsdl:portType/wsdl:operation", NS)
        }
        self.bindings = {
            op.get("name"): op for op in root.iterfind("wsdl:binding/wsdl:operation", NS)
        }
        self.binding_style = root.find("wsdl:binding/soap:binding", NS).get("style")
        self.types = {
            ct.get("name"): ct for ct in root.iterfind("wsdl:types/xsd:schema/xsd:complexType", NS)
        }

    def type_shape(self, name: str) -> tuple[object, ...]:
        ct = self.types[name]
        attribute = ct.find(".//xsd:attribute", NS)
        if attribute is not None:
            return ("array", attribute.get(f"{WSDL_NS}arrayType"))
        return (
            "struct",
            tuple(
                tuple(sorted(el.attrib.items())) for el in ct.iterfind("xsd:all/xsd:element", NS)
            ),
        )

    def reachable_types(self, operations: set[str]) -> set[str]:
        seen: set[str] = set()
        pending = [
            t
            for op in operations
            for suffix in ("Request", "Response")
            for _n, t in self.messages[op + suffix]
        ]
        while pending:
            qname = pending.pop()
            if not qname or not qname.startswith("tns:") or qname[4:] in seen:
                continue
            name = qname[4:]
            seen.add(name)
            kind, body = self.type_shape(name)
            if kind == "array":
                pending.append(str(body).removesuffix("[]"))
            else:
                pending.extend(dict(attrs).get("type", "") for attrs in body)  # type: ignore[attr-defined]
        return seen


@pytest.fixture(scope="module")
def reference(reference_dir: str) -> Contract:
    return Contract(os.path.join(reference_dir, "sei-4.1.0.wsdl"))


@pytest.fixture(scope="module")
def bundled_41() -> Contract:
    return Contract(wsdl.bundled_wsdl_path("4.1"))


@pytest.fixture(scope="module")
def bundled_30() -> Contract:
    return Contract(wsdl.bundled_wsdl_path("3.0"))


def test_bundled_41_has_exactly_the_operations_sei_bridge_uses(bundled_41: Contract) -> None:
    assert set(bundled_41.port_operations) == USED
    assert set(bundled_41.bindings) == USED
    assert bundled_41.target_namespace == "Sei"
    assert bundled_41.binding_style == "rpc"


@pytest.mark.parametrize("operation", sorted(USED))
def test_operation_matches_sei_410(
    operation: str, reference: Contract, bundled_41: Contract
) -> None:
    assert bundled_41.port_operations[operation] == reference.port_operations[operation]
    for suffix in ("Request", "Response"):
        assert bundled_41.messages[operation + suffix] == reference.messages[operation + suffix]
    ours, theirs = bundled_41.bindings[operation], reference.bindings[operation]
    assert ours.find("soap:operation", NS).get("soapAction") == "SeiAction"
    assert theirs.find("soap:operation", NS).get("soapAction") == "SeiAction"
    for direction in ("input", "output"):
        body = ours.find(f"wsdl:{direction}/soap:body", NS)
        assert dict(body.attrib) == dict(theirs.find(f"wsdl:{direction}/soap:body", NS).attrib)
        assert body.get("use") == "encoded" and body.get("namespace") == "Sei"


def test_every_response_part_is_named_parametros(bundled_41: Contract) -> None:
    for operation in USED:
        assert [n for n, _t in bundled_41.messages[operation + "Response"]] == ["parametros"]


def test_types_match_sei_410(reference: Contract, bundled_41: Contract) -> None:
    needed = reference.reachable_types(USED)
    assert needed == set(bundled_41.types)
    for name in sorted(needed):
        assert bundled_41.type_shape(name) == reference.type_shape(name), name


def test_30_differs_from_41_only_where_sei_30_does(
    bundled_30: Contract, bundled_41: Contract
) -> None:
    assert set(bundled_30.port_operations) == USED
    parts = {op: [n for n, _t in bundled_30.messages[op + "Request"]] for op in USED}
    parts_41 = {op: [n for n, _t in bundled_41.messages[op + "Request"]] for op in USED}
    assert parts_41["gerarProcedimento"][-3:] == [
        "DataControlePrazo", "DiasControlePrazo", "SinDiasUteisControlePrazo",
    ]  # fmt: skip
    assert parts["gerarProcedimento"] == parts_41["gerarProcedimento"][:-3]
    assert parts["consultarDocumento"] == [
        p for p in parts_41["consultarDocumento"] if p != "SinRetornarBlocos"
    ]
    assert parts["listarTiposProcedimento"] == [
        p for p in parts_41["listarTiposProcedimento"] if p != "SinIndividual"
    ]
    changed = {
        "gerarProcedimento", "consultarDocumento", "listarTiposProcedimento",
    }  # fmt: skip
    for operation in USED - changed:
        assert parts[operation] == parts_41[operation], operation
    interessado = [dict(a)["name"] for a in bundled_30.type_shape("Interessado")[1]]  # type: ignore[union-attr]
    assert interessado == ["Sigla", "Nome"]
    consulta = [dict(a)["name"] for a in bundled_30.type_shape("RetornoConsultaDocumento")[1]]  # type: ignore[union-attr]
    assert "Descricao" not in consulta and "Blocos" not in consulta
    assert "Bloco" not in bundled_30.types


def test_bundled_files_are_found_and_soap_encoding_is_a_schema() -> None:
    for version in wsdl.WSDL_VERSIONS:
        assert wsdl.bundled_wsdl_path(version).is_file()
    schema = etree.parse(str(wsdl.soap_encoding_path())).getroot()
    assert schema.get("targetNamespace") == wsdl.SOAP_ENCODING_NAMESPACE
    etree.XMLSchema(schema)  # a valid XML Schema
    with pytest.raises(ValueError, match="known versions"):
        wsdl.bundled_wsdl_path("2.6")


@pytest.mark.parametrize(
    ("source", "operations"),
    [("4.1", 17), ("3.0", 17), ("reference", 67)],
)
def test_wsdls_load_offline(source: str, operations: int, reference_dir: str) -> None:
    # The loopback guard (tests/conftest.py) fails any download: loading proves the SOAP-ENC
    # schema comes from the bundled copy.
    path = (
        os.path.join(reference_dir, "sei-4.1.0.wsdl")
        if source == "reference"
        else str(wsdl.bundled_wsdl_path(source))
    )
    client = SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema=recorded.SIGLA,
        identificacao_servico=recorded.IDENTIFICACAO,
        wsdl=path,
    )
    loaded = client.load()
    assert len(loaded) == operations
    assert loaded >= USED


def test_server_wsdl_url_from_endpoint() -> None:
    assert (
        wsdl.server_wsdl_url("https://sei.sp.gov.br/sei/ws/SeiWS.php")
        == "https://sei.sp.gov.br/sei/controlador_ws.php?servico=sei"
    )


def test_redact_url_drops_user_information() -> None:
    assert wsdl.redact_url("https://u:secret@host:8443/sei/x?servico=sei") == (
        "https://host:8443/sei/x?servico=sei"
    )
