"""Values from SEI and SIGRC are checked before they are used or forwarded (issue 9, item 12),
over real HTTP: a hostile SEI (tests/support/hostile_sei) answering with a LinkAcesso that is
not http(s) or a process number SEI could never make, and a SIGRC (tests/support/hostile_http)
redirecting the PUT of the SEI number to another host."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sei_bridge import config, errors, mapping
from sei_bridge.engine import Engine, RetryPolicy, SeiGuard, outcomes
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient
from sei_bridge.sigrc.feed import FeedReader
from sei_bridge.store import ActionKind, ActionState, Store
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.hostile_http import Answer, HostileServer
from tests.support.hostile_sei import HostileSei, fault_envelope

RECORDED = Path(__file__).resolve().parents[1] / "data" / "real-sei-4.1.0"
NUMERO = b"99990.000001/2026-53"
LINK = (
    b"http://127.0.0.1:8080/sei/controlador.php?acao=procedimento_trabalhar&amp;id_procedimento=1"
)
TOKEN = "token-do-sigrc-hostil"


def _recorded(name: str) -> bytes:
    raw = (RECORDED / f"{name}.response.xml").read_bytes().replace(b"\r\n", b"\n")
    return raw.split(b"\n\n", 1)[1]


def _client(sei: HostileSei) -> SeiClient:
    return SeiClient(
        endpoint_url=sei.endpoint_url,
        sigla_sistema="ADAPTER",
        identificacao_servico="ADAPTER_WS",
        read_timeout=5.0,
    )


def _gerar(client: SeiClient) -> types.ProcedimentoGerado:
    return client.gerar_procedimento(
        id_unidade="110000001",
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento="100000345",
            especificacao="Solicitação SP156",
            nivel_acesso=types.NivelAcesso.PUBLICO,
        ),
    )


def test_the_recorded_answer_is_used_as_it_is() -> None:
    with HostileSei([(200, _recorded("gerarProcedimento"))]) as sei:
        gerado = _gerar(_client(sei))
    assert gerado.procedimento_formatado == NUMERO.decode()
    assert gerado.link_acesso.startswith("http://127.0.0.1:8080/sei/controlador.php?")


@pytest.mark.parametrize(
    "link",
    [
        b"javascript:alert(document.cookie)",
        b"file:///etc/passwd",
        b"http://sei.example/p?id=1&#13;&#10;X-Injected: 1",
        b"https:///no-host",
        b"http://sei.example/" + b"a" * 5000,
    ],
    ids=["javascript", "file", "crlf", "no-host", "too-long"],
)
def test_a_link_acesso_that_is_not_http_is_dropped_with_a_warning(
    link: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    body = _recorded("gerarProcedimento").replace(LINK, link)
    assert link in body
    caplog.set_level(logging.WARNING, logger="sei_bridge.sei.decoding")
    with HostileSei([(200, body)]) as sei:
        gerado = _gerar(_client(sei))
    assert gerado.link_acesso == "" and gerado.procedimento_formatado == NUMERO.decode()
    (record,) = caplog.records
    assert "LinkAcesso" in record.getMessage() and "etc/passwd" not in record.getMessage()
    assert "alert" not in record.getMessage()


@pytest.mark.parametrize(
    ("numero", "problem"),
    [
        (b"9" * 41, "is longer than SEI's 40 characters"),
        (b"99990.000001/2026-53&#10;FORGED LINE", "holds the control character U+000A"),
        (b"99990.000001/2026-53&#x2028;X", "holds the control character U+2028"),
        (b"99990.000001/2026-53&#x202e;", "holds the control character U+202E"),
    ],
    ids=["41-characters", "newline", "line-separator", "bidi-override"],
)
def test_a_process_number_sei_could_not_make_is_never_used(numero: bytes, problem: str) -> None:
    created = _recorded("gerarProcedimento").replace(NUMERO, numero)
    read = _recorded("consultarProcedimento").replace(NUMERO, numero)
    assert numero in created and numero in read
    with (
        HostileSei([(200, created)]) as sei,
        pytest.raises(errors.SeiOutcomeUnknownError) as caught,
    ):
        _gerar(_client(sei))
    text = str(caught.value)
    assert f"ProcedimentoFormatado {problem}" in text and "probed" in text
    assert "FORGED" not in text and "\u2028" not in text and "99999999999" not in text
    # the engine probes a creation whose answer it cannot use, never marks it done
    assert isinstance(outcomes.classify(caught.value, ActionKind.OPEN), outcomes.Uncertain)

    with HostileSei([(200, read)]) as sei, pytest.raises(errors.SeiInvalidAnswer) as refused:
        _client(sei).consultar_procedimento(
            id_unidade="110000001", protocolo_procedimento="SP156-1"
        )
    assert refused.value.operation == "consultarProcedimento"
    assert f"ProcedimentoFormatado {problem}" in (refused.value.fault or "")
    # a probe meeting it cannot prove anything: a person decides
    probed = outcomes.classify(refused.value, ActionKind.OPEN, probing=True)
    assert isinstance(probed, outcomes.NeedsPerson)


def test_a_document_number_sei_could_not_make_is_never_used() -> None:
    body = _recorded("incluirDocumento")
    numero = body.split(b'<DocumentoFormatado xsi:type="xsd:string">', 1)[1].split(b"<", 1)[0]
    hostile = body.replace(numero, numero + b"&#13;&#10;x")
    documento = types.NovoDocumento(
        tipo=types.TipoDocumento.GERADO,
        id_serie="12",
        protocolo_procedimento=NUMERO.decode(),
        conteudo=b"<p>x</p>",
        descricao="d",
    )
    with (
        HostileSei([(200, hostile)]) as sei,
        pytest.raises(errors.SeiOutcomeUnknownError, match="DocumentoFormatado holds"),
    ):
        _client(sei).incluir_documento(id_unidade="110000001", documento=documento)


# --- SIGRC ---------------------------------------------------------------------------------

PATH = "/sigrc/v1/solicitacoes/2026-000123/processo-sei"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_put_redirected_to_another_host_is_not_success(status: int) -> None:
    with HostileServer() as sigrc, HostileServer() as elsewhere:
        elsewhere.script(PATH, Answer(204))
        sigrc.script(PATH, Answer(status, headers={"Location": elsewhere.url + PATH}))
        client = SigrcClient(base_url=sigrc.url + "/sigrc", token=TOKEN)
        with pytest.raises(errors.SigrcEndpointError) as caught:
            client.put_processo_sei("2026-000123", NUMERO.decode(), "https://sei.example/p/1")
    text = str(caught.value)
    assert f"a redirect (HTTP {status}) to another host" in text and "nothing was done" in text
    assert elsewhere.hits[PATH] == 0 and sigrc.hits[PATH] == 1
    assert TOKEN not in text and elsewhere.url not in text and "2026-000123" not in text
    # a configuration problem: the dispatcher stops instead of retrying or blaming the item
    classified = outcomes.classify(caught.value, ActionKind.SIGRC_PROCESSO)
    assert isinstance(classified, outcomes.StopDispatching)


def test_a_feed_redirect_is_not_followed_either() -> None:
    with HostileServer() as sigrc, HostileServer() as elsewhere:
        elsewhere.script("/sigrc/v1/eventos", Answer(200, b'{"eventos": []}'))
        sigrc.script("/sigrc/v1/eventos", Answer(302, headers={"Location": "/elsewhere"}))
        client = SigrcClient(base_url=sigrc.url + "/sigrc", token=TOKEN)
        with pytest.raises(errors.SigrcEndpointError, match="another path of the same host"):
            client.fetch_events(apos=0)
    assert elsewhere.hits["/sigrc/v1/eventos"] == 0


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<script>", "http://x/\r\nSet-Cookie: a"]
)
def test_a_link_that_is_not_http_is_not_sent_to_sigrc(
    sigrc_simulator: RunningSimulator, link: str, caplog: pytest.LogCaptureFixture
) -> None:
    protocolo = sigrc_simulator.state.protocolos()[0]
    client = SigrcClient(base_url=sigrc_simulator.base_url, token=sigrc_simulator.token)
    caplog.set_level(logging.WARNING, logger="sei_bridge.sigrc.client")
    client.put_processo_sei(protocolo, NUMERO.decode(), link)
    client.put_processo_sei(protocolo, NUMERO.decode(), "https://sei.example/p/1")
    puts = sigrc_simulator.state.puts(protocolo)
    assert [(p.numero_processo, p.link_acesso) for p in puts] == [
        (NUMERO.decode(), None),
        (NUMERO.decode(), "https://sei.example/p/1"),
    ]
    assert "not sent to SIGRC" in caplog.text and "alert" not in caplog.text
    assert os.linesep not in caplog.records[0].getMessage()


# --- the engine, end to end ----------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


class _ByOperation(HostileSei):
    """A hostile SEI answering by operation (``answers[operation]``), SEI's INFRA_ERRO for an
    operation it was not given."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        super().__init__([(500, fault_envelope("Erro.", "INFRA_ERRO"))])
        self._by_operation = answers

    def _next(self, request: bytes) -> tuple[int, bytes]:
        status, body = super()._next(request)
        with self._lock:
            operation = self.operations[-1]
        answer = self._by_operation.get(operation)
        return (200, answer) if answer is not None else (status, body)


@pytest.fixture
def small_sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(requests=3, seed=7, hard_case_rate=0.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(f"sqlite:///{tmp_path}/ledger.db")
    store.migrate()
    yield store
    store.close()


def _engine(sigrc: RunningSimulator, sei: SeiClient, store: Store, tmp_path: Path) -> Engine:
    settings = config.load_settings(
        environ={}, overrides={"work_dir": str(tmp_path / "work"), "sei_rate_limit": 0}
    )
    return Engine(
        store=store,
        feed=FeedReader(SigrcClient(base_url=sigrc.base_url, token=sigrc.token, orgao="SF")),
        sigrc=SigrcClient(base_url=sigrc.base_url, token=sigrc.token, orgao="SF"),
        sei=sei,
        mappings=mapping.load_mappings(REPO / "mappings"),
        settings=settings,
        policy=RetryPolicy(initial=0.1, maximum=0.3, jitter=0.1, probe_delay=0.1),
        guard=SeiGuard(rate_limit=0, fail_max=1000),
        poll_interval=0.1,
    )


def _opens(sigrc: RunningSimulator, store: Store) -> list[Any]:
    return [
        a
        for protocolo in sigrc.state.protocolos()
        for a in store.actions_of(protocolo)
        if a.kind is ActionKind.OPEN
    ]


def test_the_engine_never_uses_or_forwards_a_process_number_sei_could_not_make(
    small_sigrc: RunningSimulator, store: Store, tmp_path: Path
) -> None:
    bad = b"99990.000001/2026-53&#10;FORGED: " + b"9" * 30
    answers = {
        "gerarProcedimento": _recorded("gerarProcedimento").replace(NUMERO, bad),
        "consultarProcedimento": _recorded("consultarProcedimento").replace(NUMERO, bad),
    }
    with _ByOperation(answers) as sei:
        _engine(small_sigrc, _client(sei), store, tmp_path).sync_until_idle(max_seconds=8)
        assert "consultarProcedimento" in sei.operations  # the creation was probed
    opened = _opens(small_sigrc, store)
    assert opened
    for action in opened:
        # sent, answer unusable, the probe's answer unusable too: a person decides
        assert action.state is ActionState.NEEDS_PERSON, (action.state, action.last_error)
        assert "FORGED" not in str(action.result) and "FORGED" not in (action.last_error or "")
    for protocolo in small_sigrc.state.protocolos():
        assert small_sigrc.state.puts(protocolo) == []  # nothing reached SIGRC


def test_the_engine_sends_sigrc_no_link_that_is_not_http(
    small_sigrc: RunningSimulator,
    sei_sandbox_factory: SandboxFactory,
    store: Store,
    tmp_path: Path,
) -> None:
    sandbox = sei_sandbox_factory(link_base="javascript:alert(document.cookie)//")
    sigla, servico = sandbox.credentials
    client = SeiClient(
        endpoint_url=sandbox.endpoint_url,
        sigla_sistema=sigla,
        identificacao_servico=servico,
        read_timeout=5.0,
    )
    _engine(small_sigrc, client, store, tmp_path).sync_until_idle(max_seconds=20)
    opened = _opens(small_sigrc, store)
    assert opened
    for action in opened:
        assert action.state is ActionState.DONE, (action.state, action.last_error)
        puts = small_sigrc.state.puts(action.protocolo)
        assert puts and all(p.link_acesso is None and p.numero_processo for p in puts)
        for each in store.actions_of(action.protocolo):
            assert "javascript" not in str(each.result)


@pytest.mark.parametrize("id_procedimento", [b"1&#10;2", b"-1", b"1" * 21, b"abc"])
def test_an_id_that_is_not_a_number_is_never_used(id_procedimento: bytes) -> None:
    tag = b'<IdProcedimento xsi:type="xsd:string">'
    created = _recorded("gerarProcedimento").replace(tag + b"1<", tag + id_procedimento + b"<")
    assert id_procedimento in created
    with (
        HostileSei([(200, created)]) as sei,
        pytest.raises(errors.SeiOutcomeUnknownError, match="IdProcedimento is not a number"),
    ):
        _gerar(_client(sei))
