"""Authentication, operation permissions and sigiloso on a REAL SEI 4.x (see
docs/sei-authentication.md).

Runs only when ``SEI_BRIDGE_TEST_REAL_SEI_URL`` (e.g. ``http://127.0.0.1:8080/sei``) and
``SEI_BRIDGE_TEST_REAL_SEI_DB`` (the MariaDB defaults file of that SEI, used as
``mariadb --defaults-file=F -uroot sei``) are set. It creates or refreshes serviços of sistema
``ADAPTER`` of its own (``ADAPTER_KEY``, ``ADAPTER_NOKEY``, ``ADAPTER_HOST``, ``ADAPTER_NOOPS``,
``ADAPTER_NODOC``; see realsei_access_key.py), never touching ``ADAPTER_WS``, generates their
Chaves de Acesso the way SEI's UI does, and calls SEI through the project's ``SeiClient`` — and
by hand where the client would refuse to send (sigiloso) or to show SEI's exact text (the
client redacts the serviço's name). The sandbox's own tests
(tests/integration/test_sei_sandbox_auth.py) expect the very same texts.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Iterator

import pytest

from sei_bridge import errors
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from tests.contract import realsei_access_key as realsei
from tests.support.sei_auth import assert_secret_nowhere, debug_logging, raw_call

URL_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_URL"
DB_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_DB"
pytestmark = pytest.mark.skipif(
    not (os.environ.get(URL_VARIABLE) and os.environ.get(DB_VARIABLE)),
    reason=f"no real SEI: set {URL_VARIABLE} (e.g. http://127.0.0.1:8080/sei) and "
    f"{DB_VARIABLE} (its MariaDB defaults file)",
)

SIGLA = "ADAPTER"
UNIDADE = "110000001"  # TESTE
TIPO = "100000341"  # Comunicação: Pedido de Apoio Institucional
SERIE = "83"  # Declaração (Tipo G)
HIPOTESE = "4"  # Informação Pessoal (restrito)
TIPO_NOME = "Comunicação: Pedido de Apoio Institucional"
NOOPS_WITHOUT = ("gerarProcedimento", "incluirDocumento", "consultarProcedimento")
NOOPS_WITHOUT += ("listarHipotesesLegais",)

SIGILOSO_PROCESSO = (
    "Não é permitida a geração de processo sigiloso através de Web Services porque nenhum "
    "usuário terá credencial de acesso."
)
SIGILOSO_DOCUMENTO = (
    "A inclusão de documento sigiloso através de Web Services só é permitida se o processo "
    "também for sigiloso."
)


@dataclasses.dataclass(frozen=True)
class RealSei:
    endpoint: str
    #: Chave de Acesso of each serviço that has one
    key: str
    nokey: str
    host: str

    def client(self, identificacao: str, *, sigla: str = SIGLA) -> SeiClient:
        return SeiClient(
            endpoint_url=self.endpoint,
            sigla_sistema=sigla,
            identificacao_servico=identificacao,
            read_timeout=60,
        )


@pytest.fixture(scope="module")
def sei() -> RealSei:
    db = os.environ[DB_VARIABLE]
    endpoint = os.environ[URL_VARIABLE].rstrip("/") + "/ws/SeiWS.php"
    # key only: a call that works proves the key
    key = realsei.generate_access_key(db, "ADAPTER_KEY")
    # a key was generated, then key authentication switched off
    nokey = realsei.generate_access_key(db, "ADAPTER_NOKEY", key_auth=False, address_auth=True)
    # both, but no host of this machine is allowed
    host = realsei.generate_access_key(
        db, "ADAPTER_HOST", address_auth=True, servidor="sei-bridge.invalid"
    )
    realsei.ensure_servico(db, "ADAPTER_NOOPS", without_operations=NOOPS_WITHOUT)
    realsei.ensure_servico(db, "ADAPTER_NODOC", without_operations=("incluirDocumento",))
    return RealSei(endpoint=endpoint, key=key, nokey=nokey, host=host)


@pytest.fixture(scope="module")
def processo(sei: RealSei) -> Iterator[str]:
    """A público processo opened with the key, for the documento cases."""
    gerado = sei.client(sei.key).gerar_procedimento(
        id_unidade=UNIDADE,
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento=TIPO,
            especificacao="sei-bridge contract: chave de acesso",
            nivel_acesso=types.NivelAcesso.PUBLICO,
        ),
    )
    yield gerado.procedimento_formatado


def _documento(protocolo: str, **changes: object) -> dict[str, object]:
    documento: dict[str, object] = {
        "Tipo": "G",
        "ProtocoloProcedimento": protocolo,
        "IdSerie": SERIE,
        "Descricao": "sei-bridge contract",
        "Conteudo": base64.b64encode("<p>Declaração</p>".encode()).decode("ascii"),
    }
    documento.update(changes)
    return documento


def _procedimento(**changes: object) -> dict[str, object]:
    procedimento: dict[str, object] = {
        "IdTipoProcedimento": TIPO,
        "Especificacao": "sei-bridge contract",
        "NivelAcesso": "0",
    }
    procedimento.update(changes)
    return procedimento


# --- Chave de Acesso -----------------------------------------------------------------------------


def test_a_generated_key_authenticates_the_client(
    sei: RealSei, processo: str, caplog: pytest.LogCaptureFixture
) -> None:
    debug_logging(caplog)
    client = sei.client(sei.key)
    assert UNIDADE in {u.id_unidade for u in client.listar_unidades()}
    found = client.buscar_procedimento(id_unidade=UNIDADE, protocolo_procedimento=processo)
    assert found is not None and found.especificacao == "sei-bridge contract: chave de acesso"
    incluido = client.incluir_documento(
        id_unidade=UNIDADE,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=SERIE,
            protocolo_procedimento=processo,
            descricao="sei-bridge contract: chave de acesso",
            conteudo="<p>Declaração</p>".encode(),
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=HIPOTESE,
        ),
    )
    assert incluido.documento_formatado
    assert_secret_nowhere(sei.key, client=client, caplog=caplog)


def test_a_wrong_key_is_access_denied_and_never_shown(
    sei: RealSei, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = sei.key[:8] + "0" * 64
    answer = raw_call(sei.endpoint, "listarUnidades", SIGLA, wrong)
    assert (answer.fault, answer.kind) == (
        "Chave de Acesso inválida para o serviço [ADAPTER_KEY] do sistema [ADAPTER].",
        "INFRA_ERRO",
    )
    debug_logging(caplog)
    client = sei.client(wrong)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == (
        "Chave de Acesso inválida para o serviço [[secure]] do sistema [ADAPTER]."
    )
    assert_secret_nowhere(wrong, client=client, exc=caught.value, caplog=caplog)


def test_a_key_naming_no_serviço(sei: RealSei) -> None:
    stranger = "ffffffff" + sei.key[8:]
    answer = raw_call(sei.endpoint, "listarUnidades", "adapter", stranger)
    assert (answer.fault, answer.kind) == (
        "Serviço do sistema [adapter] não encontrado.",  # the sigla as sent
        "INFRA_ERRO",
    )
    client = sei.client(stranger)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert_secret_nowhere(stranger, client=client, exc=caught.value)


def test_a_key_for_a_serviço_without_key_authentication(sei: RealSei) -> None:
    answer = raw_call(sei.endpoint, "listarUnidades", SIGLA, sei.nokey)
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_NOKEY] do sistema [ADAPTER] não possui autenticação por Chave de Acesso.",
        "INFRA_ERRO",
    )
    client = sei.client(sei.nokey)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == (
        "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Chave de Acesso."
    )
    assert_secret_nowhere(sei.nokey, client=client, exc=caught.value)
    assert sei.client("ADAPTER_NOKEY").listar_unidades()  # its identificação still works


def test_the_identificacao_of_a_key_only_serviço(sei: RealSei) -> None:
    answer = raw_call(sei.endpoint, "listarUnidades", SIGLA, "ADAPTER_KEY")
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_KEY] do sistema [ADAPTER] não possui autenticação por Endereço.",
        "INFRA_ERRO",
    )
    with pytest.raises(errors.SeiAccessDenied):
        sei.client("ADAPTER_KEY").listar_unidades()


def test_a_key_with_a_trailing_space_is_echoed_by_sei_and_redacted_by_the_client(
    sei: RealSei, caplog: pytest.LogCaptureFixture
) -> None:
    answer = raw_call(sei.endpoint, "listarUnidades", SIGLA, sei.key + " ")
    assert answer.fault == f"Serviço [{sei.key} ] do sistema [ADAPTER] não encontrado."
    debug_logging(caplog)
    client = sei.client(sei.key + " ")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == "Serviço [[secure]] do sistema [ADAPTER] não encontrado."
    assert_secret_nowhere(sei.key, client=client, exc=caught.value, caplog=caplog)


# --- address -------------------------------------------------------------------------------------


def test_a_host_outside_the_servicos_list_is_refused_but_its_key_works(sei: RealSei) -> None:
    answer = raw_call(sei.endpoint, "listarUnidades", SIGLA, "ADAPTER_HOST")
    assert (answer.fault, answer.kind) == ("Acesso negado.", "INFRA_ERRO")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.client("ADAPTER_HOST").listar_unidades()
    assert caught.value.fault == "Acesso negado."
    assert sei.client(sei.host).listar_unidades()  # the key path never looks at the address


def test_sei_trusts_x_forwarded_for(sei: RealSei) -> None:
    answer = raw_call(
        sei.endpoint,
        "listarUnidades",
        SIGLA,
        "ADAPTER_HOST",
        headers={"X-Forwarded-For": "sei-bridge.invalid"},
    )
    assert (answer.status, answer.fault) == (200, None)


def test_sistema_and_identificacao_ignore_case_and_trailing_spaces(sei: RealSei) -> None:
    assert sei.client("adapter_nokey  ", sigla="adapter").listar_unidades()


# --- operations of the serviço -----------------------------------------------------------------


def test_operations_not_configured_answer_with_seis_three_templates(
    sei: RealSei, processo: str
) -> None:
    def nenhuma(op: str, rest: str) -> str:
        return f"Nenhuma operação configurada para [{op}] no serviço [ADAPTER_NOOPS]{rest}."

    cases = [
        (
            "gerarProcedimento",
            {"IdUnidade": UNIDADE, "Procedimento": _procedimento()},
            nenhuma("gerarProcedimento", f" com tipo de processo [{TIPO_NOME}] na unidade [TESTE]"),
        ),
        (
            "incluirDocumento",
            {"IdUnidade": UNIDADE, "Documento": _documento(processo)},
            nenhuma(
                "incluirDocumento",
                f" com tipo de processo [{TIPO_NOME}] e tipo de documento [Declaração] na "
                "unidade [TESTE]",
            ),
        ),
        (
            "consultarProcedimento",
            {"IdUnidade": UNIDADE, "ProtocoloProcedimento": processo},
            nenhuma(
                "consultarProcedimento", f" com tipo de processo [{TIPO_NOME}] na unidade [TESTE]"
            ),
        ),
        (
            "listarHipotesesLegais",
            {"IdUnidade": UNIDADE, "NivelAcesso": "1"},
            nenhuma("listarHipotesesLegais", " na unidade [TESTE]"),
        ),
    ]
    for operation, parts, text in cases:
        answer = raw_call(sei.endpoint, operation, SIGLA, "ADAPTER_NOOPS", parts)
        assert (answer.fault, answer.kind) == (text, "INFRA_VALIDACAO"), operation
    client = sei.client("ADAPTER_NOOPS")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_hipoteses_legais(id_unidade=UNIDADE)
    assert caught.value.fault == (  # the client never shows the serviço's name
        "Nenhuma operação configurada para [listarHipotesesLegais] no serviço [[secure]] na "
        "unidade [TESTE]."
    )
    assert client.listar_series(id_unidade=UNIDADE)  # never checked by SEI


def test_seis_own_lookups_come_before_the_operation_check(sei: RealSei) -> None:
    answer = raw_call(
        sei.endpoint,
        "gerarProcedimento",
        SIGLA,
        "ADAPTER_NOOPS",
        {"IdUnidade": UNIDADE, "Procedimento": _procedimento(IdTipoProcedimento="1")},
    )
    assert (answer.fault, answer.kind) == ("Tipo de procedimento [1] não encontrado.", "INFRA_ERRO")


def test_the_documents_of_a_new_processo_need_incluir_documento(sei: RealSei) -> None:
    documento = _documento("")
    del documento["ProtocoloProcedimento"]
    answer = raw_call(
        sei.endpoint,
        "gerarProcedimento",
        SIGLA,
        "ADAPTER_NODOC",
        {"IdUnidade": UNIDADE, "Procedimento": _procedimento(), "Documentos": [documento]},
    )
    assert (answer.fault, answer.kind) == (
        f"Nenhuma operação configurada para [incluirDocumento] no serviço [ADAPTER_NODOC] com "
        f"tipo de processo [{TIPO_NOME}] e tipo de documento [Declaração] na unidade [TESTE].",
        "INFRA_VALIDACAO",
    )


# --- sigiloso ------------------------------------------------------------------------------------


def test_sigiloso_processo_is_refused_whatever_the_hipotese(sei: RealSei) -> None:
    hipoteses = sei.client(sei.key).listar_hipoteses_legais(
        id_unidade=UNIDADE, nivel_acesso=types.NivelAcesso.SIGILOSO
    )
    candidates = [h.id_hipotese_legal for h in hipoteses] + [HIPOTESE, None]
    for hipotese in candidates:
        answer = raw_call(
            sei.endpoint,
            "gerarProcedimento",
            SIGLA,
            sei.key,
            {
                "IdUnidade": UNIDADE,
                "Procedimento": _procedimento(NivelAcesso="2", IdHipoteseLegal=hipotese),
            },
        )
        assert (answer.fault, answer.kind) == (SIGILOSO_PROCESSO, "INFRA_VALIDACAO"), hipotese


def test_a_sigiloso_documento_needs_a_sigiloso_processo(sei: RealSei, processo: str) -> None:
    answer = raw_call(
        sei.endpoint,
        "incluirDocumento",
        SIGLA,
        sei.key,
        {"IdUnidade": UNIDADE, "Documento": _documento(processo, NivelAcesso="2")},
    )
    assert (answer.fault, answer.kind) == (SIGILOSO_DOCUMENTO, "INFRA_VALIDACAO")
