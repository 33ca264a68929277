"""The fault proxy (``sei-bridge sandbox proxy``) over real HTTP, the SEI sandbox behind it.

The project's real SeiClient calls the proxy; every fault is asserted twice: as the client
classifies it, and by what the sandbox behind the proxy saw (did the call reach SEI, did it
commit). Faults are scheduled exactly (``proxy.faults.schedule``) or given probability 1, and
the outage window runs on a settable clock, so nothing here depends on luck or waits on a sleep.
One test runs against a real SEI when SEI_BRIDGE_TEST_REAL_SEI_URL is set.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import http.server
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sei_bridge import errors
from sei_bridge.sandboxes.proxy import Outcome, RunningProxy, start_proxy
from sei_bridge.sandboxes.sei import FaultConfig, OutageMode, RunningSandbox, rules
from sei_bridge.sandboxes.sei import catalog as cat
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient

REPO = Path(__file__).resolve().parents[2]
UNIDADE = cat.UNIDADE_DIVCAD
REAL_SEI_URL = os.environ.get("SEI_BRIDGE_TEST_REAL_SEI_URL", "")

ProxyFactory = Callable[..., RunningProxy]


class Clock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def proxies() -> Iterator[ProxyFactory]:
    """Start proxies (``start_proxy`` arguments); all are stopped at teardown."""
    started: list[RunningProxy] = []

    def start(upstream: str, **options: Any) -> RunningProxy:
        proxy = start_proxy(upstream, **options)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def sandbox(sei_sandbox: RunningSandbox) -> RunningSandbox:
    return sei_sandbox


def _in_front(proxies: ProxyFactory, sandbox: RunningSandbox, **options: Any) -> RunningProxy:
    # The sandbox's base URL is an origin: the proxy forwards SEI's paths to it as they are.
    return proxies(sandbox.base_url, **options)


def client_for(
    proxy: RunningProxy,
    sandbox: RunningSandbox | None = None,
    *,
    read_timeout: float = 5.0,
    wsdl: str | None = "proxy",
) -> SeiClient:
    """A SeiClient calling ``proxy`` (the WSDL loaded through it unless ``wsdl`` is None)."""
    sigla, servico = sandbox.credentials if sandbox else ("SEI_BRIDGE", "sandbox-key")
    return SeiClient(
        endpoint_url=proxy.endpoint_url,
        sigla_sistema=sigla,
        identificacao_servico=servico,
        wsdl=proxy.wsdl_url if wsdl == "proxy" else wsdl,
        connect_timeout=2.0,
        read_timeout=read_timeout,
    )


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _procedimento(**changes: Any) -> types.NovoProcedimento:
    base = types.NovoProcedimento(
        id_tipo_procedimento=cat.TIPO_IPTU,
        especificacao="Solicitação SP156 2026-00123456",
        assuntos=("052.1",),
        interessados=(types.Interessado(sigla=_unique("SP156"), nome=_unique("Munícipe")),),
        nivel_acesso=types.NivelAcesso.RESTRITO,
        id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
        numero_protocolo=_unique("SP156-2026"),
        data_autuacao=dt.date(2026, 11, 22),
    )
    return dataclasses.replace(base, **changes)


def _abrir(client: SeiClient, **changes: Any) -> types.ProcedimentoGerado:
    return client.gerar_procedimento(id_unidade=UNIDADE, procedimento=_procedimento(**changes))


def _calls(sandbox: RunningSandbox, operation: str) -> int:
    return sandbox.state.counters().calls.get(operation, 0)


# --- pass-through ---------------------------------------------------------------------------------


def test_a_clean_pass_through_reaches_sei_and_brings_its_answers_back(
    proxies: ProxyFactory, sandbox: RunningSandbox
) -> None:
    proxy = _in_front(proxies, sandbox)
    client = client_for(proxy, sandbox)
    gerado = _abrir(client)
    incluido = client.incluir_documento(
        id_unidade=UNIDADE,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=cat.SERIE_INTERACAO,
            protocolo_procedimento=gerado.procedimento_formatado,
            descricao="Interação 1",
            conteudo=b"<p>Pedido recebido</p>",
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
        ),
    )
    stored = sandbox.state.process(gerado.procedimento_formatado)
    assert stored is not None
    assert [d.documento_formatado for d in stored.documents] == [incluido.documento_formatado]
    assert stored.documents[0].descricao == "Interação 1"
    assert "Pedido recebido" in stored.documents[0].html
    stats = proxy.stats()
    assert stats.count(Outcome.FORWARDED, "gerarProcedimento") == 1
    assert stats.count(Outcome.FORWARDED, "incluirDocumento") == 1
    assert stats.count(Outcome.FORWARDED, "GET") == 1  # the WSDL
    assert stats.requests == 3


def test_the_wsdl_served_through_the_proxy_points_at_the_proxy(
    proxies: ProxyFactory, sandbox: RunningSandbox
) -> None:
    proxy = _in_front(proxies, sandbox)
    answer = requests.get(proxy.wsdl_url, timeout=5)
    assert answer.status_code == 200
    assert f'location="{proxy.endpoint_url}"' in answer.text
    assert sandbox.base_url not in answer.text
    assert answer.headers["Content-Length"] == str(len(answer.content))
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"


# --- each fault, as the client classifies it and as SEI saw it -----------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "error", "reached_sei"),
    [
        ("http503", FaultConfig(), errors.SeiNotSentError, False),
        # A reset before the request was handled still reads as "outcome unknown" to a client:
        # it cannot tell that nothing ran (the sandbox's own reset is classified the same way).
        ("reset", FaultConfig(), errors.SeiOutcomeUnknownError, False),
        ("infra_erro", FaultConfig(), errors.SeiInfrastructureFault, False),
        ("lost", FaultConfig(), errors.SeiOutcomeUnknownError, True),
        ("hang", FaultConfig(hang_seconds=30), errors.SeiOutcomeUnknownError, False),
        (
            "hang",
            FaultConfig(hang_seconds=30, hang_commits=True),
            errors.SeiOutcomeUnknownError,
            True,
        ),
    ],
    ids=["http503", "reset", "infra_erro", "lost", "hang", "hang_commits"],
)
def test_each_fault_as_the_client_classifies_it_and_whether_sei_saw_it(
    proxies: ProxyFactory,
    sandbox: RunningSandbox,
    kind: str,
    config: FaultConfig,
    error: type[errors.SeiError],
    reached_sei: bool,
) -> None:
    proxy = _in_front(proxies, sandbox, faults=config)
    # 0.5 s read timeout: a hang (held 30 s) outlasts it; the others answer at once.
    client = client_for(proxy, sandbox, read_timeout=0.5)
    client.load()
    proxy.faults.schedule(kind, operation="gerarProcedimento")
    numero = _unique("SP156-2026")
    with pytest.raises(error) as caught:
        _abrir(client, numero_protocolo=numero)
    assert type(caught.value) is error
    assert caught.value.operation == "gerarProcedimento"
    if kind == "infra_erro":
        assert caught.value.fault == rules.INFRA_ERRO_INJECTED
    assert _calls(sandbox, "gerarProcedimento") == (1 if reached_sei else 0)
    # The probe a worker runs: the NumeroProtocolo chosen settles whether it was created.
    found = client.buscar_procedimento(id_unidade=UNIDADE, protocolo_procedimento=numero)
    assert (found is not None) == reached_sei
    assert len(sandbox.state.processes()) == (1 if reached_sei else 0)
    assert proxy.stats().count(kind, "gerarProcedimento") == 1
    # The proxy goes on serving, the next call untouched.
    assert _abrir(client).procedimento_formatado
    assert proxy.stats().count(Outcome.FORWARDED, "gerarProcedimento") == 1


def test_latency_delays_then_forwards(proxies: ProxyFactory, sandbox: RunningSandbox) -> None:
    proxy = _in_front(proxies, sandbox, faults=FaultConfig(latency=0.2))
    client = client_for(proxy, sandbox)
    client.load()
    started = time.monotonic()
    assert client.listar_unidades()
    assert time.monotonic() - started >= 0.2
    stats = proxy.stats()
    assert stats.delayed == {"listarUnidades": 1}
    assert stats.count(Outcome.FORWARDED, "listarUnidades") == 1
    assert _calls(sandbox, "listarUnidades") == 1


@pytest.mark.parametrize("mode", [OutageMode.HTTP503, OutageMode.RESET])
def test_an_outage_window_fails_every_request_the_wsdl_too(
    proxies: ProxyFactory, sandbox: RunningSandbox, mode: OutageMode
) -> None:
    clock = Clock()
    faults = FaultConfig(outage_start=10, outage_duration=5, outage_mode=mode)
    proxy = _in_front(proxies, sandbox, faults=faults, clock=clock)
    client = client_for(proxy, sandbox)
    assert client.listar_unidades()  # before the window (the WSDL loaded too)

    clock.now += 10
    if mode is OutageMode.HTTP503:
        assert requests.get(proxy.wsdl_url, timeout=5).status_code == 503
        with pytest.raises(errors.SeiNotSentError):
            client.listar_unidades()
    else:
        with pytest.raises(requests.ConnectionError):
            requests.get(proxy.wsdl_url, timeout=5)
        with pytest.raises(errors.SeiOutcomeUnknownError):
            client.listar_unidades()
    with pytest.raises(errors.SeiError):
        _abrir(client)
    assert _calls(sandbox, "listarUnidades") == 1  # nothing reached SEI in the window
    assert _calls(sandbox, "gerarProcedimento") == 0
    stats = proxy.stats()
    assert stats.count(Outcome.OUTAGE) == 3
    assert stats.count(Outcome.OUTAGE, "GET") == 1

    clock.now += 5  # the window is over
    assert requests.get(proxy.wsdl_url, timeout=5).status_code == 200
    assert _abrir(client).procedimento_formatado
    assert _calls(sandbox, "gerarProcedimento") == 1


def test_ops_limits_the_per_call_faults_to_those_operations(
    proxies: ProxyFactory, sandbox: RunningSandbox
) -> None:
    faults = FaultConfig.parse("http503=1,ops=gerarProcedimento")
    proxy = _in_front(proxies, sandbox, faults=faults)
    client = client_for(proxy, sandbox)
    assert client.listar_unidades()
    with pytest.raises(errors.SeiNotSentError):
        _abrir(client)
    with pytest.raises(errors.SeiNotSentError):
        _abrir(client)
    assert _calls(sandbox, "listarUnidades") == 1
    assert _calls(sandbox, "gerarProcedimento") == 0
    stats = proxy.stats()
    assert stats.count(Outcome.HTTP503, "gerarProcedimento") == 2
    assert stats.count(Outcome.FORWARDED, "listarUnidades") == 1
    assert stats.count(Outcome.FORWARDED, "GET") == 1  # GETs never get per-call faults


def test_the_same_seed_fails_the_same_calls(proxies: ProxyFactory, sandbox: RunningSandbox) -> None:
    def fates(seed: int) -> list[str]:
        proxy = _in_front(proxies, sandbox, faults=FaultConfig(http503=0.5), seed=seed)
        client = client_for(proxy, sandbox, wsdl=None)
        outcomes = []
        for _ in range(12):
            try:
                client.listar_unidades()
                outcomes.append("ok")
            except errors.SeiNotSentError:
                outcomes.append("503")
        return outcomes

    first = fates(7)
    assert fates(7) == first
    assert {"ok", "503"} == set(first)


# --- the upstream's own failures ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dead_upstream_is_a_quick_502_and_the_proxy_stays_up(proxies: ProxyFactory) -> None:
    proxy = proxies(f"http://127.0.0.1:{_closed_port()}/sei", connect_timeout=5.0)
    client = client_for(proxy, wsdl=None)
    started = time.monotonic()
    with pytest.raises(errors.SeiNotSentError) as caught:
        client.listar_unidades()
    assert time.monotonic() - started < 2.5  # refused at once, not the 5 s connect timeout
    assert "502" in str(caught.value)
    answer = requests.get(proxy.wsdl_url, timeout=5)
    assert answer.status_code == 502
    assert "cannot connect" in answer.text
    stats = requests.get(proxy.stats_url, timeout=5).json()
    assert stats["operations"]["listarUnidades"] == {"unreachable": 1}
    assert stats["totals"] == {"unreachable": 2}


def test_an_upstream_that_never_answers_is_a_504_after_the_timeout(proxies: ProxyFactory) -> None:
    # Listening but never accepting: the connection and the request go through (backlog), no
    # answer ever comes — the request may have reached SEI, so 504, never 502.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        proxy = proxies(f"http://127.0.0.1:{port}", timeout=0.5)
        client = client_for(proxy, wsdl=None, read_timeout=10.0)
        started = time.monotonic()
        with pytest.raises(errors.SeiOutcomeUnknownError) as caught:
            client.listar_unidades()
        assert 0.5 <= time.monotonic() - started < 5.0
    assert "504" in str(caught.value)
    assert proxy.stats().count(Outcome.UPSTREAM_FAILED, "listarUnidades") == 1
    assert requests.get(proxy.stats_url, timeout=5).status_code == 200


class CannedUpstream:
    """An HTTP server answering every POST with ``body`` (chunked, with hop-by-hop headers)
    and keeping what it was sent."""

    def __init__(self, body: bytes) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                owner.received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=ISO-8859-1")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close, X-Upstream-Hop")
                self.send_header("X-Upstream-Hop", "1")
                self.send_header("X-Sei", "kept")
                self.end_headers()
                for start in range(0, len(body), 4096):
                    part = body[start : start + 4096]
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sei"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned() -> Iterator[Callable[[bytes], CannedUpstream]]:
    servers: list[CannedUpstream] = []

    def start(body: bytes) -> CannedUpstream:
        servers.append(CannedUpstream(body))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


ENVELOPE = (
    b'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
    b'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="Sei"><SOAP-ENV:Body>'
    b"<ns1:listarUnidades><SiglaSistema>S</SiglaSistema></ns1:listarUnidades>"
    b"</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)


def test_headers_pass_through_without_hop_by_hop_ones(
    proxies: ProxyFactory, canned: Callable[[bytes], CannedUpstream]
) -> None:
    answer_body = "<r>São Paulo</r>".encode("iso-8859-1") * 3000  # several chunks
    upstream = canned(answer_body)
    proxy = proxies(upstream.url)
    answer = requests.post(
        proxy.endpoint_url,
        data=ENVELOPE,
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"SeiAction"',
            "Connection": "keep-alive, X-Client-Hop",
            "X-Client-Hop": "1",
            "Proxy-Authorization": "Basic c2VjcmV0",
        },
        timeout=5,
    )
    headers, body = upstream.received[0]
    assert body == ENVELOPE
    assert headers["soapaction"] == '"SeiAction"'
    assert headers["content-type"] == "text/xml; charset=utf-8"
    assert headers["content-length"] == str(len(ENVELOPE))
    assert headers["host"] == upstream.url.split("/")[2]
    assert headers["connection"] == "close"  # one connection per call
    assert "via" in headers
    assert "x-client-hop" not in headers and "proxy-authorization" not in headers

    assert answer.status_code == 200
    assert answer.content == answer_body
    assert answer.headers["Content-Type"] == "text/xml; charset=ISO-8859-1"
    assert answer.headers["Content-Length"] == str(len(answer_body))
    assert "Transfer-Encoding" not in answer.headers
    assert "X-Upstream-Hop" not in answer.headers
    assert answer.headers["X-Sei"] == "kept"
    assert proxy.stats().count(Outcome.FORWARDED, "listarUnidades") == 1


def test_bodies_over_the_limit_are_refused_both_ways(
    proxies: ProxyFactory, sandbox: RunningSandbox, canned: Callable[[bytes], CannedUpstream]
) -> None:
    proxy = _in_front(proxies, sandbox, max_body_bytes=64 * 1024)
    client = client_for(proxy, sandbox)
    gerado = _abrir(client)
    with pytest.raises(errors.SeiOutcomeUnknownError):  # 413 (or a reset: the body is unread)
        client.incluir_documento(
            id_unidade=UNIDADE,
            documento=types.NovoDocumento(
                tipo=types.TipoDocumento.RECEBIDO,
                id_serie=cat.SERIE_ANEXO,
                protocolo_procedimento=gerado.procedimento_formatado,
                descricao="Anexo grande",
                data=dt.date(2026, 11, 22),
                nome_arquivo="anexo.pdf",
                conteudo=b"%PDF" + b"x" * 100_000,
                nivel_acesso=types.NivelAcesso.RESTRITO,
                id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
            ),
        )
    assert _calls(sandbox, "incluirDocumento") == 0
    # Refused unread, so its operation is unknown: counted under the method.
    assert proxy.stats().count(Outcome.TOO_LARGE, "POST") == 1

    big = proxies(canned(b"x" * 100_000).url, max_body_bytes=64 * 1024)
    answer = requests.post(big.endpoint_url, data=ENVELOPE, timeout=5)
    assert answer.status_code == 504  # SEI did answer: what it did is unknown to the client
    assert big.stats().count(Outcome.UPSTREAM_FAILED, "listarUnidades") == 1


# --- observability and load -----------------------------------------------------------------------


def test_the_stats_endpoint_counts_per_operation_and_outcome(
    proxies: ProxyFactory, sandbox: RunningSandbox
) -> None:
    proxy = _in_front(proxies, sandbox)
    client = client_for(proxy, sandbox)
    assert client.listar_unidades()
    for kind in ("http503", "infra_erro", "lost", "reset"):
        proxy.faults.schedule(kind, operation="gerarProcedimento")
        with pytest.raises(errors.SeiError):
            _abrir(client)
    _abrir(client)
    stats = requests.get(proxy.stats_url, timeout=5).json()
    assert stats["operations"] == {
        "GET": {"forwarded": 1},
        "listarUnidades": {"forwarded": 1},
        "gerarProcedimento": {
            "http503": 1,
            "infra_erro": 1,
            "lost": 1,
            "reset": 1,
            "forwarded": 1,
        },
    }
    assert stats["requests"] == 7
    assert stats["in_flight"] == 0
    assert proxy.stats().summary() == (
        "7 requests: forwarded 3, http503 1, reset 1, lost 1, infra_erro 1"
    )
    assert _calls(sandbox, "gerarProcedimento") == 2  # the lost one and the last one


def test_concurrent_calls_are_in_flight_together(
    proxies: ProxyFactory, sandbox: RunningSandbox
) -> None:
    calls = 8
    # Every call is held 1 s in the proxy, so calls started together overlap there.
    proxy = _in_front(proxies, sandbox, faults=FaultConfig(latency=1.0))
    clients = [client_for(proxy, sandbox) for _ in range(calls)]
    for client in clients:
        client.load()
    barrier = threading.Barrier(calls)

    def call(client: SeiClient) -> str:
        barrier.wait(timeout=10)
        return _abrir(client).procedimento_formatado

    with concurrent.futures.ThreadPoolExecutor(calls) as pool:
        numbers = list(pool.map(call, clients))
    assert len(set(numbers)) == calls
    assert len(sandbox.state.processes()) == calls
    stats = proxy.stats()
    assert stats.count(Outcome.FORWARDED, "gerarProcedimento") == calls
    assert stats.peak_in_flight >= 4  # the engine sends 4-8 at once
    assert stats.in_flight == 0


# --- the command ----------------------------------------------------------------------------------


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sei_bridge.sandboxes.proxy_cli", *args]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--upstream URL is required"),
        (("--upstream", "ftp://127.0.0.1/sei"), "is not an http(s) URL"),
        (("--upstream", "http://127.0.0.1:1/sei", "--faults", "lost=2"), "not a probability"),
        (("--upstream", "http://127.0.0.1:1/sei", "--timeout", "soon"), "--timeout 'soon'"),
    ],
    ids=["no-upstream", "bad-upstream", "bad-faults", "bad-timeout"],
)
def test_a_bad_flag_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEI_BRIDGE_SANDBOX_PROXY_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        _command(*args), capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sei-bridge: error: ")
    assert message in lines[0]


def test_the_command_prints_its_urls_proxies_and_sums_up_on_sigterm(
    sandbox: RunningSandbox,
) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "sei_bridge.cli", "sandbox", "proxy", "--port", "0",
         "--upstream", f"{sandbox.base_url}/sei/ws/SeiWS.php", "--faults", "ops=listarUnidades"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the command printed nothing"
        first = process.stdout.readline()
        assert first.startswith("SEI fault proxy endpoint: http://127.0.0.1:")
        endpoint = first.split(": ", 1)[1].strip()
        sigla, servico = sandbox.credentials
        client = SeiClient(
            endpoint_url=endpoint,
            sigla_sistema=sigla,
            identificacao_servico=servico,
            read_timeout=5.0,
        )
        assert client.listar_unidades()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped: 1 requests: forwarded 1" in out
    assert servico not in out + err  # bodies (and the credential in them) are never printed
    assert _calls(sandbox, "listarUnidades") == 1


# --- a real SEI -----------------------------------------------------------------------------------


@pytest.mark.skipif(
    not REAL_SEI_URL, reason="set SEI_BRIDGE_TEST_REAL_SEI_URL (http://127.0.0.1:8080/sei)"
)
def test_in_front_of_a_real_sei(proxies: ProxyFactory) -> None:
    # The real SEI 4.1.0 of ../shared/realsei: its web-service client and reference catalog.
    proxy = proxies(REAL_SEI_URL, timeout=60.0)
    client = SeiClient(
        endpoint_url=proxy.endpoint_url,
        sigla_sistema="ADAPTER",
        identificacao_servico="ADAPTER_WS",
        wsdl=proxy.wsdl_url,
        read_timeout=30.0,
    )
    assert "110000001" in {u.id_unidade for u in client.listar_unidades()}

    numero = _unique("SP156-PROXY")
    proxy.faults.schedule("lost", operation="gerarProcedimento")
    with pytest.raises(errors.SeiOutcomeUnknownError):
        client.gerar_procedimento(
            id_unidade="110000001",
            procedimento=types.NovoProcedimento(
                id_tipo_procedimento="100000341",
                especificacao="Ensaio do proxy de falhas",
                assuntos=("019.113",),
                interessados=(types.Interessado(sigla=_unique("SP156"), nome=_unique("Teste")),),
                nivel_acesso=types.NivelAcesso.RESTRITO,
                id_hipotese_legal="4",
                numero_protocolo=numero,
                data_autuacao=types.sei_day(dt.datetime.now(dt.UTC)),  # SEI's own today
            ),
        )
    # The answer was lost, the processo committed: the probe finds it by its number.
    found = client.buscar_procedimento(id_unidade="110000001", protocolo_procedimento=numero)
    assert found is not None and found.procedimento_formatado
    stats = proxy.stats()
    assert stats.count(Outcome.LOST, "gerarProcedimento") == 1
    assert stats.count(Outcome.FORWARDED, "listarUnidades") == 1
    assert stats.count(Outcome.FORWARDED, "consultarProcedimento") == 1
