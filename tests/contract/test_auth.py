"""Authentication, operation permissions and sigiloso (see docs/sei-authentication.md), on the
SEI sandbox and on a real SEI 4.x: one case, the same assertions, the very same texts and kinds
on both.

Each case asks for serviços of sistema ``ADAPTER`` configured in a certain way
(:class:`ServicoSpec`: ``ADAPTER_KEY``, ``ADAPTER_NOKEY``, ``ADAPTER_HOST``, ``ADAPTER_NOOPS``,
``ADAPTER_NODOC``, ``ADAPTER_LOOPBACK``) through the ``auth_sei`` fixture, which makes them:

- on the **sandbox**, by starting one configured like that serviço (``address_auth``,
  ``allowed_hosts``, ``access_key``, ``key_auth``, ``allowed_operations`` of
  :class:`~sei_bridge.sandboxes.sei.SandboxConfig`, over the reference catalog of
  :data:`tests.contract.targets.SANDBOX_CONFIG`). A sandbox has one serviço, so the serviços of
  a case are sandboxes started in turn over one journal: what one made (a processo) the next
  one sees, as the serviços of one SEI share its database;
- on the **real SEI** (``SEI_BRIDGE_TEST_REAL_SEI_URL`` and ``SEI_BRIDGE_TEST_REAL_SEI_DB``, see
  :mod:`tests.contract.targets`; skipped with the reason when they are unset), by creating or
  refreshing the serviço in SEI's database (``realsei_access_key.py``), never touching
  ``ADAPTER_WS``, and generating its Chave de Acesso the way SEI's UI does.

Calls go through the project's ``SeiClient`` — and by hand (:func:`tests.support.sei_auth.
raw_call`) where the client would refuse to send (sigiloso), to show SEI's exact text (the
client redacts the serviço's name) or to send a header it never sends.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei.auth import generate_access_key
from sei_bridge.sandboxes.sei.catalog import (
    DEFAULT_CATALOG,
    HIPOTESE_SEGREDO_JUSTICA,
    REFERENCE_CATALOG,
)
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from tests.contract import realsei_access_key as realsei
from tests.contract.targets import (
    DB_VARIABLE,
    IDS,
    SANDBOX_CONFIG,
    SIGLA,
    MariaDbStorage,
    Target,
    real_sei_missing,
    real_target,
    sandbox_target,
)
from tests.support.sei_auth import RawAnswer, assert_secret_nowhere, debug_logging, raw_call

UNIDADE = IDS.unidade  # TESTE
TIPO = IDS.tipo  # Comunicação: Pedido de Apoio Institucional
SERIE = IDS.serie_gerado  # Declaração
HIPOTESE = IDS.hipotese  # Informação Pessoal (restrito)
TIPO_NOME = "Comunicação: Pedido de Apoio Institucional"
#: every operation sei-bridge calls that SEI checks against the serviço's operations
EVERY_OPERATION = frozenset(realsei.OPERATION_STA)
#: loopback as SEI sees it: 127.0.0.1 after reverse DNS is "localhost"
LOOPBACK = ("127.0.0.1", "localhost")

SIGILOSO_PROCESSO = (
    "Não é permitida a geração de processo sigiloso através de Web Services porque nenhum "
    "usuário terá credencial de acesso."
)
SIGILOSO_DOCUMENTO = (
    "A inclusão de documento sigiloso através de Web Services só é permitida se o processo "
    "também for sigiloso."
)


@dataclasses.dataclass(frozen=True)
class ServicoSpec:
    """A serviço of sistema ADAPTER as an administrator configures it in SEI."""

    identificacao: str
    #: sin_servidor: the identificação is accepted from ``servidor``
    address_auth: bool = True
    #: servidor: the hosts allowed
    servidor: tuple[str, ...] = LOOPBACK
    #: a Chave de Acesso is generated for it
    has_key: bool = False
    #: sin_chave_acesso, when it has a key (an administrator may switch it off afterwards)
    key_auth: bool = True
    #: operations left out of those ADAPTER_WS has (all of them)
    without_operations: frozenset[str] = frozenset()


#: key only: a call that works proves the key
KEY_ONLY = ServicoSpec("ADAPTER_KEY", address_auth=False, has_key=True)
#: a key was generated, then key authentication switched off; by address from loopback
NOKEY = ServicoSpec("ADAPTER_NOKEY", has_key=True, key_auth=False)
#: both, but no host of this machine is allowed
HOST = ServicoSpec("ADAPTER_HOST", servidor=("sei-bridge.invalid",), has_key=True)
#: by address, without the operations the "Nenhuma operação configurada" cases call
NOOPS = ServicoSpec(
    "ADAPTER_NOOPS",
    without_operations=frozenset(
        {"gerarProcedimento", "incluirDocumento", "consultarProcedimento", "listarHipotesesLegais"}
    ),
)
#: may generate a processo, not include a documento
NODOC = ServicoSpec("ADAPTER_NODOC", without_operations=frozenset({"incluirDocumento"}))
#: by address, the allow-list naming loopback by its address only
BY_ADDRESS = ServicoSpec("ADAPTER_LOOPBACK", servidor=("127.0.0.1",))


@dataclasses.dataclass
class Servico:
    """A serviço configured like ``spec`` in one SEI: call it by its identificação or its key."""

    sei: AuthSei
    spec: ServicoSpec
    #: its Chave de Acesso (None without one)
    key: str | None

    @property
    def endpoint(self) -> str:
        return self.sei.target_for(self.spec).endpoint_url

    def client(self, identificacao: str, *, sigla: str = SIGLA) -> SeiClient:
        return self.sei.target_for(self.spec).client(
            sigla_sistema=sigla, identificacao_servico=identificacao
        )

    def raw(
        self,
        operation: str,
        identificacao: str,
        parts: Mapping[str, object] | None = None,
        *,
        sigla: str = SIGLA,
        headers: Mapping[str, str] | None = None,
    ) -> RawAnswer:
        return raw_call(self.endpoint, operation, sigla, identificacao, parts, headers=headers)


class AuthSei(abc.ABC):
    """One SEI under contract whose serviços the cases configure."""

    name: str

    def __init__(self) -> None:
        self._processo: str | None = None

    @abc.abstractmethod
    def servico(self, spec: ServicoSpec) -> Servico: ...

    @abc.abstractmethod
    def target_for(self, spec: ServicoSpec) -> Target:
        """The SEI answering ``spec``'s calls."""

    @abc.abstractmethod
    def processos(self, especificacao: str) -> int:
        """How many processos SEI holds with this especificação (unique to a case: other
        users of a shared SEI may open processos meanwhile)."""

    def processo(self) -> str:
        """A público processo opened with ADAPTER_KEY's key, for the documento cases."""
        if self._processo is None:
            servico = self.servico(KEY_ONLY)
            assert servico.key is not None
            self._processo = gerar(servico.client(servico.key))
        return self._processo


class SandboxSei(AuthSei):
    """Sandboxes configured like each serviço, started in turn over one journal."""

    name = "sandbox"

    def __init__(self, journal: Path, **config_changes: Any) -> None:
        super().__init__()
        self.journal = journal
        #: on top of the contract's SANDBOX_CONFIG (for the sandbox-only cases)
        self.config_changes = config_changes
        self.keys: dict[str, str] = {}
        self._running: tuple[ServicoSpec, Target, ExitStack] | None = None

    def servico(self, spec: ServicoSpec) -> Servico:
        key = None
        if spec.has_key:
            key = self.keys.setdefault(spec.identificacao, generate_access_key(len(self.keys) + 2))
        return Servico(self, spec, key)

    def target_for(self, spec: ServicoSpec) -> Target:
        if self._running is not None and self._running[0] == spec:
            return self._running[1]
        self.close()
        config = dataclasses.replace(
            SANDBOX_CONFIG,
            identificacao_servico=spec.identificacao,
            address_auth=spec.address_auth,
            allowed_hosts=spec.servidor,
            access_key=self.servico(spec).key,
            key_auth=spec.key_auth if spec.has_key else None,
            allowed_operations=(
                EVERY_OPERATION - spec.without_operations if spec.without_operations else None
            ),
            state_path=self.journal,
            **self.config_changes,
        )
        stack = ExitStack()
        target = stack.enter_context(sandbox_target(config))
        self._running = (spec, target, stack)
        return target

    def processos(self, especificacao: str) -> int:
        sandbox = self.target_for(self._running[0] if self._running else KEY_ONLY).sandbox
        assert sandbox is not None
        return sum(p.especificacao == especificacao for p in sandbox.state.processes())

    def close(self) -> None:
        if self._running is not None:
            self._running[2].close()
            self._running = None


class RealSei(AuthSei):
    """The configured real SEI: its serviços created or refreshed in its database."""

    name = "real"

    def __init__(self, target: Target, defaults_file: str) -> None:
        super().__init__()
        self.target = target
        self.db = defaults_file
        self._servicos: dict[ServicoSpec, Servico] = {}

    def servico(self, spec: ServicoSpec) -> Servico:
        if spec not in self._servicos:
            settings: dict[str, Any] = {
                "servidor": ",".join(spec.servidor),
                "address_auth": spec.address_auth,
                "without_operations": spec.without_operations,
            }
            key = None
            if spec.has_key:
                key = realsei.generate_access_key(
                    self.db, spec.identificacao, key_auth=spec.key_auth, **settings
                )
            else:
                realsei.ensure_servico(self.db, spec.identificacao, key_auth=False, **settings)
            self._servicos[spec] = Servico(self, spec, key)
        return self._servicos[spec]

    def target_for(self, spec: ServicoSpec) -> Target:
        return self.target

    def processos(self, especificacao: str) -> int:
        assert isinstance(self.target.storage, MariaDbStorage)
        assert especificacao.isascii() and "'" not in especificacao
        rows = self.target.storage.query(
            "SELECT COUNT(*) FROM protocolo "
            f"WHERE sta_protocolo = 'P' AND descricao = '{especificacao}'"
        )
        return int(rows[0][0])


@pytest.fixture(scope="module")
def real_auth_sei() -> RealSei:
    return RealSei(real_target(), os.environ[DB_VARIABLE])


@pytest.fixture(params=["sandbox", "real"])
def auth_sei(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuthSei]:
    """The SEI under contract, whose ``servico(spec)`` is a serviço configured like ``spec``:
    the sandbox, then the real one (skipped with the reason when none is configured)."""
    if request.param == "sandbox":
        sandbox = SandboxSei(tmp_path / "sei.jsonl")
        try:
            yield sandbox
        finally:
            sandbox.close()
        return
    missing = real_sei_missing()
    if missing:
        pytest.skip(missing)
    real: RealSei = request.getfixturevalue("real_auth_sei")
    yield real


def gerar(client: SeiClient) -> str:
    return client.gerar_procedimento(
        id_unidade=UNIDADE,
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento=TIPO,
            especificacao="sei-bridge contract: chave de acesso",
            nivel_acesso=types.NivelAcesso.PUBLICO,
        ),
    ).procedimento_formatado


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


def _procedimento(**changes: object) -> dict[str, object]:
    procedimento: dict[str, object] = {
        "IdTipoProcedimento": TIPO,
        "Especificacao": f"sei-bridge contract {uuid.uuid4().hex[:12]}",
        "NivelAcesso": "0",
    }
    procedimento.update(changes)
    return procedimento


def _key(servico: Servico) -> str:
    assert servico.key is not None
    return servico.key


# --- Chave de Acesso -----------------------------------------------------------------------------


def test_a_generated_key_authenticates_the_client(
    auth_sei: AuthSei, caplog: pytest.LogCaptureFixture
) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    key = _key(servico)
    processo = auth_sei.processo()
    debug_logging(caplog)
    client = servico.client(key)
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
    assert_secret_nowhere(key, client=client, caplog=caplog)


def test_a_wrong_key_is_access_denied_and_never_shown(
    auth_sei: AuthSei, caplog: pytest.LogCaptureFixture
) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    wrong = _key(servico)[:8] + "0" * 64
    answer = servico.raw("listarUnidades", wrong)
    assert (answer.fault, answer.kind) == (
        "Chave de Acesso inválida para o serviço [ADAPTER_KEY] do sistema [ADAPTER].",
        "INFRA_ERRO",
    )
    debug_logging(caplog)
    client = servico.client(wrong)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == (
        "Chave de Acesso inválida para o serviço [[secure]] do sistema [ADAPTER]."
    )
    assert_secret_nowhere(wrong, client=client, exc=caught.value, caplog=caplog)


def test_a_key_naming_no_serviço(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    stranger = "ffffffff" + _key(servico)[8:]
    answer = servico.raw("listarUnidades", stranger, sigla="adapter")
    assert (answer.fault, answer.kind) == (
        "Serviço do sistema [adapter] não encontrado.",  # the sigla as sent
        "INFRA_ERRO",
    )
    client = servico.client(stranger)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert_secret_nowhere(stranger, client=client, exc=caught.value)


def test_a_key_for_a_serviço_without_key_authentication(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(NOKEY)
    key = _key(servico)
    answer = servico.raw("listarUnidades", key)
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_NOKEY] do sistema [ADAPTER] não possui autenticação por Chave de Acesso.",
        "INFRA_ERRO",
    )
    client = servico.client(key)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == (
        "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Chave de Acesso."
    )
    assert_secret_nowhere(key, client=client, exc=caught.value)
    assert servico.client("ADAPTER_NOKEY").listar_unidades()  # its identificação still works


def test_the_identificacao_of_a_key_only_serviço(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    answer = servico.raw("listarUnidades", "ADAPTER_KEY")
    assert (answer.fault, answer.kind) == (
        "Serviço [ADAPTER_KEY] do sistema [ADAPTER] não possui autenticação por Endereço.",
        "INFRA_ERRO",
    )
    with pytest.raises(errors.SeiAccessDenied):
        servico.client("ADAPTER_KEY").listar_unidades()


def test_a_key_with_a_trailing_space_is_echoed_by_sei_and_redacted_by_the_client(
    auth_sei: AuthSei, caplog: pytest.LogCaptureFixture
) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    key = _key(servico)
    answer = servico.raw("listarUnidades", key + " ")
    assert answer.fault == f"Serviço [{key} ] do sistema [ADAPTER] não encontrado."
    debug_logging(caplog)
    client = servico.client(key + " ")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert caught.value.fault == "Serviço [[secure]] do sistema [ADAPTER] não encontrado."
    assert_secret_nowhere(key, client=client, exc=caught.value, caplog=caplog)


# --- address -------------------------------------------------------------------------------------


def test_a_host_outside_the_servicos_list_is_refused_but_its_key_works(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(HOST)
    answer = servico.raw("listarUnidades", "ADAPTER_HOST")
    assert (answer.fault, answer.kind) == ("Acesso negado.", "INFRA_ERRO")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        servico.client("ADAPTER_HOST").listar_unidades()
    assert caught.value.fault == "Acesso negado."
    assert servico.client(_key(servico)).listar_unidades()  # the key path ignores the address


def test_sei_trusts_x_forwarded_for(auth_sei: AuthSei) -> None:
    answer = auth_sei.servico(HOST).raw(
        "listarUnidades", "ADAPTER_HOST", headers={"X-Forwarded-For": "sei-bridge.invalid"}
    )
    assert (answer.status, answer.fault) == (200, None)


def test_loopback_is_localhost_for_the_allow_list(auth_sei: AuthSei) -> None:
    # SEI compares gethostbyaddr(REMOTE_ADDR), a name: "127.0.0.1" alone refuses loopback
    assert auth_sei.servico(NOKEY).client("ADAPTER_NOKEY").listar_unidades()  # and localhost
    by_address = auth_sei.servico(BY_ADDRESS)
    answer = by_address.raw("listarUnidades", "ADAPTER_LOOPBACK")
    assert (answer.fault, answer.kind) == ("Acesso negado.", "INFRA_ERRO")
    with pytest.raises(errors.SeiAccessDenied):
        by_address.client("ADAPTER_LOOPBACK").listar_unidades()


def test_sistema_and_identificacao_ignore_case_and_trailing_spaces(auth_sei: AuthSei) -> None:
    assert auth_sei.servico(NOKEY).client("adapter_nokey  ", sigla="adapter").listar_unidades()


# --- operations of the serviço -----------------------------------------------------------------


def test_operations_not_configured_answer_with_seis_three_templates(auth_sei: AuthSei) -> None:
    processo = auth_sei.processo()
    servico = auth_sei.servico(NOOPS)

    def nenhuma(op: str, rest: str) -> str:
        return f"Nenhuma operação configurada para [{op}] no serviço [ADAPTER_NOOPS]{rest}."

    cases: list[tuple[str, dict[str, object], str]] = [
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
        answer = servico.raw(operation, "ADAPTER_NOOPS", parts)
        assert (answer.fault, answer.kind) == (text, "INFRA_VALIDACAO"), operation
    client = servico.client("ADAPTER_NOOPS")
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_hipoteses_legais(id_unidade=UNIDADE)
    assert caught.value.fault == (  # the client never shows the serviço's name
        "Nenhuma operação configurada para [listarHipotesesLegais] no serviço [[secure]] na "
        "unidade [TESTE]."
    )
    assert client.listar_series(id_unidade=UNIDADE)  # never checked by SEI


def test_seis_own_lookups_come_before_the_operation_check(auth_sei: AuthSei) -> None:
    answer = auth_sei.servico(NOOPS).raw(
        "gerarProcedimento",
        "ADAPTER_NOOPS",
        {"IdUnidade": UNIDADE, "Procedimento": _procedimento(IdTipoProcedimento="1")},
    )
    assert (answer.fault, answer.kind) == ("Tipo de procedimento [1] não encontrado.", "INFRA_ERRO")


def test_the_documents_of_a_new_processo_need_incluir_documento(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(NODOC)
    procedimento = _procedimento()
    answer = servico.raw(
        "gerarProcedimento",
        "ADAPTER_NODOC",
        {"IdUnidade": UNIDADE, "Procedimento": procedimento, "Documentos": [_documento(None)]},
    )
    assert (answer.fault, answer.kind) == (
        f"Nenhuma operação configurada para [incluirDocumento] no serviço [ADAPTER_NODOC] com "
        f"tipo de processo [{TIPO_NOME}] e tipo de documento [Declaração] na unidade [TESTE].",
        "INFRA_VALIDACAO",
    )
    # no processo without its documents
    assert auth_sei.processos(str(procedimento["Especificacao"])) == 0


# --- sigiloso ------------------------------------------------------------------------------------


def test_sigiloso_processo_is_refused_whatever_the_hipotese(auth_sei: AuthSei) -> None:
    servico = auth_sei.servico(KEY_ONLY)
    key = _key(servico)
    hipoteses = servico.client(key).listar_hipoteses_legais(
        id_unidade=UNIDADE, nivel_acesso=types.NivelAcesso.SIGILOSO
    )
    # the reference database has no hipótese legal for sigiloso; the sandbox's default catalog
    # has HIPOTESE_SEGREDO_JUSTICA, unknown to the reference one
    candidates: list[str | None] = [h.id_hipotese_legal for h in hipoteses]
    candidates += [HIPOTESE_SEGREDO_JUSTICA, HIPOTESE, "999", None]
    for hipotese in candidates:
        procedimento = _procedimento(NivelAcesso="2", IdHipoteseLegal=hipotese)
        answer = servico.raw(
            "gerarProcedimento", key, {"IdUnidade": UNIDADE, "Procedimento": procedimento}
        )
        assert (answer.fault, answer.kind) == (SIGILOSO_PROCESSO, "INFRA_VALIDACAO"), hipotese
        assert auth_sei.processos(str(procedimento["Especificacao"])) == 0


def test_a_sigiloso_documento_needs_a_sigiloso_processo(auth_sei: AuthSei) -> None:
    processo = auth_sei.processo()
    servico = auth_sei.servico(KEY_ONLY)
    answer = servico.raw(
        "incluirDocumento",
        _key(servico),
        {"IdUnidade": UNIDADE, "Documento": _documento(processo, NivelAcesso="2")},
    )
    assert (answer.fault, answer.kind) == (SIGILOSO_DOCUMENTO, "INFRA_VALIDACAO")


def test_sigiloso_processo_is_refused_even_with_a_hipotese_for_sigiloso(tmp_path: Path) -> None:
    # Sandbox only: the reference SEI database has no hipótese legal for sigiloso, so this
    # cannot be seen on the real SEI (SEI's source checks sigiloso before the hipótese legal;
    # docs/sei-authentication.md, section 6). The sandbox's default catalog has one.
    segredo = next(
        h
        for h in DEFAULT_CATALOG.hipoteses_legais
        if h.id_hipotese_legal == HIPOTESE_SEGREDO_JUSTICA
    )
    catalog = dataclasses.replace(
        REFERENCE_CATALOG, hipoteses_legais=(*REFERENCE_CATALOG.hipoteses_legais, segredo)
    )
    sandbox = SandboxSei(tmp_path / "sei.jsonl", catalog=catalog)
    try:
        servico = sandbox.servico(KEY_ONLY)
        key = _key(servico)
        hipoteses = servico.client(key).listar_hipoteses_legais(
            id_unidade=UNIDADE, nivel_acesso=types.NivelAcesso.SIGILOSO
        )
        assert [h.id_hipotese_legal for h in hipoteses] == [HIPOTESE_SEGREDO_JUSTICA]
        procedimento = _procedimento(NivelAcesso="2", IdHipoteseLegal=HIPOTESE_SEGREDO_JUSTICA)
        answer = servico.raw(
            "gerarProcedimento", key, {"IdUnidade": UNIDADE, "Procedimento": procedimento}
        )
        assert (answer.fault, answer.kind) == (SIGILOSO_PROCESSO, "INFRA_VALIDACAO")
        assert sandbox.processos(str(procedimento["Especificacao"])) == 0
    finally:
        sandbox.close()
