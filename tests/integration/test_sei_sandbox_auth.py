"""The sandbox over real HTTP answers authentication, operation permissions and sigiloso as the
real SEI 4.1.0 does: the same cases and the very same texts and kinds as
tests/contract/test_real_sei_auth.py, with the sandbox set up like that SEI (sistema ADAPTER,
unit 110000001 TESTE, tipo 100000341, série 83 Declaração) and a serviço per case."""

from __future__ import annotations

import base64
import dataclasses
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import RunningSandbox
from sei_bridge.sandboxes.sei.auth import generate_access_key
from sei_bridge.sandboxes.sei.catalog import HIPOTESE_SEGREDO_JUSTICA, Serie
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from tests.fixtures.sei import RECORDED_CONFIG
from tests.support.sei_auth import assert_secret_nowhere, debug_logging, raw_call

SandboxFactory = Callable[..., RunningSandbox]
REPO = Path(__file__).resolve().parents[2]

SIGLA = "ADAPTER"
UNIDADE = "110000001"
TIPO = "100000341"
SERIE = "83"
TIPO_NOME = "Comunicação: Pedido de Apoio Institucional"
#: the real SEI 4.1.0 on loopback, as far as these cases see it
REAL = dataclasses.replace(
    RECORDED_CONFIG,
    catalog=dataclasses.replace(
        RECORDED_CONFIG.catalog,
        series=(*RECORDED_CONFIG.catalog.series, Serie(SERIE, "Declaração", "I")),
    ),
)
KEY = generate_access_key(2)
EVERY_OPERATION = frozenset(
    {
        "gerarProcedimento",
        "incluirDocumento",
        "consultarProcedimento",
        "consultarDocumento",
        "concluirProcesso",
        "reabrirProcesso",
        "enviarProcesso",
        "lancarAndamento",
        "listarAndamentos",
        "listarContatos",
        "listarHipotesesLegais",
        "listarExtensoesPermitidas",
        "adicionarArquivo",
        "adicionarConteudoArquivo",
        "excluirDocumento",
    }
)
NOOPS = EVERY_OPERATION - {
    "gerarProcedimento",
    "incluirDocumento",
    "consultarProcedimento",
    "listarHipotesesLegais",
}

SIGILOSO_PROCESSO = (
    "Não é permitida a geração de processo sigiloso através de Web Services porque nenhum "
    "usuário terá credencial de acesso."
)
SIGILOSO_DOCUMENTO = (
    "A inclusão de documento sigiloso através de Web Services só é permitida se o processo "
    "também for sigiloso."
)


def start(factory: SandboxFactory, identificacao: str, **changes: Any) -> RunningSandbox:
    return factory(REAL, identificacao_servico=identificacao, **changes)


def client(sandbox: RunningSandbox, identificacao: str, *, sigla: str = SIGLA) -> SeiClient:
    return SeiClient(
        endpoint_url=sandbox.endpoint_url,
        sigla_sistema=sigla,
        identificacao_servico=identificacao,
        read_timeout=10,
    )


def _procedimento(**changes: object) -> dict[str, object]:
    procedimento: dict[str, object] = {
        "IdTipoProcedimento": TIPO,
        "Especificacao": "sei-bridge contract",
        "NivelAcesso": "0",
    }
    procedimento.update(changes)
    return procedimento


def _documento(protocolo: str | None, **changes: object) -> dict[str, object]:
    documento: dict[str, object] = {"Tipo": "G"}
    if protocolo is not None:
        documento["ProtocoloProcedimento"] = protocolo
    documento.update(
        {
            "IdSerie": SERIE,
            "Descricao": "sei-bridge contract",
            "Conteudo": base64.b64encode("<p>Declaração</p>".encode()).decode("ascii"),
        }
    )
    documento.update(changes)
    return documento


def _gerar(sandbox: RunningSandbox, identificacao: str) -> str:
    return (
        client(sandbox, identificacao)
        .gerar_procedimento(
            id_unidade=UNIDADE,
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento=TIPO,
                especificacao="sei-bridge contract: chave de acesso",
                nivel_acesso=types.NivelAcesso.PUBLICO,
            ),
        )
        .procedimento_formatado
    )


@pytest.fixture
def key_only(sei_sandbox_factory: SandboxFactory) -> RunningSandbox:
    """ADAPTER_KEY: authenticated by its key only."""
    return start(sei_sandbox_factory, "ADAPTER_KEY", access_key=KEY, address_auth=False)


# --- Chave de Acesso -----------------------------------------------------------------------------


def test_a_key_authenticates_the_client(
    key_only: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    debug_logging(caplog)
    sei = client(key_only, KEY)
    assert UNIDADE in {u.id_unidade for u in sei.listar_unidades()}
    processo = _gerar(key_only, KEY)
    incluido = sei.incluir_documento(
        id_unidade=UNIDADE,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=SERIE,
            protocolo_procedimento=processo,
            descricao="sei-bridge contract: chave de acesso",
            conteudo="<p>Declaração</p>".encode(),
        ),
    )
    assert incluido.documento_formatado
    assert_secret_nowhere(KEY, client=sei, caplog=caplog)


def test_a_wrong_key_is_access_denied_and_never_shown(
    key_only: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = KEY[:8] + "0" * 64
    answer = raw_call(key_only.endpoint_url, "listarUnidades", SIGLA, wrong)
    assert (answer.fault, answer.kind) == (
        "Chave de Acesso inválida para o serviço [ADAPTER_KEY] do sistema [ADAPTER].",
        "INFRA_ERRO",
    )
    debug_logging(caplog)
    sei = client(key_only, wrong)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.listar_unidades()
    assert caught.value.fault == (
        "Chave de Acesso inválida para o serviço [[secure]] do sistema [ADAPTER]."
    )
    assert_secret_nowhere(wrong, client=sei, exc=caught.value, caplog=caplog)


def test_a_key_naming_no_serviço(key_only: RunningSandbox) -> None:
    stranger = "ffffffff" + KEY[8:]
    answer = raw_call(key_only.endpoint_url, "listarUnidades", "adapter", stranger)
    assert (answer.fault, answer.kind) == (
        "Serviço do sistema [adapter] não encontrado.",
        "INFRA_ERRO",
    )
    sei = client(key_only, stranger)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.listar_unidades()
    assert_secret_nowhere(stranger, client=sei, exc=caught.value)


def test_a_key_for_a_serviço_without_key_authentication(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sei_sandbox_factory, "ADAPTER_NOKEY", access_key=KEY, key_auth=False)
    answer = raw_call(sandbox.endpoint_url, "listarUnidades", SIGLA, KEY)
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_NOKEY] do sistema [ADAPTER] não possui autenticação por Chave de Acesso.",
        "INFRA_ERRO",
    )
    sei = client(sandbox, KEY)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.listar_unidades()
    assert caught.value.fault == (
        "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Chave de Acesso."
    )
    assert_secret_nowhere(KEY, client=sei, exc=caught.value)
    assert client(sandbox, "ADAPTER_NOKEY").listar_unidades()


def test_the_identificacao_of_a_key_only_serviço(key_only: RunningSandbox) -> None:
    answer = raw_call(key_only.endpoint_url, "listarUnidades", SIGLA, "ADAPTER_KEY")
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_KEY] do sistema [ADAPTER] não possui autenticação por Endereço.",
        "INFRA_ERRO",
    )
    with pytest.raises(errors.SeiAccessDenied):
        client(key_only, "ADAPTER_KEY").listar_unidades()


def test_a_key_with_a_trailing_space_is_echoed_and_redacted_by_the_client(
    key_only: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    answer = raw_call(key_only.endpoint_url, "listarUnidades", SIGLA, KEY + " ")
    assert answer.fault == f"Serviço [{KEY} ] do sistema [ADAPTER] não encontrado."
    debug_logging(caplog)
    sei = client(key_only, KEY + " ")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.listar_unidades()
    assert caught.value.fault == "Serviço [[secure]] do sistema [ADAPTER] não encontrado."
    assert_secret_nowhere(KEY, client=sei, exc=caught.value, caplog=caplog)


# --- address -------------------------------------------------------------------------------------


def test_a_host_outside_the_servicos_list_is_refused_but_its_key_works(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(
        sei_sandbox_factory, "ADAPTER_HOST", access_key=KEY, allowed_hosts=("sei-bridge.invalid",)
    )
    answer = raw_call(sandbox.endpoint_url, "listarUnidades", SIGLA, "ADAPTER_HOST")
    assert (answer.fault, answer.kind) == ("Acesso negado.", "INFRA_ERRO")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client(sandbox, "ADAPTER_HOST").listar_unidades()
    assert caught.value.fault == "Acesso negado."
    assert client(sandbox, KEY).listar_unidades()
    spoofed = raw_call(
        sandbox.endpoint_url,
        "listarUnidades",
        SIGLA,
        "ADAPTER_HOST",
        headers={"X-Forwarded-For": "sei-bridge.invalid"},
    )
    assert (spoofed.status, spoofed.fault) == (200, None)  # as SEI: the header is trusted


def test_loopback_is_localhost_for_the_allow_list(sei_sandbox_factory: SandboxFactory) -> None:
    by_name = start(sei_sandbox_factory, "ADAPTER_WS", allowed_hosts=("127.0.0.1", "localhost"))
    assert client(by_name, "ADAPTER_WS").listar_unidades()
    by_address = start(sei_sandbox_factory, "ADAPTER_WS", allowed_hosts=("127.0.0.1",))
    with pytest.raises(errors.SeiAccessDenied):
        client(by_address, "ADAPTER_WS").listar_unidades()


def test_sistema_and_identificacao_ignore_case_and_trailing_spaces(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sei_sandbox_factory, "ADAPTER_NOKEY")
    assert client(sandbox, "adapter_nokey  ", sigla="adapter").listar_unidades()


# --- operations of the serviço -----------------------------------------------------------------


def test_operations_not_configured_answer_with_seis_three_templates(
    sei_sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    journal = tmp_path / "sei.jsonl"
    first = start(sei_sandbox_factory, "ADAPTER_KEY", access_key=KEY, state_path=journal)
    processo = _gerar(first, KEY)
    first.stop()
    sandbox = start(
        sei_sandbox_factory, "ADAPTER_NOOPS", allowed_operations=NOOPS, state_path=journal
    )

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
        answer = raw_call(sandbox.endpoint_url, operation, SIGLA, "ADAPTER_NOOPS", parts)
        assert (answer.fault, answer.kind) == (text, "INFRA_VALIDACAO"), operation
    sei = client(sandbox, "ADAPTER_NOOPS")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        sei.listar_hipoteses_legais(id_unidade=UNIDADE)
    assert caught.value.fault == (
        "Nenhuma operação configurada para [listarHipotesesLegais] no serviço [[secure]] na "
        "unidade [TESTE]."
    )
    assert sei.listar_series(id_unidade=UNIDADE)


def test_seis_own_lookups_come_before_the_operation_check(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(sei_sandbox_factory, "ADAPTER_NOOPS", allowed_operations=NOOPS)
    answer = raw_call(
        sandbox.endpoint_url,
        "gerarProcedimento",
        SIGLA,
        "ADAPTER_NOOPS",
        {"IdUnidade": UNIDADE, "Procedimento": _procedimento(IdTipoProcedimento="1")},
    )
    assert (answer.fault, answer.kind) == ("Tipo de procedimento [1] não encontrado.", "INFRA_ERRO")


def test_the_documents_of_a_new_processo_need_incluir_documento(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    sandbox = start(
        sei_sandbox_factory,
        "ADAPTER_NODOC",
        allowed_operations=EVERY_OPERATION - {"incluirDocumento"},
    )
    answer = raw_call(
        sandbox.endpoint_url,
        "gerarProcedimento",
        SIGLA,
        "ADAPTER_NODOC",
        {"IdUnidade": UNIDADE, "Procedimento": _procedimento(), "Documentos": [_documento(None)]},
    )
    assert (answer.fault, answer.kind) == (
        f"Nenhuma operação configurada para [incluirDocumento] no serviço [ADAPTER_NODOC] com "
        f"tipo de processo [{TIPO_NOME}] e tipo de documento [Declaração] na unidade [TESTE].",
        "INFRA_VALIDACAO",
    )
    assert sandbox.state.processes() == []


# --- sigiloso ------------------------------------------------------------------------------------


def test_sigiloso_processo_is_refused_whatever_the_hipotese(key_only: RunningSandbox) -> None:
    # the sandbox has a hipótese legal for sigiloso; the reference SEI database has none
    for hipotese in (HIPOTESE_SEGREDO_JUSTICA, "4", None):
        answer = raw_call(
            key_only.endpoint_url,
            "gerarProcedimento",
            SIGLA,
            KEY,
            {
                "IdUnidade": UNIDADE,
                "Procedimento": _procedimento(NivelAcesso="2", IdHipoteseLegal=hipotese),
            },
        )
        assert (answer.fault, answer.kind) == (SIGILOSO_PROCESSO, "INFRA_VALIDACAO"), hipotese
    assert key_only.state.processes() == []


def test_a_sigiloso_documento_needs_a_sigiloso_processo(key_only: RunningSandbox) -> None:
    processo = _gerar(key_only, KEY)
    answer = raw_call(
        key_only.endpoint_url,
        "incluirDocumento",
        SIGLA,
        KEY,
        {"IdUnidade": UNIDADE, "Documento": _documento(processo, NivelAcesso="2")},
    )
    assert (answer.fault, answer.kind) == (SIGILOSO_DOCUMENTO, "INFRA_VALIDACAO")


def test_the_command_serves_a_key_only_servico_and_never_prints_the_key() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), SEI_BRIDGE_SEI_SIGLA_SISTEMA=SIGLA)
    env.pop("SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO", None)
    env["SEI_BRIDGE_SANDBOX_SEI_ACCESS_KEY"] = KEY
    process = subprocess.Popen(
        [sys.executable, "-m", "sei_bridge.cli", "sandbox", "sei", "--port", "0",
         "--no-address-auth", "--allowed-hosts", "localhost"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the command printed nothing"
        endpoint = process.stdout.readline().split(": ", 1)[1].strip()
        # read up to the mode here: communicate() would not see what readline() buffered
        printed = [process.stdout.readline() for _ in range(3)]
        by_key = SeiClient(endpoint_url=endpoint, sigla_sistema=SIGLA, identificacao_servico=KEY)
        assert by_key.listar_unidades()
        by_name = SeiClient(
            endpoint_url=endpoint, sigla_sistema=SIGLA, identificacao_servico="sandbox-key"
        )
        with pytest.raises(errors.SeiAccessDenied) as caught:
            by_name.listar_unidades()
        assert caught.value.fault == (
            "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Endereço."
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "authentication: Chave de Acesso (as configured); all operations\n" in printed
    shown = "".join(printed) + out + err
    assert KEY not in shown and KEY[8:] not in shown
